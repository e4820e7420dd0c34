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
}

export const DEFAULT_LIMITS: JobLimits = { maxInputBytes: 256 * 1024, maxControlActions: 50 };

/** Bytes of `value` as UTF-8 JSON (0 for `undefined`), counted without encoders the sandbox may lack. */
export function jsonBytes(value: unknown): number {
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
