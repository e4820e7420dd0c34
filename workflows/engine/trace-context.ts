/**
 * The job's trace, as its start carried it: the W3C `traceparent` that the Temporal OpenTelemetry
 * interceptors put in the workflow's start headers (a traced API request, a traced parent job).
 * Read from the headers, which are in the history, so it costs no command and replays the same.
 * Module state is per workflow execution (the sandbox gives each execution its own modules).
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';

/**
 * The header the trace context travels in: `TRACE_HEADER` of `@temporalio/interceptors-opentelemetry`
 * (a JSON payload `{ traceparent, tracestate?, baggage? }`, always by the default payload converter).
 */
export const TRACE_HEADER = '_tracer-data';

/** Attribute names Stepwise adds to spans, besides the Temporal interceptors' own. */
export const SPAN_ATTRIBUTES = {
  jobId: 'stepwise.job.id',
  jobType: 'stepwise.job.type',
  parentJobId: 'stepwise.parent_job.id',
  step: 'stepwise.step',
  stepIndex: 'stepwise.step.index',
  attempt: 'stepwise.attempt',
} as const;

/** A span attribute value Stepwise sets. */
export type SpanAttributeValues = Record<string, string | number>;

/** The parent span a `traceparent` names. */
export interface TraceParent {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  /** Whether the trace is recorded (the flags' sampled bit). */
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace context in `headers`, or null when there is none or it is not a valid `traceparent`. */
export function traceParentOf(headers: Headers | undefined): TraceParent | null {
  const payload = headers?.[TRACE_HEADER];
  if (!payload) return null;
  let carrier: unknown;
  try {
    carrier = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return null;
  }
  if (carrier === null || typeof carrier !== 'object') return null;
  const value = (carrier as Record<string, unknown>).traceparent;
  const m = typeof value === 'string' ? TRACEPARENT.exec(value.trim()) : null;
  // Version ff is invalid; all-zero ids are invalid (W3C Trace Context, "traceparent").
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return null;
  return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

let traceId: string | null = null;

/** Records the trace this execution belongs to (the tracing interceptor, before the workflow runs). */
export function setJobTraceId(id: string | null): void {
  traceId = id;
}

/** The trace this execution belongs to, or null when its start carried no recorded trace. */
export function jobTraceId(): string | null {
  return traceId;
}

const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * The job attributes of a span about an activity, from its first argument (the engine's
 * `ActivityJobRef`: job, parent, step and the step's attempt); empty for other arguments.
 */
export function activitySpanAttributes(arg: unknown): SpanAttributeValues {
  if (arg === null || typeof arg !== 'object') return {};
  const r = arg as Record<string, unknown>;
  if (!str(r.jobId) || !str(r.jobType) || !str(r.stepKey)) return {};
  return {
    [SPAN_ATTRIBUTES.jobId]: r.jobId,
    [SPAN_ATTRIBUTES.jobType]: r.jobType,
    [SPAN_ATTRIBUTES.step]: r.stepKey,
    ...(int(r.stepIndex) ? { [SPAN_ATTRIBUTES.stepIndex]: r.stepIndex } : {}),
    ...(int(r.attempt) ? { [SPAN_ATTRIBUTES.attempt]: r.attempt } : {}),
    ...(str(r.parentJobId) ? { [SPAN_ATTRIBUTES.parentJobId]: r.parentJobId } : {}),
  };
}

/**
 * The attributes of a job's workflow span (or of the span that starts it), from its id, type and
 * argument: a sub-job's `JobParams.parent` names its parent job, step and attempt; a batch
 * coordinator's params name the job and step whose batch it runs.
 */
export function jobSpanAttributes(
  workflowId: string,
  workflowType: string,
  arg: unknown,
): SpanAttributeValues {
  const out: SpanAttributeValues = {
    [SPAN_ATTRIBUTES.jobId]: workflowId,
    [SPAN_ATTRIBUTES.jobType]: workflowType,
  };
  if (arg === null || typeof arg !== 'object') return out;
  const a = arg as Record<string, unknown>;
  const parent = a.parent;
  if (parent !== null && typeof parent === 'object') {
    const p = parent as Record<string, unknown>;
    if (str(p.jobId)) out[SPAN_ATTRIBUTES.parentJobId] = p.jobId;
    if (str(p.stepKey)) out[SPAN_ATTRIBUTES.step] = p.stepKey;
    if (int(p.attempt)) out[SPAN_ATTRIBUTES.attempt] = p.attempt;
  } else if (str(a.parentJobId) && str(a.stepKey)) {
    // A batch coordinator: it runs one step of its job.
    out[SPAN_ATTRIBUTES.parentJobId] = a.parentJobId;
    out[SPAN_ATTRIBUTES.step] = a.stepKey;
    if (int(a.attempt)) out[SPAN_ATTRIBUTES.attempt] = a.attempt;
  }
  return out;
}
