/**
 * The readable form of a log line (LOG_FORMAT=pretty, and what `npm start` / `npm run cluster`
 * print in a terminal): the message first, then the fields that tell lines apart as `key=value`
 * on the same line — without what only a machine needs (task tokens, the SDK's component, the
 * namespace and task queue, run ids, empty job fields) — and an error's stack on the lines below.
 * The JSON form keeps every field.
 */

/** Fields left out of the readable line (they stay in JSON lines). */
const HIDDEN = new Set([
  'time',
  'level',
  'component',
  'pid',
  'hostname',
  'taskToken',
  'sdkComponent',
  'namespace',
  'taskQueue',
  'runId',
  'context',
  'isLocal',
  // pino-pretty shows it as <caller> after the level
  'caller',
]);

/** Longest value shown; the rest is cut with "…". */
const MAX_VALUE = 200;

function value(v: unknown): string {
  let text: string;
  if (typeof v === 'string') text = /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  else text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

interface ErrorFields {
  type?: unknown;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
}

function isErrorFields(v: unknown): v is ErrorFields {
  return typeof v === 'object' && v !== null && ('stack' in v || 'message' in v);
}

/**
 * A pino record as `message key=value …`, plus the stack of its `error` on indented lines below.
 * Used as pino-pretty's `messageFormat` (which prints the time and level before it).
 */
export function prettyMessage(record: Record<string, unknown>, messageKey = 'message'): string {
  const message = String(record[messageKey] ?? '');
  const [first, ...more] = message.split('\n');
  // A value the message already says (the request log's "GET /api/jobs 200") is not repeated.
  const said = new Set(first.split(' '));
  const fields: string[] = [];
  let stack: string | null = null;
  for (const [k, v] of Object.entries(record)) {
    if (k === messageKey || HIDDEN.has(k) || v === null || v === undefined) continue;
    // Equal to the job fields beside them.
    if (k === 'workflowId' && v === record.jobId) continue;
    if (k === 'workflowType' && v === record.jobType) continue;
    if ((typeof v === 'string' || typeof v === 'number') && String(v).length > 1 && said.has(String(v)))
      continue;
    if ((k === 'error' || k === 'err') && isErrorFields(v)) {
      let text = `${String(v.type ?? 'Error')}: ${String(v.message ?? '')}`;
      // The cause chain, on the same line (serializeError bounds its depth).
      for (let c: unknown = v.cause; isErrorFields(c); c = c.cause) {
        text += ` ← ${String(c.type ?? 'Error')}: ${String(c.message ?? '')}`;
      }
      fields.push(`${k}=${value(text)}`);
      if (typeof v.stack === 'string') stack = v.stack.split('\n').slice(1).join('\n');
      continue;
    }
    fields.push(`${k}=${value(v)}`);
  }
  const lines = [fields.length > 0 ? `${first}  ${fields.join(' ')}` : first];
  for (const l of more) lines.push(`    ${l}`);
  if (stack) lines.push(stack);
  return lines.join('\n');
}
