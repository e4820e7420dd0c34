/**
 * The job engine: runs a {@link JobDefinition} as a Temporal workflow. The workflow's memory is
 * the job's state; the `jobState` query returns it, and the workflow returns it when done.
 */
import * as wf from '@temporalio/workflow';
import type { ActivityJobRef, StepActivities, StepResultExtras } from '../activity-contracts';
import {
  cancelJobUpdate,
  cancelSignal,
  controlPayloadSchema,
  jobStateQuery,
  pauseJobUpdate,
  pauseSignal,
  progressQuery,
  resumeJobUpdate,
  resumeSignal,
  stepProgressSignal,
  type CancellationInfo,
  type ControlPayload,
  type JobParams,
  type JobState,
  type JobStatus,
  type Json,
  type ProgressSnapshot,
  type RecoveryParams,
  type StepError,
  type StepState,
  type StepProgressReport,
} from '../contracts';
import type { JobDefinition, NormalizedStep, StepContext } from './definition';
import {
  PROGRESS_REPORT_BUDGET,
  addStats,
  backoffMs,
  clampPercent,
  shouldReport,
  weightedProgress,
} from './progress';
import { isRecoverable } from './recovery';
import { BATCH_COORDINATOR_TYPE, type BatchCoordinatorParams, type BatchOutcome } from './batch-contracts';
import { stepEnded, stepStarted } from './log-context';

/** Lines kept in the job's log ring. */
export const MAX_LOG_LINES = 200;

type Outcome = 'completed' | 'failed' | 'skipped_condition' | 'skipped_dependency' | 'cancelled' | 'ended';

/** Turns a job definition into the workflow function registered under the job type's name. */
export function jobWorkflow(def: JobDefinition): (params: JobParams) => Promise<JobState> {
  const fn = async (params: JobParams): Promise<JobState> => new JobRun(def, params).run();
  Object.defineProperty(fn, 'name', { value: def.name });
  return fn;
}

const nowIso = (): string => new Date().toISOString();
const who = (p?: ControlPayload): string =>
  `${p?.by ? ` by ${p.by}` : ''}${p?.reason ? `: ${p.reason}` : ''}`;

type ControlAction = 'pause' | 'resume' | 'cancel';

/** The innermost failure message and type: activity and child failures wrap the real cause. */
export function toStepError(err: unknown): StepError {
  let cur: unknown = err;
  let best: StepError = { message: String(err), type: null, nonRetryable: false };
  while (cur instanceof Error) {
    if (cur instanceof wf.ApplicationFailure) {
      best = { message: cur.message, type: cur.type ?? null, nonRetryable: cur.nonRetryable ?? false };
    } else if (cur instanceof wf.TimeoutFailure) {
      best = { message: `timed out (${cur.timeoutType})`, type: 'Timeout', nonRetryable: false };
    } else if (cur instanceof wf.CancelledFailure) {
      // A sub-job or activity cancelled from outside while this job was not cancelling.
      best = { message: `cancelled: ${cur.message}`, type: 'Cancelled', nonRetryable: true };
    } else if (!(cur instanceof wf.ActivityFailure) && !(cur instanceof wf.ChildWorkflowFailure)) {
      best = { message: cur.message, type: cur.name, nonRetryable: false };
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return best;
}

class JobRun {
  private readonly state: JobState;
  private readonly input: unknown;
  private readonly results: Record<string, Json> = {};
  private readonly stepsScope = new wf.CancellationScope();
  private readonly stepScopes = new Map<string, wf.CancellationScope>();
  private failure: { step: NormalizedStep<unknown>; error: StepError } | null = null;
  private endMessage: string | null = null;
  private lastUpsert = { status: '', step: -1 };
  private lastParentReport: number | null = null;
  private lastReportedStatus: JobStatus = 'running';
  /** Activity attempts in flight, as `stepKey#attempt`: a pausing job is `paused` once none run. */
  private readonly runningActivities = new Set<string>();
  /** The workflow's root scope: Temporal cancels it when a cancellation request for this run arrives. */
  private readonly rootScope = wf.CancellationScope.current();
  private selfCancelError: string | null = null;

  constructor(
    private readonly def: JobDefinition,
    private readonly params: JobParams,
  ) {
    const info = wf.workflowInfo();
    this.input = params.input;
    this.state = {
      jobId: info.workflowId,
      runId: info.runId,
      type: def.name,
      status: 'running',
      progress: 0,
      currentStep: 0,
      totalSteps: def.steps.length,
      stepName: null,
      message: null,
      activeSubJobs: [],
      steps: def.steps.map((s): StepState => ({
        index: s.index,
        key: s.key,
        name: s.name,
        kind: s.kind,
        weight: s.weight,
        dependsOn: s.dependsOn,
        status: 'pending',
        attempt: 0,
        maxAttempts: s.retryPolicy.maxAttempts,
        progress: 0,
        startedAt: null,
        completedAt: null,
        durationMs: null,
        nextAttemptAt: null,
        result: null,
        error: null,
        subJobIds: [],
        batch: null,
        message: null,
        stats: null,
        carriedFrom: null,
      })),
      summary: { itemsProcessed: 0, itemsCreated: 0, itemsFailed: 0, totalErrors: 0 },
      logs: [],
      control: { paused: false, actions: [] },
      recovery: {
        attempt: params.recovery?.attempt ?? 0,
        max: def.recoveryLimit,
        fromStep: params.recovery?.fromStep ?? null,
        previousRunId: params.recovery?.previousRunId ?? null,
      },
      cancellation: null,
      input: (params.input ?? null) as Json,
      output: null,
      error: null,
      parentJobId: params.parent?.jobId ?? null,
      startedAt: nowIso(),
      closedAt: null,
    };
  }

  async run(): Promise<JobState> {
    this.installHandlers();
    // The Web UI's "Request cancellation", `temporal workflow cancel` and `handle.cancel()` cancel the
    // root scope; they take the same path as the cancel signal and update.
    void this.rootScope.cancelRequested.catch(() => this.requestCancel(undefined, 'native'));
    const parsed = this.def.input.safeParse(this.params.input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
      const message = `Invalid input for job type "${this.def.name}": ${issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`;
      this.state.error = { message, type: 'InvalidJobInput', nonRetryable: true, step: null };
      this.finish('failed', message);
      throw wf.ApplicationFailure.create({
        type: 'InvalidJobInput',
        message,
        nonRetryable: true,
        details: [issues],
      });
    }
    const recovery = this.params.recovery;
    if (recovery) this.applyRecovery(recovery);
    const ctx: StepContext<unknown> = {
      input: parsed.data,
      jobId: this.state.jobId,
      results: this.results,
      recoveryAttempt: this.state.recovery.attempt,
    };
    this.log(
      'info',
      null,
      recovery
        ? `Job ${this.def.name} recovery ${recovery.attempt}/${this.def.recoveryLimit} started from step ${recovery.fromStep}`
        : `Job ${this.def.name} started with ${this.def.steps.length} steps`,
    );
    this.changed();

    const dag = this.stepsScope.run(() => this.runDag(ctx, new Set(Object.keys(recovery?.carried ?? {}))));
    // A cancelled job waits for its steps and sub-jobs to stop, but no longer than cancelWaitMs.
    await wf.CancellationScope.nonCancellable(() => Promise.race([dag, this.cancelWaitExpired(ctx)]));

    if (this.state.cancellation) return this.closeCancelled(ctx, this.state.cancellation);
    if (this.failure) {
      const { step, error } = this.failure;
      const message = `Step ${step.index} "${step.name}" failed: ${error.message}`;
      this.state.error = { ...error, step: step.key };
      this.finish('failed', message);
      await wf.condition(wf.allHandlersFinished);
      // The cause keeps the step's own error type and retryability, so a parent job running this
      // one as a sub-job retries it exactly when the underlying error is retryable.
      throw wf.ApplicationFailure.create({
        type: 'JobFailed',
        message,
        nonRetryable: error.nonRetryable,
        cause: wf.ApplicationFailure.create({
          type: error.type ?? undefined,
          message: error.message,
          nonRetryable: error.nonRetryable,
        }),
      });
    }
    const failedContinue = this.state.steps.filter((s) => s.status === 'failed');
    if (failedContinue.length > 0) {
      this.finish(
        'completed_with_errors',
        `Completed with errors in ${failedContinue.map((s) => `"${s.name}"`).join(', ')}`,
      );
    } else {
      this.finish('completed', this.endMessage ?? 'Completed');
    }
    await wf.condition(wf.allHandlersFinished);
    return this.state;
  }

  // ---- DAG scheduling -------------------------------------------------------------------------

  private async runDag(ctx: StepContext<unknown>, carried: ReadonlySet<string>): Promise<void> {
    const outcome = new Map<string, Outcome>([...carried].map((k): [string, Outcome] => [k, 'completed']));
    const running = new Map<string, Promise<void>>();
    const byKey = new Map(this.def.steps.map((s) => [s.key, s]));
    for (;;) {
      const stopping = this.failure !== null || this.endMessage !== null || this.state.cancellation !== null;
      for (const key of this.def.order) {
        if (outcome.has(key) || running.has(key)) continue;
        const step = byKey.get(key)!;
        const deps = step.dependsOn.map((d) => outcome.get(d));
        if (deps.some((d) => d === undefined)) continue;
        if (stopping) {
          // Steps that never started stay pending on failure/cancel; an early end skips them.
          if (this.endMessage !== null) this.skip(step, outcome, 'skipped_dependency', 'Job ended early');
          else outcome.set(key, 'cancelled');
          continue;
        }
        if (
          deps.some((d) => d === 'failed' || d === 'skipped_dependency' || d === 'cancelled' || d === 'ended')
        ) {
          this.skip(step, outcome, 'skipped_dependency', 'A step it depends on did not complete');
          continue;
        }
        if (step.when && !step.when(ctx)) {
          this.skip(step, outcome, 'skipped_condition', 'Condition not met');
          continue;
        }
        running.set(
          key,
          this.runStepInScope(step, ctx).then((o) => {
            outcome.set(key, o);
            running.delete(key);
          }),
        );
      }
      if (running.size === 0) return;
      await Promise.race(running.values());
    }
  }

  private skip(
    step: NormalizedStep<unknown>,
    outcome: Map<string, Outcome>,
    why: Outcome,
    message: string,
  ): void {
    outcome.set(step.key, why);
    const s = this.stepState(step.key);
    s.status = 'skipped';
    s.message = message;
    this.log('info', step.index, `Step "${step.name}" skipped: ${message}`);
    this.changed();
  }

  private async runStepInScope(step: NormalizedStep<unknown>, ctx: StepContext<unknown>): Promise<Outcome> {
    const scope = new wf.CancellationScope();
    this.stepScopes.set(step.key, scope);
    stepStarted(step.key);
    try {
      return await scope.run(() => this.runStep(step, ctx));
    } catch (err) {
      if (!wf.isCancellation(err)) throw err;
      const s = this.stepState(step.key);
      s.status = 'cancelled';
      s.completedAt = nowIso();
      s.durationMs = s.startedAt ? Date.parse(s.completedAt) - Date.parse(s.startedAt) : null;
      this.log('warn', step.index, `Step "${step.name}" cancelled`);
      this.changed();
      return 'cancelled';
    } finally {
      this.stepScopes.delete(step.key);
      stepEnded(step.key);
    }
  }

  private async runStep(step: NormalizedStep<unknown>, ctx: StepContext<unknown>): Promise<Outcome> {
    const s = this.stepState(step.key);
    for (let attempt = 1; ; attempt++) {
      await wf.condition(() => !this.state.control.paused);
      s.status = 'running';
      s.attempt = attempt;
      s.startedAt ??= nowIso();
      s.nextAttemptAt = null;
      s.progress = 0;
      this.log(
        'info',
        step.index,
        `Step "${step.name}" started (attempt ${attempt}/${step.retryPolicy.maxAttempts})`,
      );
      this.changed();
      try {
        const raw = await this.runAttempt(step, ctx, attempt);
        return this.completeStep(step, ctx, raw);
      } catch (err) {
        // Only this job's own cancellation stops the step; a sub-job cancelled from outside fails it.
        if (wf.isCancellation(err) && wf.CancellationScope.current().consideredCancelled) throw err;
        const error = toStepError(err);
        s.error = error;
        if (error.nonRetryable || attempt >= step.retryPolicy.maxAttempts) {
          return this.failStep(step, error);
        }
        const delay = backoffMs(attempt + 1, step.retryPolicy);
        s.status = 'retrying';
        s.nextAttemptAt = new Date(Date.now() + delay).toISOString();
        this.state.summary.totalErrors += 1;
        this.log(
          'warn',
          step.index,
          `Attempt ${attempt} of "${step.name}" failed: ${error.message}; retrying in ${delay} ms`,
        );
        this.changed();
        await wf.sleep(delay);
      }
    }
  }

  private async runAttempt(
    step: NormalizedStep<unknown>,
    ctx: StepContext<unknown>,
    attempt: number,
  ): Promise<Json> {
    const ref: ActivityJobRef = {
      jobId: this.state.jobId,
      jobType: this.def.name,
      parentJobId: this.state.parentJobId,
      stepKey: step.key,
      stepIndex: step.index,
      attempt,
      reportProgress: true,
    };
    switch (step.kind) {
      case 'activity': {
        const acts = wf.proxyActivities<StepActivities>({
          startToCloseTimeout: step.timeoutMs,
          heartbeatTimeout: step.heartbeatTimeoutMs,
          retry: { maximumAttempts: 1 }, // the engine retries, so attempts are visible in the query
          cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        });
        const fn = acts[step.activity] as unknown as (ref: ActivityJobRef, args: Json) => Promise<Json>;
        const tag = `${step.key}#${attempt}`;
        this.runningActivities.add(tag);
        try {
          return await fn(ref, step.args ? step.args(ctx, attempt) : {});
        } finally {
          this.runningActivities.delete(tag);
          if (this.state.control.paused) this.changed(); // pausing → paused once nothing runs
        }
      }
      case 'job': {
        const childId = this.childId(step.key, attempt);
        const child = await this.startChild(step, childId, step.jobType, {
          input: step.input ? step.input(ctx, attempt) : {},
          parent: { jobId: this.state.jobId, stepKey: step.key, attempt, reportProgress: true },
        });
        const childState = (await child.result()) as JobState;
        return {
          jobId: childState.jobId,
          status: childState.status,
          output: childState.output,
          summary: { ...childState.summary },
          stats: { ...childState.summary }, // folded into this job's summary by absorbExtras
        };
      }
      case 'batch': {
        const items = step.items(ctx);
        const resolve = (
          v: number | ((c: StepContext<unknown>) => number) | undefined,
          dflt: number,
        ): number => Math.max(1, Math.floor(typeof v === 'function' ? v(ctx) : (v ?? dflt)));
        const chunkSize = resolve(step.chunkSize, 1);
        const chunks: Json[] = [];
        for (let offset = 0; offset < items.length; offset += chunkSize) {
          const chunk = { items: items.slice(offset, offset + chunkSize), offset };
          chunks.push(step.chunkInput ? step.chunkInput(chunk, ctx, attempt) : chunk);
        }
        const total = chunks.length;
        this.stepState(step.key).batch = { total, completed: 0, failed: 0, running: 0 };
        const params: BatchCoordinatorParams = {
          parentJobId: this.state.jobId,
          jobParentId: this.state.parentJobId,
          parentJobType: this.def.name,
          stepKey: step.key,
          attempt,
          chunks,
          chunkSize,
          itemTotal: items.length,
          window: resolve(step.window, 10),
          run: step.run,
          chunkRetry: step.retryPolicy,
          chunkTimeoutMs: step.timeoutMs,
          cursor: 0,
          ...(this.state.recovery.attempt > 0 ? { recoveryAttempt: this.state.recovery.attempt } : {}),
          counts: { total, completed: 0, failed: 0, running: 0 },
          failures: [],
          stats: { itemsProcessed: 0, itemsCreated: 0, itemsFailed: 0, totalErrors: 0 },
        };
        const child = await this.startChild(
          step,
          this.childId(step.key, attempt),
          BATCH_COORDINATOR_TYPE,
          params,
        );
        const outcome = (await child.result()) as BatchOutcome;
        this.stepState(step.key).batch = outcome.counts;
        if (outcome.counts.failed > 0) {
          addStats(this.state.summary, outcome.stats);
          throw wf.ApplicationFailure.create({
            type: 'BatchItemsFailed',
            message: `${outcome.counts.failed} of ${outcome.counts.total} batch chunks failed: ${outcome.failures
              .slice(0, 3)
              .map((f) => `#${f.chunk} ${f.message}`)
              .join('; ')}`,
            nonRetryable: true,
          });
        }
        return {
          chunks: outcome.counts.total,
          completed: outcome.counts.completed,
          stats: { ...outcome.stats },
        };
      }
    }
  }

  /** `<jobId>/<step>`, then `-r<n>` in the n-th recovery run and `-a<k>` for the k-th attempt. */
  private childId(stepKey: string, attempt: number): string {
    const r = this.state.recovery.attempt;
    const base = `${this.state.jobId}/${stepKey}${r > 0 ? `-r${r}` : ''}`;
    return attempt > 1 ? `${base}-a${attempt}` : base;
  }

  private async startChild(
    step: NormalizedStep<unknown>,
    childId: string,
    workflowType: string,
    arg: unknown,
  ): Promise<wf.ChildWorkflowHandle<wf.Workflow>> {
    const handle = await wf.startChild(workflowType, {
      workflowId: childId, // the task queue is inherited from this job
      args: [arg],
      cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: 'REQUEST_CANCEL',
      workflowExecutionTimeout: step.kind === 'job' ? step.timeoutMs : undefined,
      searchAttributes: {
        JobType: [workflowType],
        JobStatus: ['running'],
        JobParentId: [this.state.jobId],
      },
      staticSummary: `Step ${step.index} "${step.name}" of ${this.def.name} job ${this.state.jobId}`,
    });
    const s = this.stepState(step.key);
    if (!s.subJobIds.includes(childId)) s.subJobIds.push(childId);
    this.state.activeSubJobs.push({
      id: childId,
      type: workflowType,
      status: 'running',
      progress: 0,
      step: step.key,
    });
    // Paused between this step's start and its sub-job's start: the sub-job pauses too.
    if (this.state.control.paused) {
      const pause = [...this.state.control.actions].reverse().find((a) => a.action === 'pause');
      this.signalSubJobs(pauseSignal, [childId], {
        ...(pause?.by ? { by: pause.by } : {}),
        ...(pause?.reason ? { reason: pause.reason } : {}),
      });
    }
    this.changed();
    // Drop the sub-job from the active list when it closes, whatever the outcome.
    handle.result().then(
      () => this.dropSubJob(childId),
      () => this.dropSubJob(childId),
    );
    return handle;
  }

  private dropSubJob(id: string): void {
    this.state.activeSubJobs = this.state.activeSubJobs.filter((j) => j.id !== id);
    this.changed();
  }

  private completeStep(step: NormalizedStep<unknown>, ctx: StepContext<unknown>, raw: Json): Outcome {
    const s = this.stepState(step.key);
    const result = this.absorbExtras(step, raw);
    this.results[step.key] = result;
    s.status = 'completed';
    s.progress = 100;
    s.result = result;
    s.error = null;
    s.completedAt = nowIso();
    s.durationMs = Date.parse(s.completedAt) - Date.parse(s.startedAt ?? s.completedAt);
    this.state.output = result;
    this.log('info', step.index, `Step "${step.name}" completed in ${s.durationMs} ms`);
    const end = step.endJob?.(result, ctx);
    if (end) {
      this.endMessage = end;
      this.state.message = end;
      this.log('info', step.index, `Job ends early: ${end}`);
      this.changed();
      return 'ended';
    }
    this.changed();
    return 'completed';
  }

  private failStep(step: NormalizedStep<unknown>, error: StepError): Outcome {
    const s = this.stepState(step.key);
    s.status = 'failed';
    s.completedAt = nowIso();
    s.durationMs = Date.parse(s.completedAt) - Date.parse(s.startedAt ?? s.completedAt);
    this.state.summary.totalErrors += 1;
    this.log('error', step.index, `Step "${step.name}" failed: ${error.message}`);
    if (step.onFailure === 'fail' && !this.failure) {
      this.failure = { step, error };
      // Stop the other running steps: the job has failed.
      for (const [key, scope] of this.stepScopes) if (key !== step.key) scope.cancel();
    }
    this.changed();
    return 'failed';
  }

  /** Folds `stats` and `logs` of a result into the job and returns the rest. */
  private absorbExtras(step: NormalizedStep<unknown>, raw: Json): Json {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
    const { stats, logs, ...rest } = raw as Record<string, Json> & StepResultExtras;
    if (stats) {
      addStats(this.state.summary, stats);
      this.stepState(step.key).stats = stats;
    }
    for (const line of logs ?? []) this.pushLog({ ...line, at: nowIso(), step: step.index });
    return rest as Json;
  }

  // ---- handlers -------------------------------------------------------------------------------

  private installHandlers(): void {
    wf.setHandler(jobStateQuery, () => this.state, {
      description: 'The full job state: status, progress, steps, sub-jobs, logs, control and recovery.',
    });
    wf.setHandler(progressQuery, (): ProgressSnapshot => this.progressSnapshot(), {
      description: 'Compact progress: status, progress 0-100, current step and message.',
    });
    wf.setHandler(stepProgressSignal, (r: StepProgressReport) => this.onProgress(r), {
      description: 'Internal: progress of a running step, sent by its activity or sub-job.',
    });
    const payloadHelp = 'Payload: {"reason"?: string, "by"?: string}.';
    wf.setHandler(pauseSignal, (raw?: unknown) => this.onControlSignal('pause', raw), {
      description: `Pause the job: nothing new starts; running sub-jobs pause at their own step boundaries. ${payloadHelp}`,
    });
    wf.setHandler(resumeSignal, (raw?: unknown) => this.onControlSignal('resume', raw), {
      description: `Resume a paused job where it stopped. ${payloadHelp}`,
    });
    wf.setHandler(cancelSignal, (raw?: unknown) => this.onControlSignal('cancel', raw), {
      description: `Cancel the job like a cancellation request: sub-jobs are cancelled and waited for, cleanup runs once. ${payloadHelp}`,
    });
    wf.setHandler(
      pauseJobUpdate,
      (p?: ControlPayload) => {
        this.pause(p);
        return this.state;
      },
      {
        validator: (p?: ControlPayload) => this.validateControl('pause', p),
        description: `Pause the job and return its state; refused when it is closed, cancelling or already paused. ${payloadHelp}`,
      },
    );
    wf.setHandler(
      resumeJobUpdate,
      (p?: ControlPayload) => {
        this.resume(p);
        return this.state;
      },
      {
        validator: (p?: ControlPayload) => this.validateControl('resume', p),
        description: `Resume a paused job and return its state; refused when it is not paused. ${payloadHelp}`,
      },
    );
    wf.setHandler(
      cancelJobUpdate,
      (p?: ControlPayload) => {
        this.requestCancel(p, 'update');
        return this.state;
      },
      {
        validator: (p?: ControlPayload) => this.validateControl('cancel', p),
        description: `Cancel the job and return its state (cancelling); refused when it is closed or already cancelling. ${payloadHelp}`,
      },
    );
  }

  private progressSnapshot(): ProgressSnapshot {
    const { status, progress, currentStep, totalSteps, stepName, message } = this.state;
    return { status, progress, currentStep, totalSteps, stepName, message };
  }

  private onProgress(r: StepProgressReport): void {
    const s = this.state.steps.find((x) => x.key === r.stepKey);
    if (!s || s.attempt !== r.attempt || (s.status !== 'running' && s.status !== 'retrying')) return;
    s.progress = Math.max(s.progress, Math.min(99, clampPercent(r.progress)));
    if (r.message) s.message = r.message;
    if (r.batch) s.batch = r.batch;
    if (r.subJob) {
      const sub = this.state.activeSubJobs.find((j) => j.id === r.subJob!.id);
      if (sub) Object.assign(sub, { status: r.subJob.status, progress: r.subJob.progress });
    }
    this.changed();
  }

  private recordAction(action: ControlAction, p?: ControlPayload): void {
    this.state.control.actions.push({ action, by: p?.by ?? null, reason: p?.reason ?? null, at: nowIso() });
  }

  /** Signals have no way to answer: a malformed payload is logged and the signal ignored. */
  private onControlSignal(action: ControlAction, raw: unknown): void {
    const parsed = controlPayloadSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      this.log('warn', null, `Ignored ${action} signal with an invalid payload: ${why}`);
      return;
    }
    // The same rules as the updates' validators; a signal that does not fit is logged and ignored.
    try {
      this.validateControl(action, parsed.data);
    } catch (err) {
      this.log('info', null, `Ignored ${action} signal: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (action === 'pause') this.pause(parsed.data);
    else if (action === 'resume') this.resume(parsed.data);
    else this.requestCancel(parsed.data, 'signal');
  }

  /** Update validators: a refused update changes nothing and leaves no trace in history. */
  private validateControl(action: ControlAction, p: unknown): void {
    const refuse = (type: string, message: string): never => {
      throw wf.ApplicationFailure.create({ type, message, nonRetryable: true });
    };
    const parsed = controlPayloadSchema.optional().safeParse(p);
    if (!parsed.success) {
      refuse(
        'InvalidControlPayload',
        `Invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    }
    const { status } = this.state;
    if (this.isClosed()) refuse('JobClosed', `Job "${this.state.jobId}" is closed (${status})`);
    if (this.state.cancellation)
      refuse('JobCancelling', `Job "${this.state.jobId}" is already being cancelled`);
    if (action === 'pause' && this.state.control.paused) {
      refuse('AlreadyPaused', `Job "${this.state.jobId}" is already paused (${status})`);
    }
    if (action === 'resume' && !this.state.control.paused) {
      refuse('NotPaused', `Job "${this.state.jobId}" is not paused (${status})`);
    }
  }

  private pause(p?: ControlPayload): void {
    if (this.isClosed() || this.state.control.paused || this.state.cancellation) return;
    this.state.control.paused = true;
    this.recordAction('pause', p);
    this.log('info', null, `Pause requested${who(p)}`);
    this.signalSubJobs(
      pauseSignal,
      this.state.activeSubJobs.map((j) => j.id),
      p,
    );
    this.changed();
  }

  private resume(p?: ControlPayload): void {
    if (this.isClosed() || !this.state.control.paused || this.state.cancellation) return;
    this.state.control.paused = false;
    this.recordAction('resume', p);
    this.log('info', null, `Resumed${who(p)}`);
    this.signalSubJobs(
      resumeSignal,
      this.state.activeSubJobs.map((j) => j.id),
      p,
    );
    this.changed();
  }

  /** Forwards an operator's pause or resume to sub-jobs, keeping who asked and why. */
  private signalSubJobs(signal: typeof pauseSignal, ids: string[], p: ControlPayload | undefined): void {
    const payload: ControlPayload = {
      by: p?.by ?? `job ${this.state.jobId}`,
      ...(p?.reason !== undefined ? { reason: p.reason } : {}),
    };
    for (const id of ids) {
      wf.getExternalWorkflowHandle(id)
        .signal(signal, payload)
        .catch(() => undefined); // a sub-job that already closed needs no pause
    }
  }

  /**
   * Every way to cancel ends here: the running steps' scope is cancelled (sub-jobs are asked to
   * stop and waited for), and for the signal and update a cancellation request is sent to this
   * very run, so it closes as Canceled in Temporal exactly as after a native request.
   */
  private requestCancel(p: ControlPayload | undefined, source: CancellationInfo['source']): void {
    if (this.isClosed() || this.state.cancellation) return;
    this.state.cancellation = {
      requestedAt: nowIso(),
      by: p?.by ?? null,
      reason: p?.reason ?? null,
      source,
      leftRunning: [],
      cleanup: null,
    };
    this.recordAction('cancel', p);
    this.log('warn', null, `Cancel requested${who(p)} (${source})`);
    for (const j of this.state.activeSubJobs) j.status = 'cancelling';
    this.stepsScope.cancel();
    if (source !== 'native') {
      // Temporal refuses a workflow's own request to cancel itself, so an activity asks for it.
      const acts = wf.proxyActivities<StepActivities>({
        startToCloseTimeout: 30_000,
        retry: { maximumAttempts: 5, initialInterval: 500 },
      });
      const { runId } = wf.workflowInfo();
      wf.CancellationScope.nonCancellable(() =>
        acts.requestCancellation(this.activityRef('onCancel', 0), { runId }),
      ).catch((err: unknown) => {
        this.selfCancelError = toStepError(err).message;
        this.log('warn', null, `Could not request cancellation of this run: ${this.selfCancelError}`);
      });
    }
    this.changed();
  }

  /** Resolves once a cancellation has waited `cancelWaitMs` for the job's running work. */
  private async cancelWaitExpired(ctx: StepContext<unknown>): Promise<void> {
    await wf.condition(() => this.state.cancellation !== null);
    await wf.sleep(this.cancelWaitMs(ctx));
  }

  private cancelWaitMs(ctx: StepContext<unknown>): number {
    const v = this.def.cancelWaitMs;
    return Math.max(0, typeof v === 'function' ? v(ctx) : v);
  }

  /** After a cancellation: record what still runs, run the type's cleanup once, close as Canceled. */
  private async closeCancelled(ctx: StepContext<unknown>, c: CancellationInfo): Promise<never> {
    const message = `Cancelled${c.by ? ` by ${c.by}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
    await wf.CancellationScope.nonCancellable(async () => {
      c.leftRunning = [
        ...this.state.activeSubJobs.map((j) => j.id),
        ...[...this.runningActivities].map((a) => `activity ${a}`),
      ];
      if (c.leftRunning.length > 0) {
        this.log(
          'warn',
          null,
          `Stopped waiting after ${this.cancelWaitMs(ctx)} ms; still running: ${c.leftRunning.join(', ')}`,
        );
      }
      if (this.def.onCancel) await this.runCleanup(ctx, c);
      // The signal and update paths wait for their own cancellation request to arrive.
      await wf.condition(() => this.rootScope.consideredCancelled || this.selfCancelError !== null);
      this.finish('cancelled', message);
      await wf.condition(wf.allHandlersFinished);
    });
    if (this.rootScope.consideredCancelled) throw new wf.CancelledFailure(message);
    throw wf.ApplicationFailure.create({ type: 'JobCancelled', message, nonRetryable: true });
  }

  private async runCleanup(ctx: StepContext<unknown>, c: CancellationInfo): Promise<void> {
    const cleanup = this.def.onCancel!;
    const acts = wf.proxyActivities<StepActivities>({
      startToCloseTimeout: cleanup.timeoutMs ?? 60_000,
      retry: { maximumAttempts: 3, initialInterval: 1000 },
    });
    const ref = this.activityRef('onCancel', 0);
    const fn = acts[cleanup.activity] as unknown as (ref: ActivityJobRef, args: Json) => Promise<Json>;
    this.log('info', null, `Cleanup ${cleanup.activity} started`);
    try {
      await fn(ref, cleanup.args ? cleanup.args(ctx) : {});
      c.cleanup = 'completed';
      this.log('info', null, `Cleanup ${cleanup.activity} completed`);
    } catch (err) {
      c.cleanup = 'failed';
      this.log('error', null, `Cleanup ${cleanup.activity} failed: ${toStepError(err).message}`);
    }
  }

  /** Who is calling, for activities the engine runs outside a step. */
  private activityRef(stepKey: string, stepIndex: number): ActivityJobRef {
    return {
      jobId: this.state.jobId,
      jobType: this.def.name,
      parentJobId: this.state.parentJobId,
      stepKey,
      stepIndex,
      attempt: 1,
      reportProgress: false,
    };
  }

  /** A recovery run: refuse past the type's limit, then mark the carried steps completed. */
  private applyRecovery(r: RecoveryParams): void {
    if (r.attempt > this.def.recoveryLimit) {
      const message = `Recovery limit reached: attempt ${r.attempt} of at most ${this.def.recoveryLimit}`;
      this.state.error = { message, type: 'RecoveryLimitReached', nonRetryable: true, step: null };
      this.finish('failed', message);
      throw wf.ApplicationFailure.create({ type: 'RecoveryLimitReached', message, nonRetryable: true });
    }
    for (const step of this.def.steps) {
      const carried = r.carried[step.key];
      if (!carried) continue;
      const s = this.stepState(step.key);
      Object.assign(s, {
        status: 'completed',
        progress: 100,
        result: carried.result,
        stats: carried.stats,
        carriedFrom: r.previousRunId,
        message: `Carried over from run ${r.previousRunId}`,
      });
      this.results[step.key] = carried.result;
      this.state.output = carried.result;
      if (carried.stats) addStats(this.state.summary, carried.stats);
    }
  }

  private isClosed(): boolean {
    return this.state.closedAt !== null;
  }

  // ---- state bookkeeping ----------------------------------------------------------------------

  private stepState(key: string): StepState {
    return this.state.steps.find((s) => s.key === key)!;
  }

  private finish(status: JobStatus, message: string): void {
    const st = this.state;
    st.status = status;
    st.message = message;
    st.closedAt = nowIso();
    if (status === 'completed' || status === 'completed_with_errors') {
      st.progress = 100;
      st.currentStep = st.totalSteps;
      st.stepName = this.def.steps[st.totalSteps - 1].name;
    } else {
      const failedAt = this.failure?.step.index;
      if (failedAt) {
        st.currentStep = failedAt;
        st.stepName = this.failure!.step.name;
      }
    }
    st.activeSubJobs = [];
    this.log(status === 'failed' ? 'error' : 'info', null, `Job ${status}: ${message}`);
    this.publish();
  }

  /** Recomputes derived fields after any change and publishes them where they are visible. */
  private changed(): void {
    if (this.isClosed()) return;
    const st = this.state;
    st.progress = Math.max(st.progress, weightedProgress(st.steps));
    const active = st.steps.filter((s) => s.status === 'running' || s.status === 'retrying');
    const current =
      active[0] ??
      [...st.steps].reverse().find((s) => s.status !== 'pending' && s.status !== 'skipped') ??
      null;
    if (current) {
      st.currentStep = current.index;
      st.stepName = current.name;
    }
    if (!this.endMessage) {
      const msg = active.map((s) => s.message).find((m) => m);
      if (msg) st.message = msg;
    }
    // Paused once no activity runs and every sub-job has paused (or closed).
    const busy = this.runningActivities.size > 0 || st.activeSubJobs.some((j) => j.status !== 'paused');
    if (st.cancellation) st.status = 'cancelling';
    else if (st.control.paused) st.status = busy ? 'pausing' : 'paused';
    else st.status = 'running';
    this.publish();
    this.reportToParent();
  }

  /** Web UI details line and search attributes (these only at status or step changes: they cost history). */
  private publish(): void {
    const st = this.state;
    const stepPart = st.currentStep > 0 ? `Step ${st.currentStep}/${st.totalSteps} · ${st.stepName} · ` : '';
    wf.setCurrentDetails(`${stepPart}${st.progress}% · ${st.status}${st.message ? `\n${st.message}` : ''}`);
    if (st.status !== this.lastUpsert.status || st.currentStep !== this.lastUpsert.step) {
      this.lastUpsert = { status: st.status, step: st.currentStep };
      wf.upsertSearchAttributes({
        JobType: [this.def.name],
        JobStatus: [st.status],
        JobStep: [st.currentStep],
        JobProgress: [st.progress],
        JobRecoverable: [isRecoverable(st)],
      });
    }
  }

  private reportToParent(): void {
    const parent = this.params.parent;
    if (!parent) return;
    // Status changes always (pausing/paused/cancelling: a handful per run); progress within a budget.
    const statusChanged = this.state.status !== this.lastReportedStatus;
    const progressDue =
      parent.reportProgress &&
      shouldReport(this.lastParentReport, this.state.progress, PROGRESS_REPORT_BUDGET);
    if (!statusChanged && !progressDue) return;
    this.lastReportedStatus = this.state.status;
    if (progressDue) this.lastParentReport = Math.floor(this.state.progress);
    const report: StepProgressReport = {
      stepKey: parent.stepKey,
      attempt: parent.attempt,
      progress: this.state.progress,
      message: this.state.message ?? undefined,
      subJob: {
        id: this.state.jobId,
        type: this.def.name,
        status: this.state.status,
        progress: this.state.progress,
        step: parent.stepKey,
      },
    };
    // A parent that already closed cannot take the report; that is not this job's failure.
    wf.getExternalWorkflowHandle(parent.reportTo ?? parent.jobId)
      .signal(stepProgressSignal, report)
      .catch(() => undefined);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', step: number | null, message: string): void {
    this.pushLog({ at: nowIso(), level, step, message });
    const stepKey = step ? this.def.steps[step - 1].key : null;
    wf.log[level](message, {
      jobId: this.state.jobId,
      jobType: this.def.name,
      parentJobId: this.state.parentJobId,
      step: stepKey,
    });
  }

  private pushLog(line: JobState['logs'][number]): void {
    this.state.logs.push(line);
    if (this.state.logs.length > MAX_LOG_LINES)
      this.state.logs.splice(0, this.state.logs.length - MAX_LOG_LINES);
  }
}
