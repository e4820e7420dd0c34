/**
 * One run of a job: its state and the runtime facts the scheduler, the executors and the control
 * handlers share (results so far, running scopes and activities, failure, early end). Every change
 * to the state goes through {@link Job.changed}, which recomputes what is derived and publishes it.
 */
import * as wf from '@temporalio/workflow';
import type {
  JobDeployment,
  JobParams,
  JobState,
  JobStatus,
  Json,
  LogLevel,
  StepError,
  StepState,
} from '../contracts';
import type { JobDefinition, NormalizedStep } from './definition';
import { JobMetrics } from './metrics';
import { Publisher } from './publication';
import { closeState, initialJobState, nowIso, pushLog, refreshDerived, stepStateOf } from './state';
import type { ActivityJobRef } from './step-io';
import { clampLimits, type JobLimits } from '../limits';
import type { JobConcurrency } from './limiter-contracts';
import { JobStartedByKey } from '../search-attributes';
import { jobTraceId } from './trace-context';

/** What an operator decided for a held step. */
export interface HoldDecision {
  action: 'retry_step' | 'skip_step' | 'fail_step';
  by: string | null;
  reason: string | null;
}

/** A decision on an approval step, as the `decideApproval` update carried it. */
export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  by: string | null;
  comment: string | null;
}

export class Job {
  readonly state: JobState;
  /** Results of the completed steps by key (carried ones included): what step functions see. */
  readonly results: Record<string, Json> = {};
  /** The scope all steps run in; cancelling the job cancels it. */
  readonly stepsScope = new wf.CancellationScope();
  /** Each running step's own scope, so a failing step can stop the others. */
  readonly stepScopes = new Map<string, wf.CancellationScope>();
  /** Activity attempts in flight, as `stepKey#attempt`: a pausing job is `paused` once none run. */
  readonly runningActivities = new Set<string>();
  /** The workflow's root scope: Temporal cancels it when a cancellation request for this run arrives. */
  readonly rootScope = wf.CancellationScope.current();
  /** The step whose failure fails the job (the first one with `onFailure: 'fail'`). */
  failure: { step: NormalizedStep<unknown>; error: StepError } | null = null;
  /** Operators' decisions on held steps, by step key, until the step takes them. */
  readonly holdDecisions = new Map<string, HoldDecision>();
  /** Decisions on awaiting approval steps, by step key, until the step takes them. */
  readonly approvalDecisions = new Map<string, ApprovalDecision>();
  /** Bumped whenever a hold is decided: the scheduler starts what waited for it. */
  holdVersion = 0;
  /** Accepted progress reports per step key, and when the last came: what the stall watch looks at. */
  readonly reports = new Map<string, { count: number; at: string }>();
  /** Set by a step's `endJob`: the job completes early with this message. */
  endMessage: string | null = null;
  /** The limit whose limiter this run asked for a slot: it gives the slot back when it closes. */
  queueEntered: JobConcurrency | null = null;
  /** Set when the activity that asks Temporal to cancel this run gave up. */
  selfCancelError: string | null = null;
  /**
   * The budgets this run enforces (the API's, passed on to sub-jobs; else the defaults), clamped
   * into `LIMIT_BOUNDS`: a forged start cannot lift them past what any configuration may set.
   */
  readonly limits: JobLimits;
  private readonly publisher: Publisher;
  private readonly metrics: JobMetrics;

  constructor(
    readonly def: JobDefinition,
    readonly params: JobParams,
  ) {
    this.limits = clampLimits(params.limits);
    const info = wf.workflowInfo();
    // Set at start by the client (a search attribute: reading it adds nothing to the history).
    const startedBy = info.typedSearchAttributes.get(JobStartedByKey) ?? null;
    // Temporal's task-queue priority (1 … 5; 0 or absent: the default, 3).
    const priorityKey = info.priority?.priorityKey;
    const priority =
      typeof priorityKey === 'number' && priorityKey >= 1 && priorityKey <= 5 ? priorityKey : 3;
    // Read from the start headers by the tracing interceptor (workflows/tracing.ts): no command.
    const traceId = jobTraceId();
    this.state = initialJobState(def, params, { ...info, startedBy, priority, traceId });
    this.state.deployment = deploymentOf(def);
    this.publisher = new Publisher(def.name, params.parent);
    this.metrics = new JobMetrics(def.name);
  }

  get jobId(): string {
    return this.state.jobId;
  }

  isClosed(): boolean {
    return this.state.closedAt !== null;
  }

  stepState(key: string): StepState {
    return stepStateOf(this.state, key);
  }

  /** Recomputes derived fields after any change and publishes them where they are visible. */
  changed(): void {
    if (this.isClosed()) return;
    const st = this.state;
    st.deployment = deploymentOf(this.def);
    refreshDerived(st, this.def, { activitiesRunning: this.runningActivities.size > 0 });
    this.publisher.publish(st);
    this.publisher.reportToParent(st);
    this.metrics.observe(st);
  }

  /** Closes the state with its final status and message, logs it and publishes it. */
  finish(status: JobStatus, message: string): void {
    this.state.deployment = deploymentOf(this.def);
    closeState(this.state, this.def, status, message, this.failure?.step ?? null);
    this.log(status === 'failed' ? 'error' : 'info', null, `Job ${status}: ${message}`);
    this.publisher.publish(this.state);
    this.metrics.observe(this.state);
  }

  /** A line in the job's log ring and in the worker's log, with the job's context. */
  log(level: LogLevel, step: number | null, message: string): void {
    pushLog(this.state, { at: nowIso(), level, step, message });
    wf.log[level](message, {
      jobId: this.state.jobId,
      jobType: this.def.name,
      parentJobId: this.state.parentJobId,
      step: step ? this.def.steps[step - 1].key : null,
    });
  }

  /** Who is calling, for the activities this job runs. */
  activityRef(stepKey: string, stepIndex: number, attempt = 1, reportProgress = false): ActivityJobRef {
    return {
      jobId: this.state.jobId,
      jobType: this.def.name,
      parentJobId: this.state.parentJobId,
      stepKey,
      stepIndex,
      attempt,
      reportProgress,
    };
  }
}

/**
 * The worker deployment version that runs this workflow task, and the type's versioning behaviour;
 * null on an unversioned worker. Read from the task's info: it adds nothing to the history, and it is
 * the same on replay (the version is recorded with each completed workflow task).
 */
export function deploymentOf(def: JobDefinition): JobDeployment | null {
  const version = wf.workflowInfo().currentDeploymentVersion;
  if (!version?.deploymentName) return null;
  return { name: version.deploymentName, buildId: version.buildId, behavior: def.versioning };
}
