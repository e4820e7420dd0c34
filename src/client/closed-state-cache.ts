/**
 * The states of closed runs, kept so that reading a closed job again does not replay its whole
 * history on a worker: a closed run's state never changes. Keyed by run (workflow id and run id),
 * so a retry — a new run under the same job id — is never answered from its predecessor's entry.
 * Bounded in bytes (STEPWISE_CLOSED_STATE_CACHE_BYTES), least recently read out first; entries are
 * kept as JSON, so no caller can change what the next one reads.
 */
import type { JobState } from '../../workflows/contracts';

export class ClosedStateCache {
  private readonly entries = new Map<string, string>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  private static key(run: { workflowId: string; runId: string }): string {
    return JSON.stringify([run.workflowId, run.runId]);
  }

  get(run: { workflowId: string; runId: string }): JobState | undefined {
    const key = ClosedStateCache.key(run);
    const json = this.entries.get(key);
    if (json === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, json);
    return JSON.parse(json) as JobState;
  }

  /** Keeps the final state of a closed run (one larger than a quarter of the budget is not kept). */
  set(run: { workflowId: string; runId: string }, state: JobState): void {
    const json = JSON.stringify(state);
    if (json.length > this.maxBytes / 4) return;
    const key = ClosedStateCache.key(run);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    this.entries.set(key, json);
    this.bytes += json.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
