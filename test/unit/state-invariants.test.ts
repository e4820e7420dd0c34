/**
 * The `JobState` invariants (`workflows/engine/invariants.ts`) hold after every transition of the
 * engine's state, over random job types and random runs: progress reports (stale ones too),
 * completions with and without messages, retryable and final failures, pause and resume,
 * cancellation (with work that stops, and with a wait that runs out), early ends, `when` and
 * `endJob` functions that throw, and recoveries of the closed run.
 *
 * `EngineModel` plays the engine's asynchronous side — what the scheduler, the executors and the
 * handlers do between two state changes, and which of them can happen next — and changes the
 * state only through the engine's own pure functions (`transitions.ts`, `state.ts`,
 * `recovery.ts`), in the order the engine calls them. Each symptom of issue 19 also has a named
 * example below.
 */
import fc from 'fast-check';
import { z } from 'zod';
import type { JobState, JobStatus, Json, StepError, StepProgressReport } from '../../workflows/contracts';
import { BATCH_COORDINATOR_TYPE } from '../../workflows/engine/batch-contracts';
import { defineJob, type JobDefinition, type StepDef } from '../../workflows/engine/definition';
import { jobStateViolations, transitionViolations } from '../../workflows/engine/invariants';
import { planRecovery } from '../../workflows/engine/recovery';
import {
  applyCarried,
  closeState,
  completion,
  initialJobState,
  pushLog,
  recordAction,
  refreshDerived,
} from '../../workflows/engine/state';
import {
  attemptFailed,
  attemptStarted,
  holdRetried,
  cancelRequested,
  decideStep,
  progressReported,
  splitResult,
  stepCancelled,
  stepCompleted,
  stepFailed,
  stepNotRun,
  stepSkipped,
  subJobClosed,
  subJobStarted,
  type JobCourse,
  type StepOutcome,
} from '../../workflows/engine/transitions';

// ---------------------------------------------------------------------------------------------
// Random job types

interface StepSpec {
  kind: 'activity' | 'job' | 'batch';
  weight: number;
  deps: 'previous' | number[];
  onFailure: 'fail' | 'continue' | 'hold';
  maxAttempts: number;
  when: 'none' | 'true' | 'false' | 'throws';
  endJob: 'none' | 'null' | 'ends' | 'throws';
  chunks: number;
  chunkJobs: boolean;
}

const stepSpec: fc.Arbitrary<StepSpec> = fc.record({
  kind: fc.constantFrom('activity', 'job', 'batch'),
  weight: fc.integer({ min: 0, max: 3 }),
  deps: fc.oneof(fc.constant('previous' as const), fc.array(fc.nat({ max: 5 }), { maxLength: 2 })),
  onFailure: fc.constantFrom('fail', 'continue', 'hold'),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  when: fc.constantFrom('none', 'none', 'true', 'false', 'throws'),
  endJob: fc.constantFrom('none', 'none', 'null', 'ends', 'throws'),
  chunks: fc.integer({ min: 0, max: 6 }),
  chunkJobs: fc.boolean(),
});

const baseSpec: StepSpec = {
  kind: 'activity',
  weight: 1,
  deps: 'previous',
  onFailure: 'fail',
  maxAttempts: 1,
  when: 'none',
  endJob: 'none',
  chunks: 0,
  chunkJobs: false,
};

function buildDefinition(specs: StepSpec[]): JobDefinition {
  const steps = specs.map((sp, i): StepDef<unknown> => {
    const key = `s${i + 1}`;
    const earlier = [...new Set(Array.isArray(sp.deps) ? sp.deps : [])]
      .filter((d) => d < i)
      .map((d) => `s${d + 1}`);
    const common = {
      key,
      name: `Step ${i + 1}`,
      weight: sp.weight,
      dependsOn: sp.deps === 'previous' ? undefined : earlier,
      onFailure: sp.onFailure,
      retry: { maxAttempts: sp.maxAttempts, initialIntervalMs: 10 },
      when:
        sp.when === 'none'
          ? undefined
          : () => {
              if (sp.when === 'throws') throw new TypeError(`when of ${key}`);
              return sp.when === 'true';
            },
      endJob:
        sp.endJob === 'none'
          ? undefined
          : () => {
              if (sp.endJob === 'throws') throw new TypeError(`endJob of ${key}`);
              return sp.endJob === 'ends' ? `Nothing left after ${key}` : null;
            },
    };
    if (sp.kind === 'activity') return { ...common, kind: 'activity', activity: 'work' };
    if (sp.kind === 'job') return { ...common, kind: 'job', jobType: 'child' };
    return {
      ...common,
      kind: 'batch',
      items: () => Array.from({ length: sp.chunks }, (_, n) => n),
      window: 3,
      run: sp.chunkJobs ? { jobType: 'chunkJob' } : { activity: 'chunk' },
    };
  });
  return defineJob({ name: 'modelJob', description: 'model', input: z.object({}), steps });
}

// ---------------------------------------------------------------------------------------------
// The engine's asynchronous side

/** A step the scheduler started: waiting (pause or backoff) or with work in flight. */
interface Running {
  phase: 'waiting' | 'backoff' | 'working' | 'held';
  attempt: number;
  /** The sub-job or batch coordinator of the attempt in flight. */
  child: string | null;
  /** Its scope was cancelled (the job's cancellation or another step's failure). */
  stopping: boolean;
  batch: { completed: number; failed: number } | null;
}

type Event =
  | { t: 'report'; pick: number; pct: number; flag: boolean }
  | { t: 'staleReport'; pick: number; pct: number }
  | { t: 'childStatus'; pick: number; status: 'running' | 'pausing' | 'paused' }
  | { t: 'succeed'; pick: number; flag: boolean }
  | { t: 'fail'; pick: number; flag: boolean }
  | { t: 'backoffEnds'; pick: number }
  | { t: 'hold'; pick: number; decision: 'retry' | 'skip' | 'fail' }
  | { t: 'stopped'; pick: number }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'cancel' }
  | { t: 'waitExpires' }
  | { t: 'recover'; flag: boolean };

const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('report' as const),
      pick: fc.nat(),
      pct: fc.integer({ min: 0, max: 120 }),
      flag: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('staleReport' as const),
      pick: fc.nat(),
      pct: fc.integer({ min: 0, max: 100 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('childStatus' as const),
      pick: fc.nat(),
      status: fc.constantFrom('running' as const, 'pausing' as const, 'paused' as const),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('succeed' as const), pick: fc.nat(), flag: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('fail' as const), pick: fc.nat(), flag: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('backoffEnds' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('hold' as const),
      pick: fc.nat(),
      decision: fc.constantFrom('retry' as const, 'skip' as const, 'fail' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('stopped' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'cancel' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'waitExpires' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('recover' as const), flag: fc.boolean() }) },
);

class EngineModel {
  state: JobState;
  private results: Record<string, Json> = {};
  private outcome = new Map<string, StepOutcome>();
  private running = new Map<string, Running>();
  private activities = 0;
  private failure: { key: string; index: number; name: string; error: StepError } | null = null;
  private endMessage: string | null = null;
  private runs = 1;

  constructor(
    private readonly def: JobDefinition,
    private readonly specs: StepSpec[],
  ) {
    this.state = initialJobState(def, { input: {} }, { workflowId: 'model-job', runId: 'run-1' });
    this.changed();
    this.schedule();
  }

  private spec(key: string): StepSpec {
    return this.specs[this.def.steps.findIndex((s) => s.key === key)];
  }

  private step(key: string) {
    return this.def.steps.find((s) => s.key === key)!;
  }

  private closed(): boolean {
    return this.state.closedAt !== null;
  }

  /** `Job.changed`: derived fields, unless closed. */
  private changed(): void {
    if (!this.closed()) refreshDerived(this.state, this.def, { activitiesRunning: this.activities > 0 });
  }

  private course(): JobCourse {
    if (this.endMessage !== null) return 'ending';
    return this.failure || this.state.cancellation ? 'stopping' : 'running';
  }

  /** `runSteps`: one pass over the steps in order, then the job closes once nothing runs. */
  private schedule(): void {
    if (this.closed()) return;
    for (const key of this.def.order) {
      if (this.outcome.has(key) || this.running.has(key)) continue;
      const step = this.step(key);
      const decision = decideStep(
        step.dependsOn.map((d) => this.outcome.get(d)),
        this.course(),
      );
      if (decision === 'wait') continue;
      if (decision === 'not_run') {
        this.outcome.set(key, 'cancelled');
        stepNotRun(this.state, key);
      } else if (decision === 'skip_ended' || decision === 'skip_dependency') {
        this.outcome.set(key, 'skipped_dependency');
        stepSkipped(
          this.state,
          key,
          decision === 'skip_ended' ? 'Job ended early' : 'A dependency did not complete',
        );
        this.changed();
      } else if (this.spec(key).when === 'throws') {
        stepFailed(this.state, key, {
          message: 'when threw',
          type: 'StepFunctionFailed',
          nonRetryable: true,
        });
        this.failed(key);
      } else if (this.spec(key).when === 'false') {
        this.outcome.set(key, 'skipped_condition');
        stepSkipped(this.state, key, 'Condition not met');
        this.changed();
      } else if (this.state.hold) {
        // `runSteps`: nothing new starts while a step is held.
        continue;
      } else {
        this.running.set(key, { phase: 'waiting', attempt: 0, child: null, stopping: false, batch: null });
        this.tryStart(key);
      }
    }
    if (this.running.size === 0) this.finish();
  }

  /** `runStep`: the next attempt starts unless the job is paused. */
  private tryStart(key: string): void {
    const r = this.running.get(key)!;
    if (this.state.control.paused) {
      r.phase = 'waiting';
      return;
    }
    r.attempt += 1;
    r.phase = 'working';
    attemptStarted(this.state, key, r.attempt);
    this.changed();
    const sp = this.spec(key);
    const s = this.state.steps.find((x) => x.key === key)!;
    if (sp.kind === 'activity') this.activities += 1;
    else {
      if (sp.kind === 'batch') {
        s.batch = { total: sp.chunks, completed: 0, failed: 0, running: 0 };
        r.batch = { completed: 0, failed: 0 };
      }
      r.child = `model-job/${key}${r.attempt > 1 ? `-a${r.attempt}` : ''}`;
      subJobStarted(this.state, key, r.child, sp.kind === 'batch' ? BATCH_COORDINATOR_TYPE : 'child');
      this.changed();
    }
  }

  /** The attempt's work is no longer in flight. */
  private release(key: string): void {
    const r = this.running.get(key)!;
    if (r.child) {
      subJobClosed(this.state, r.child);
      r.child = null;
      this.changed();
    } else if (this.spec(key).kind === 'activity' && r.phase === 'working') this.activities -= 1;
  }

  private settle(key: string, o: StepOutcome): void {
    this.outcome.set(key, o);
    this.running.delete(key);
    this.schedule();
  }

  /** `failed` in the scheduler: a `fail` step fails the job and stops the other running steps. */
  private failed(key: string): void {
    const step = this.step(key);
    if (step.onFailure !== 'continue' && !this.failure) {
      const s = this.state.steps.find((x) => x.key === key)!;
      this.failure = { key, index: step.index, name: step.name, error: s.error! };
      for (const k of [...this.running.keys()]) if (k !== key) this.stop(k);
    }
    this.changed();
    this.outcome.set(key, 'failed');
    this.running.delete(key);
  }

  /** The step ran out of attempts under `onFailure: 'hold'`: it waits for a decision (cancelled at once if its scope is). */
  private held(key: string): void {
    const r = this.running.get(key)!;
    r.phase = 'held';
    this.changed();
    if (r.stopping) {
      this.cancelled(key);
      this.schedule();
    }
  }

  /** A step's scope is cancelled: waiting steps stop at once, work in flight when it has stopped. */
  private stop(key: string): void {
    const r = this.running.get(key);
    if (!r) return;
    r.stopping = true;
    if (r.phase !== 'working') this.cancelled(key);
  }

  private cancelled(key: string): void {
    stepCancelled(this.state, key);
    this.changed();
    this.outcome.set(key, 'cancelled');
    this.running.delete(key);
  }

  /** The end of `runJob` (and `closeCancelled`) once no step runs. */
  private finish(leftRunning: string[] = []): void {
    if (this.closed()) return;
    const c = this.state.cancellation;
    if (c) {
      c.leftRunning = leftRunning;
      pushLog(this.state, { at: new Date().toISOString(), level: 'info', step: null, message: 'Cleaned up' });
      closeState(this.state, this.def, 'cancelled', 'Cancelled', null);
    } else if (this.failure) {
      const { key, error } = this.failure;
      this.state.error = { ...error, step: key };
      closeState(this.state, this.def, 'failed', `Step failed: ${error.message}`, this.step(key));
    } else {
      const { status, message } = completion(this.state, this.endMessage);
      closeState(this.state, this.def, status, message, null);
    }
  }

  private pickRunning(pick: number, phase?: Running['phase']): [string, Running] | null {
    const all = [...this.running.entries()].filter(([, r]) => !phase || r.phase === phase);
    return all.length === 0 ? null : all[pick % all.length];
  }

  apply(e: Event): void {
    // A closed workflow runs nothing more; only a recovery starts a new run.
    if (this.closed() && e.t !== 'recover') return;
    switch (e.t) {
      case 'report': {
        const picked = this.pickRunning(e.pick, 'working');
        if (!picked) return;
        const [key, r] = picked;
        const sp = this.spec(key);
        const report: StepProgressReport = { stepKey: key, attempt: r.attempt, progress: e.pct };
        if (sp.kind === 'activity') {
          if (e.flag) report.message = `${key}: ${Math.floor(e.pct / 10)}/10 items`;
        } else if (sp.kind === 'job') {
          if (e.flag) report.message = `child at ${e.pct}%`;
          report.subJob = {
            id: r.child!,
            type: 'child',
            status: this.childStatus(),
            progress: e.pct,
            step: key,
          };
        } else {
          // The coordinator: counts only move forward; the message says them.
          const b = r.batch!;
          const left = sp.chunks - b.completed - b.failed;
          if (left > 0 && e.flag) b.completed += 1;
          else if (left > 0 && e.pct % 7 === 0) b.failed += 1;
          const done = b.completed + b.failed;
          const running = Math.min(3, sp.chunks - done);
          const status = this.childStatus();
          report.progress = sp.chunks === 0 ? 100 : Math.floor((done / sp.chunks) * 100);
          report.message = `${done}/${sp.chunks} chunks done${status === 'running' ? '' : ` · ${status}`}`;
          report.batch = { total: sp.chunks, completed: b.completed, failed: b.failed, running };
          report.subJob = {
            id: r.child!,
            type: BATCH_COORDINATOR_TYPE,
            status,
            progress: report.progress,
            step: key,
          };
        }
        if (progressReported(this.state, report)) this.changed();
        return;
      }
      case 'staleReport': {
        const picked = this.pickRunning(e.pick);
        if (!picked) return;
        const [key, r] = picked;
        const report = { stepKey: key, attempt: r.attempt - 1, progress: e.pct, message: 'stale' };
        if (progressReported(this.state, report)) this.changed();
        return;
      }
      case 'childStatus': {
        const picked = this.pickRunning(e.pick, 'working');
        if (!picked || !picked[1].child) return;
        const [key, r] = picked;
        const status: JobStatus = this.state.cancellation ? 'cancelling' : e.status;
        const s = this.state.steps.find((x) => x.key === key)!;
        const sub = { id: r.child!, type: 'child', status, progress: 0, step: key };
        const report = {
          stepKey: key,
          attempt: r.attempt,
          progress: s.progress,
          message: s.message ?? undefined,
          subJob: sub,
        };
        if (progressReported(this.state, report)) this.changed();
        return;
      }
      case 'succeed': {
        const picked = this.pickRunning(e.pick, 'working');
        if (!picked) return;
        const [key, r] = picked;
        const sp = this.spec(key);
        if (sp.kind === 'batch') {
          // The executor: the coordinator's final counts, then the result with their message.
          if (r.batch!.failed > 0) return this.apply({ t: 'fail', pick: e.pick, flag: true });
          this.state.steps.find((x) => x.key === key)!.batch = {
            total: sp.chunks,
            completed: sp.chunks,
            failed: 0,
            running: 0,
          };
        }
        this.release(key);
        const raw: Json = {
          value: key,
          ...(e.flag
            ? { stats: { itemsProcessed: 2 }, logs: [{ level: 'info', message: `${key} done` }] }
            : {}),
          ...(sp.kind === 'batch'
            ? { message: `${sp.chunks}/${sp.chunks} chunks done` }
            : e.flag
              ? { message: `${key} finished` }
              : {}),
        };
        // `completeStep`: endJob first; a throwing one fails the step, not retried.
        if (sp.endJob === 'throws') {
          const held = attemptFailed(this.state, this.step(key), r.attempt, {
            message: 'endJob threw',
            type: 'StepFunctionFailed',
            nonRetryable: true,
          });
          if (held === 'held') return this.held(key);
          return (this.failed(key), this.schedule());
        }
        this.results[key] = stepCompleted(this.state, key, raw);
        expect(this.results[key]).toEqual(splitResult(raw).result);
        if (sp.endJob === 'ends' && this.endMessage === null) {
          this.endMessage = `Nothing left after ${key}`;
          this.changed();
          return this.settle(key, 'ended');
        }
        this.changed();
        return this.settle(key, 'completed');
      }
      case 'fail': {
        const picked = this.pickRunning(e.pick, 'working');
        if (!picked) return;
        const [key, r] = picked;
        const sp = this.spec(key);
        let nonRetryable = !e.flag;
        if (sp.kind === 'batch' && r.batch!.failed > 0) {
          const b = r.batch!;
          const s = this.state.steps.find((x) => x.key === key)!;
          s.batch = { total: sp.chunks, completed: sp.chunks - b.failed, failed: b.failed, running: 0 };
          nonRetryable = true;
        }
        this.release(key);
        const delay = attemptFailed(this.state, this.step(key), r.attempt, {
          message: `attempt ${r.attempt} failed`,
          type: 'Simulated',
          nonRetryable,
        });
        if (delay === null) return (this.failed(key), this.schedule());
        if (delay === 'held') return this.held(key);
        this.changed();
        r.phase = 'backoff';
        // A sleep in a cancelled scope ends at once.
        if (r.stopping) return (this.cancelled(key), this.schedule());
        return;
      }
      case 'hold': {
        // An operator's decision on a held step (`awaitDecision`).
        const picked = this.pickRunning(e.pick, 'held');
        if (!picked) return;
        const [key] = picked;
        if (e.decision === 'retry') {
          holdRetried(this.state, key);
          this.changed();
          this.tryStart(key);
          return this.schedule();
        }
        if (e.decision === 'skip') {
          stepSkipped(this.state, key, 'Skipped after it was held by model');
          this.changed();
          return this.settle(key, 'skipped_condition');
        }
        stepFailed(this.state, key, this.state.steps.find((x) => x.key === key)!.error!);
        return (this.failed(key), this.schedule());
      }
      case 'backoffEnds': {
        const picked = this.pickRunning(e.pick, 'backoff');
        if (picked) this.tryStart(picked[0]);
        return;
      }
      case 'stopped': {
        // Work in flight acknowledged its cancellation.
        const picked = this.pickRunning(e.pick, 'working');
        if (!picked || !picked[1].stopping) return;
        this.release(picked[0]);
        this.cancelled(picked[0]);
        return this.schedule();
      }
      case 'pause': {
        if (this.closed() || this.state.control.paused || this.state.cancellation) return;
        this.state.control.paused = true;
        recordAction(this.state, 'pause', { by: 'model' }, 'update', 50);
        return this.changed();
      }
      case 'resume': {
        if (this.closed() || !this.state.control.paused || this.state.cancellation) return;
        this.state.control.paused = false;
        recordAction(this.state, 'resume', { by: 'model' }, 'update', 50);
        this.changed();
        for (const [key, r] of [...this.running]) if (r.phase === 'waiting') this.tryStart(key);
        return;
      }
      case 'cancel': {
        if (this.closed() || this.state.cancellation) return;
        cancelRequested(this.state, {
          requestedAt: new Date().toISOString(),
          by: 'model',
          reason: null,
          source: 'update',
          leftRunning: [],
          cleanup: null,
        });
        recordAction(this.state, 'cancel', { by: 'model' }, 'update', 50);
        for (const key of [...this.running.keys()]) this.stop(key);
        this.changed();
        return this.schedule();
      }
      case 'waitExpires': {
        if (this.closed() || !this.state.cancellation || this.running.size === 0) return;
        // `closeCancelled` after the bounded wait: what still runs is left behind.
        const left = [
          ...this.state.activeSubJobs.map((j) => j.id),
          ...(this.activities > 0 ? ['activity'] : []),
        ];
        return this.finish(left);
      }
      case 'recover': {
        if (!this.closed()) return;
        const from = e.flag ? 1 + (this.runs % this.def.steps.length) : undefined;
        const plan = planRecovery(this.def, this.state, from);
        if (!plan.ok) return;
        this.runs += 1;
        this.state = initialJobState(
          this.def,
          { input: {}, recovery: plan.params },
          { workflowId: 'model-job', runId: `run-${this.runs}` },
        );
        this.results = {};
        this.running.clear();
        this.activities = 0;
        this.failure = null;
        this.endMessage = null;
        applyCarried(this.state, this.def, plan.params, this.results);
        this.outcome = new Map(
          Object.keys(plan.params.carried).map((k): [string, StepOutcome] => [k, 'completed']),
        );
        this.changed();
        return this.schedule();
      }
    }
  }

  private childStatus(): 'running' | 'pausing' | 'paused' | 'cancelling' {
    if (this.state.cancellation) return 'cancelling';
    return this.state.control.paused ? 'paused' : 'running';
  }

  /** Drives the run to its end: resumes, lets work stop or finish. */
  drain(): void {
    for (let i = 0; i < 200 && !this.closed(); i++) {
      if (this.state.control.paused && !this.state.cancellation) this.apply({ t: 'resume' });
      else if (this.pickRunning(0, 'backoff')) this.apply({ t: 'backoffEnds', pick: 0 });
      else if (this.pickRunning(0, 'held'))
        this.apply({ t: 'hold', pick: 0, decision: i % 3 ? 'skip' : 'retry' });
      else if (this.pickRunning(0, 'working')?.[1].stopping) this.apply({ t: 'stopped', pick: 0 });
      else this.apply({ t: 'succeed', pick: 0, flag: i % 2 === 0 });
      if (i === 199) throw new Error('the model did not close');
    }
  }
}

/** What the random runs reached, so a model that stopped reaching something is noticed. */
const reached = new Set<string>();

function note(state: JobState): void {
  reached.add(`job ${state.status}`);
  if (state.recovery.attempt > 0) reached.add('recovery run');
  if (state.cancellation?.leftRunning.length) reached.add('left running');
  if (state.runningSubJobs > 0) reached.add('sub-jobs running');
  for (const s of state.steps) reached.add(`step ${s.status}`);
}

/** Applies `events` and checks the state and the transition after each one. */
function runModel(specs: StepSpec[], events: Event[]): void {
  const def = buildDefinition(specs);
  const model = new EngineModel(def, specs);
  const check = (prev: JobState, what: string): void => {
    const state = model.state;
    note(state);
    const broken = [...jobStateViolations(state), ...transitionViolations(prev, state)];
    if (broken.length > 0) {
      throw new Error(`after ${what}: ${broken.join('; ')}\n${JSON.stringify(state, null, 1)}`);
    }
  };
  check(structuredClone(model.state), 'start');
  for (const e of [...events, null, { t: 'recover', flag: false } as Event, null]) {
    const prev = structuredClone(model.state);
    if (e === null) model.drain();
    else model.apply(e);
    check(prev, e ? JSON.stringify(e) : 'drain');
  }
}

describe('JobState invariants over random runs', () => {
  it('hold after every transition: progress, completion, failure, retry, pause, cancel, recovery', () => {
    fc.assert(
      fc.property(
        fc.array(stepSpec, { minLength: 1, maxLength: 6 }),
        fc.array(event, { maxLength: 120 }),
        (specs, events) => runModel(specs, events),
      ),
      // Enough runs that the rarest case (a cancellation that stops waiting with work left running)
      // is reached: holds made the draws more varied, and 400 missed it once on a fresh clone.
      { numRuns: 1000 },
    );
    const expected = [
      ...[
        'running',
        'pausing',
        'paused',
        'held',
        'cancelling',
        'completed',
        'completed_with_errors',
        'failed',
        'cancelled',
      ].map((s) => `job ${s}`),
      ...[
        'pending',
        'running',
        'retrying',
        'completed',
        'failed',
        'held',
        'skipped',
        'cancelled',
        'not_run',
      ].map((s) => `step ${s}`),
      'recovery run',
      'left running',
      'sub-jobs running',
    ];
    expect(expected.filter((x) => !reached.has(x))).toEqual([]);
  });
});

describe('the symptoms of issue 19, one transition each', () => {
  const def = buildDefinition([
    { ...baseSpec, kind: 'activity' },
    { ...baseSpec, kind: 'batch', chunks: 8, chunkJobs: true },
    { ...baseSpec, kind: 'activity' },
  ]);
  const fresh = (): JobState => initialJobState(def, { input: {} }, { workflowId: 'j', runId: 'r' });
  const refresh = (s: JobState): void => refreshDerived(s, def, { activitiesRunning: false });
  const report = (s: JobState, r: Omit<StepProgressReport, 'attempt'>): void => {
    progressReported(s, { ...r, attempt: 1 });
    refresh(s);
  };

  it("the headline is not an earlier step's progress message once the next step runs", () => {
    const s = fresh();
    attemptStarted(s, 's1', 1);
    report(s, { stepKey: 's1', progress: 60, message: 'extract: 3/5 items' });
    expect(s.message).toBe('extract: 3/5 items');
    stepCompleted(s, 's1', { n: 1 });
    attemptStarted(s, 's2', 1);
    refresh(s);
    expect(s).toMatchObject({ currentStep: 2, message: null });
    expect(jobStateViolations(s)).toEqual([]);
  });

  it('a completed step keeps no mid-way message; one its result carries is kept', () => {
    const s = fresh();
    attemptStarted(s, 's1', 1);
    report(s, { stepKey: 's1', progress: 90, message: 'Process downloads: 9/10 items' });
    stepCompleted(s, 's1', { n: 1 });
    expect(s.steps[0].message).toBeNull();
    const t = fresh();
    attemptStarted(t, 's1', 1);
    stepCompleted(t, 's1', { n: 1, message: 'Process downloads: 10/10 items' });
    expect(t.steps[0]).toMatchObject({ message: 'Process downloads: 10/10 items', result: { n: 1 } });
  });

  it('a completed batch says its final counts, whatever report arrived last', () => {
    const s = fresh();
    stepCompleted(s, 's1', null);
    attemptStarted(s, 's2', 1);
    report(s, {
      stepKey: 's2',
      progress: 87,
      message: '7/8 chunks done',
      batch: { total: 8, completed: 7, failed: 0, running: 1 },
    });
    s.steps[1].batch = { total: 8, completed: 8, failed: 0, running: 0 }; // the coordinator's outcome
    stepCompleted(s, 's2', { chunks: 8, completed: 8, message: '8/8 chunks done' });
    refresh(s);
    expect(s.steps[1]).toMatchObject({ message: '8/8 chunks done', batch: { completed: 8, running: 0 } });
    expect(jobStateViolations(s)).toEqual([]);
  });

  it('a cancelled batch step no longer says cancelling; the steps after it did not run', () => {
    const s = fresh();
    stepCompleted(s, 's1', null);
    attemptStarted(s, 's2', 1);
    subJobStarted(s, 's2', 'j/s2', BATCH_COORDINATOR_TYPE);
    report(s, {
      stepKey: 's2',
      progress: 0,
      message: '0/8 chunks done',
      batch: { total: 8, completed: 0, failed: 0, running: 3 },
    });
    expect(s.runningSubJobs).toBe(3); // the chunk sub-jobs, not the one coordinator
    cancelRequested(s, {
      requestedAt: new Date().toISOString(),
      by: 'alice',
      reason: null,
      source: 'update',
      leftRunning: [],
      cleanup: null,
    });
    report(s, {
      stepKey: 's2',
      progress: 0,
      message: '0/8 chunks done · cancelling',
      batch: { total: 8, completed: 0, failed: 0, running: 0 },
    });
    subJobClosed(s, 'j/s2');
    stepCancelled(s, 's2');
    stepNotRun(s, 's3');
    refresh(s);
    closeState(s, def, 'cancelled', 'Cancelled by alice', null);
    expect(s.steps.map((x) => [x.status, x.message])).toEqual([
      ['completed', null],
      ['cancelled', null],
      ['not_run', null],
    ]);
    expect(JSON.stringify(s.steps)).not.toContain('cancelling');
    expect(jobStateViolations(s)).toEqual([]);
  });

  it('a failed job leaves no step pending', () => {
    const s = fresh();
    attemptStarted(s, 's1', 1);
    stepFailed(s, 's1', { message: 'boom', type: 'X', nonRetryable: true });
    s.error = { message: 'boom', type: 'X', nonRetryable: true, step: 's1' };
    closeState(s, def, 'failed', 'Step 1 failed: boom', def.steps[0]);
    expect(s.steps.map((x) => x.status)).toEqual(['failed', 'not_run', 'not_run']);
    expect(jobStateViolations(s)).toEqual([]);
  });
});
