/**
 * A running job's ETA, learned from its type's completed runs: per step, the median of that step's
 * duration in the latest completed runs; for the job, the longest path through the steps still to
 * run, each counted by what is left of it. Completed runs cost one history read each (their close
 * event holds the workflow's result, which is the job's final state: no worker replays anything),
 * kept per run, so a type's model costs one visibility list per {@link MODEL_TTL_MS}.
 */
import type { Client } from '@temporalio/client';
import type { JobEta, JobState } from '../../workflows/contracts';
import { JobStatusKey, JobTypeKey } from '../../workflows/search-attributes';
import { temporalCall } from './deadlines';
import { runResult } from './job-runs';
import type { JobDefinition } from '../../workflows/engine/definition';
import { initialJobState } from '../../workflows/engine/state';

/** Completed runs of a type a model learns from (the latest ones). */
export const ETA_RUNS = 20;
/** How long a type's model is used before the list of its completed runs is read again. */
export const MODEL_TTL_MS = 30_000;
/** The same, for a type with no completed run yet: its first one counts soon. */
export const EMPTY_MODEL_TTL_MS = 5_000;
/** A step with at least this much progress is also judged by its own pace. */
const PACE_MIN_PERCENT = 10;

/** What a type's completed runs say: per step key, the median duration, and how many runs there were. */
export interface DurationModel {
  runs: number;
  medianMs: Record<string, number>;
}

type StepDurations = Record<string, number>;

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Per step, the median duration over the runs given (a run's step that did not run in it — skipped,
 * carried from an earlier run — counts as 0 there only when it was skipped; carried ones are left out).
 */
export function learnDurations(runs: readonly StepDurations[]): DurationModel {
  const byStep = new Map<string, number[]>();
  for (const run of runs) {
    for (const [key, ms] of Object.entries(run)) byStep.set(key, [...(byStep.get(key) ?? []), ms]);
  }
  return {
    runs: runs.length,
    medianMs: Object.fromEntries([...byStep].map(([key, v]) => [key, Math.round(median(v))])),
  };
}

/** The step durations of a completed run's final state (what {@link learnDurations} takes). */
export function stepDurations(state: Pick<JobState, 'steps'>): StepDurations {
  const out: StepDurations = {};
  for (const s of state.steps ?? []) {
    if (s.status === 'completed' && !s.carriedFrom && typeof s.durationMs === 'number')
      out[s.key] = s.durationMs;
    else if (s.status === 'skipped') out[s.key] = 0;
  }
  return out;
}

/**
 * The job's ETA at `nowMs` from `model`: for each step not done, its median less its elapsed time
 * (once it has {@link PACE_MIN_PERCENT} of progress, the mean of that and what its own pace says),
 * summed along the longest chain of dependencies. Null for a closed job.
 */
export function estimateEnd(state: JobState, model: DurationModel, nowMs: number): JobEta | null {
  if (state.closedAt !== null) return null;
  const computedAt = new Date(nowMs).toISOString();
  const none = (note: string): JobEta => ({
    at: null,
    remainingMs: null,
    computedAt,
    basedOnRuns: model.runs,
    note,
  });
  if (model.runs === 0) return none(`no estimate yet: no completed run of type "${state.type}"`);
  if (state.control.paused) return none('no estimate while the job is paused');
  if (state.cancellation) return none('no estimate while the job is cancelling');
  const left = new Map<string, number>();
  const unknown: string[] = [];
  for (const s of state.steps) {
    if (s.status !== 'pending' && s.status !== 'running' && s.status !== 'retrying') {
      left.set(s.key, 0);
      continue;
    }
    const m = model.medianMs[s.key];
    if (m === undefined) {
      unknown.push(s.name);
      left.set(s.key, 0);
      continue;
    }
    if (s.status === 'pending' || !s.startedAt) {
      left.set(s.key, m);
      continue;
    }
    const elapsed = Math.max(0, nowMs - Date.parse(s.startedAt));
    const byMedian = Math.max(0, m - elapsed);
    const pace = s.progress >= PACE_MIN_PERCENT ? (elapsed * (100 - s.progress)) / s.progress : null;
    left.set(s.key, pace === null ? byMedian : (byMedian + pace) / 2);
  }
  // The longest path: a step ends when the last step it depends on ends, plus what it has left.
  const ends = new Map<string, number>();
  const endOf = (key: string): number => {
    const known = ends.get(key);
    if (known !== undefined) return known;
    const s = state.steps.find((x) => x.key === key);
    const start = Math.max(0, ...(s?.dependsOn ?? []).map(endOf));
    const end = start + (left.get(key) ?? 0);
    ends.set(key, end);
    return end;
  };
  const remainingMs = Math.round(Math.max(0, ...state.steps.map((s) => endOf(s.key))));
  const runs = `${model.runs} completed run${model.runs === 1 ? '' : 's'}`;
  return {
    at: new Date(nowMs + remainingMs).toISOString(),
    remainingMs,
    computedAt,
    basedOnRuns: model.runs,
    note: unknown.length
      ? `from ${runs} of "${state.type}"; no history for ${unknown.map((n) => `"${n}"`).join(', ')}`
      : `from ${runs} of "${state.type}"`,
  };
}

/** A step is stalled after this many times its median duration without progress… */
export const STALL_FACTOR = 3;
/** …and never sooner than this. */
export const STALL_MIN_MS = 10_000;
/**
 * Steps whose median is shorter are not watched by default: a watch costs each attempt a timer (two
 * history events), which only a step that runs for a while is worth (a short one that hangs still
 * meets its attempt's timeout).
 */
export const STALL_WATCH_MIN_MEDIAN_MS = 5_000;

/**
 * Per step whose median is at least {@link STALL_WATCH_MIN_MEDIAN_MS}, the learned stall threshold:
 * {@link STALL_FACTOR} × its median, at least {@link STALL_MIN_MS}.
 */
export function stallThresholds(model: DurationModel): Record<string, number> {
  return Object.fromEntries(
    Object.entries(model.medianMs)
      .filter(([, m]) => m >= STALL_WATCH_MIN_MEDIAN_MS)
      .map(([key, m]) => [key, Math.max(STALL_MIN_MS, Math.round(STALL_FACTOR * m))]),
  );
}

/** Learns and keeps each job type's {@link DurationModel} from its latest completed runs. */
export class EtaLearner {
  private readonly models = new Map<
    string,
    { model: DurationModel; durations: StepDurations[]; at: number; pending?: Promise<StepDurations[]> }
  >();
  /** Step durations of completed runs already read, by run id (a closed run never changes). */
  private readonly runs = new Map<string, StepDurations>();

  /** Reads started in the background (by {@link stallThresholds}), awaited by {@link close}. */
  private readonly background = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly client: Client) {}

  /** Starts no more background reads and waits for those in flight (each under its own deadline). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.background]);
  }

  /** Completed runs this client has read, per type, newest last: visibility lists a close a moment later. */
  private readonly seen = new Map<string, Map<string, StepDurations>>();

  /** `state` with its ETA, when it is open; the same object otherwise (a completed one is learned from). */
  async withEta(state: JobState): Promise<JobState> {
    if (state.closedAt !== null) {
      this.observe(state);
      return state;
    }
    const model = await this.model(state.type);
    return { ...state, eta: estimateEnd(state, model, Date.now()) };
  }

  /**
   * Stall thresholds for a new job of `type`, by step key: {@link STALL_FACTOR} × the step's median
   * duration in its completed runs, at least {@link STALL_MIN_MS}; undefined without history. A
   * start never waits for the history: it uses the model this client holds (and has it read in the
   * background when it holds none, or an old one).
   */
  stallThresholds(type: string): Record<string, number> | undefined {
    const kept = this.models.get(type);
    const ttl = kept?.model.runs ? MODEL_TTL_MS : EMPTY_MODEL_TTL_MS;
    if (!this.closed && (!kept || (Date.now() - kept.at >= ttl && !kept.pending))) {
      const read = this.model(type)
        .then(() => undefined)
        .catch(() => undefined)
        .finally(() => this.background.delete(read));
      this.background.add(read);
    }
    if (!kept || kept.model.runs === 0) return undefined;
    const thresholds = stallThresholds(kept.model);
    return Object.keys(thresholds).length > 0 ? thresholds : undefined;
  }

  /**
   * For a new job of `def`'s type: the running time after which it overran its learned ETA by
   * `margin` — the ETA of a job that has not started (the longest path of the steps' medians) ×
   * (1 + margin) — when the model this client holds expects at least
   * {@link STALL_WATCH_MIN_MEDIAN_MS}; undefined otherwise (see {@link stallThresholds}).
   */
  overrunAfterMs(def: JobDefinition, margin: number): number | undefined {
    const kept = this.models.get(def.name);
    if (!kept || kept.model.runs === 0) return undefined;
    const fresh = initialJobState(def, { input: null }, { workflowId: '', runId: '' });
    const expected = estimateEnd(fresh, kept.model, 0)?.remainingMs ?? 0;
    return expected >= STALL_WATCH_MIN_MEDIAN_MS ? Math.round(expected * (1 + margin)) : undefined;
  }

  /** A completed run read through this client counts at once, before visibility lists it. */
  private observe(state: JobState): void {
    if (state.status !== 'completed' || this.runs.has(state.runId)) return;
    const d = stepDurations(state);
    this.runs.set(state.runId, d);
    const seen = this.seen.get(state.type) ?? new Map<string, StepDurations>();
    seen.set(state.runId, d);
    if (seen.size > ETA_RUNS) seen.delete(seen.keys().next().value!);
    this.seen.set(state.type, seen);
    // The model counts it now (and is listed again at the next read).
    const kept = this.models.get(state.type);
    const durations = [d, ...(kept?.durations ?? [])].slice(0, ETA_RUNS);
    this.models.set(state.type, { ...kept, durations, model: learnDurations(durations), at: 0 });
  }

  /** The type's model, read again once it is {@link MODEL_TTL_MS} old; one read at a time per type. */
  async model(type: string): Promise<DurationModel> {
    const kept = this.models.get(type);
    const ttl = kept?.model.runs ? MODEL_TTL_MS : EMPTY_MODEL_TTL_MS;
    if (kept && (Date.now() - kept.at < ttl || kept.pending)) {
      return kept.pending ? learnDurations(await kept.pending) : kept.model;
    }
    const pending = this.learn(type).finally(() => {
      const now = this.models.get(type);
      if (now?.pending === pending) delete now.pending;
    });
    this.models.set(type, {
      model: kept?.model ?? { runs: 0, medianMs: {} },
      durations: kept?.durations ?? [],
      at: kept?.at ?? 0,
      pending,
    });
    const durations = await pending;
    const model = learnDurations(durations);
    this.models.set(type, { model, durations, at: Date.now() });
    return model;
  }

  private async learn(type: string): Promise<StepDurations[]> {
    const namespace = this.client.options.namespace;
    const res = await temporalCall(this.client, 'rpc', () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace,
        query: `${JobTypeKey.name} = '${type.replace(/'/g, "\\'")}' AND ${JobStatusKey.name} = 'completed' AND ExecutionStatus = 'Completed'`,
        pageSize: ETA_RUNS,
      }),
    );
    const durations: StepDurations[] = [];
    const listed = (res.executions ?? []).slice(0, ETA_RUNS);
    const listedIds = new Set(listed.map((e) => e.execution?.runId));
    for (const [runId, d] of this.seen.get(type) ?? []) {
      if (!listedIds.has(runId)) durations.push(d);
    }
    for (const e of listed.slice(0, ETA_RUNS - durations.length)) {
      const run = { workflowId: e.execution?.workflowId ?? '', runId: e.execution?.runId ?? '' };
      let d = this.runs.get(run.runId);
      if (!d) {
        const state = await temporalCall(this.client, 'rpc', () =>
          runResult<Pick<JobState, 'steps'>>(this.client, namespace, run),
        ).catch(() => null);
        if (!state) continue;
        d = stepDurations(state);
        this.runs.set(run.runId, d);
        // Bounded: the oldest runs read go first.
        if (this.runs.size > 50 * ETA_RUNS) this.runs.delete(this.runs.keys().next().value!);
      }
      durations.push(d);
    }
    return durations;
  }
}
