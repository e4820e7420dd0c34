/**
 * Budgets shared by the API (checked at the edge) and the workflows (checked again at entry:
 * histories outlive API versions, and a job can be started without the API). The API passes its
 * configured values in `JobParams.limits`; a workflow started without them uses the defaults.
 */

export interface JobLimits {
  /**
   * Largest job input, as UTF-8 JSON bytes. The input is stored in the start event, in the state
   * every query returns and in every recovery run, so it is kept far below Temporal's 2 MB payload limit.
   * @default 262144 (256 KiB)
   */
  maxInputBytes: number;
  /**
   * Operator actions kept in `control.actions` (older ones are dropped and counted).
   * @default 50
   */
  maxControlActions: number;
  /**
   * Pause and resume updates a run accepts (signals and the parent's forwarding are counted, but
   * not refused). Each accepted one adds about six events to a history that never continues as new,
   * so this keeps any API caller far from Temporal's history limit (51,200 events); past it the
   * update is refused, and the job can still be cancelled.
   * @default 1000
   */
  maxRunControlActions: number;
}

export const DEFAULT_LIMITS: JobLimits = {
  maxInputBytes: 256 * 1024,
  maxControlActions: 50,
  maxRunControlActions: 1000,
};

/**
 * The range of each budget. The configuration refuses a setting outside it, and a run clamps
 * whatever its `JobParams.limits` say into it: anyone who can start a workflow can put anything
 * there, and workflow code cannot read the worker's configuration, so these bounds (compiled into
 * the workflow bundle) are the most a forged start can raise a budget to.
 */
export const LIMIT_BOUNDS: {
  readonly [K in keyof JobLimits]: { readonly min: number; readonly max: number };
} = {
  maxInputBytes: { min: 1024, max: 512 * 1024 },
  maxControlActions: { min: 1, max: 10_000 },
  maxRunControlActions: { min: 1, max: 5_000 },
};

/** `given` (a run's `JobParams.limits`, trusted for nothing) as budgets within {@link LIMIT_BOUNDS}. */
export function clampLimits(given: unknown): JobLimits {
  const src = given !== null && typeof given === 'object' ? (given as Record<string, unknown>) : {};
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_BOUNDS) as (keyof JobLimits)[]) {
    const v = src[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const { min, max } = LIMIT_BOUNDS[key];
    out[key] = Math.min(max, Math.max(min, Math.floor(v)));
  }
  return out;
}

/** Deepest nesting of arrays and objects a job input may have (serialising deeper JSON could overflow the stack). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests arrays and objects deeper than `max` levels (a scalar is depth 0, `[]` is
 * 1). Walks with its own stack, so it cannot overflow the call stack on the values it is there to
 * catch, and stops at the first path that goes too deep.
 */
export function jsonDepthExceeds(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}

/** Thrown by {@link jsonBytes} for a value nested deeper than {@link MAX_JSON_DEPTH}. */
export class JsonTooDeepError extends Error {
  override name = 'JsonTooDeepError';
  constructor() {
    super(`JSON nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`);
  }
}

/**
 * Bytes of `value` as UTF-8 JSON (0 for `undefined`), counted without encoders the sandbox may lack.
 * Throws {@link JsonTooDeepError} past {@link MAX_JSON_DEPTH} instead of overflowing the stack.
 */
export function jsonBytes(value: unknown): number {
  if (jsonDepthExceeds(value)) throw new JsonTooDeepError();
  const text = JSON.stringify(value);
  if (text === undefined) return 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}
