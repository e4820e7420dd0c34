/**
 * A job's state as the client (and the API) shows it: the `jobState` query, exact while the job
 * runs and after it ended by itself; for a run Temporal closed (terminated, timed out) while the
 * job was still working, that state corrected to how the run really ended (see `job-runs.ts`). A
 * closed run's state is read from a worker once and then kept ({@link ClosedStateCache}).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Client, WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isTerminal, jobStateQuery, type JobState, type JobStatus } from '../../workflows/contracts';
import { JobStatusKey } from '../../workflows/search-attributes';
import type { JobDefinition } from '../../workflows/engine/definition';
import type { StepwiseApp } from '../../workflows/engine/app';
import { temporalCall, WORKER_DEADLINE_MS } from './deadlines';
import { JobOperationError, StepwiseError } from './errors';
import { during, grpcCode } from './temporal-errors';
import {
  closedOutsideState,
  failingWorkflowTask,
  isOpenStatus,
  runEnd,
  runEvents,
  runResult,
  runStartParams,
  runTimeouts,
  stateFromDescription,
  unrunnableState,
} from './job-runs';
import { ClosedStateCache } from './closed-state-cache';
import { describeStepwiseJob } from './stepwise-job';

/** How often a read waiting for a state query looks whether the run got stuck meanwhile. */
const STUCK_CHECK_MS = 1_000;

export class JobStateReader {
  /** The same connection, with queries the server refuses (unanswered) unless the run is open. */
  private readonly openRunsOnly: Client;
  /** Final states of closed runs (a closed run's query replays its whole history on a worker). */
  private readonly closed: ClosedStateCache;

  /** The namespace of the client's jobs. */
  private readonly namespace: string;

  constructor(
    private readonly client: Client,
    private readonly app: StepwiseApp,
    closedStateCacheBytes: number,
  ) {
    this.namespace = client.options.namespace;
    this.closed = new ClosedStateCache(closedStateCacheBytes);
    this.openRunsOnly = new Client({
      connection: client.connection,
      namespace: client.options.namespace,
      dataConverter: client.options.dataConverter,
      workflow: { queryRejectCondition: 'NOT_OPEN' },
    });
  }

  /**
   * The job's state, of its latest run: the describe and the `jobState` query of a running job go
   * out together, so a read takes the longer of the two instead of both in turn. The query is one
   * the server refuses, without asking a worker, once the run closed; a closed run, an unknown id or
   * a workflow that is not a Stepwise job are answered from the describe by {@link read}, as before.
   */
  async readLatest(jobId: string): Promise<JobState> {
    const early = this.queryIfOpen(jobId);
    const { desc, def } = await describeStepwiseJob(this.client, this.app, jobId);
    if (isOpenStatus(desc.status.name)) {
      // A workflow that cannot run answers no query: say so now instead of waiting for the deadline.
      const stuck = await this.unrunnable(desc, def);
      if (stuck) return stuck;
      const waited = await this.answerOrStuck(early, desc, def);
      if ('stuck' in waited) return waited.stuck;
      const answer = waited.answer;
      if ('state' in answer) {
        if (answer.state?.runId === desc.runId && answer.state.type === def.name) return answer.state;
      } else {
        // No answer in time: asking again would only double the wait.
        const code = grpcCode(answer.error);
        if (code === GrpcStatus.DEADLINE_EXCEEDED || code === GrpcStatus.UNAVAILABLE) {
          throw new JobOperationError({ kind: 'query', jobId, deadlineMs: WORKER_DEADLINE_MS }, answer.error);
        }
      }
    }
    return this.read(desc, def);
  }

  /** The state of one run of the job, `runId` (an earlier run of a retried job, or the latest). */
  async readRun(jobId: string, runId: string): Promise<JobState> {
    const { desc, def } = await describeStepwiseJob(this.client, this.app, jobId, runId);
    return this.read(desc, def);
  }

  /**
   * The state of an open run whose workflow task keeps failing, or null when it is not stuck.
   * See {@link failingWorkflowTask}.
   */
  async unrunnable(desc: WorkflowExecutionDescription, def: JobDefinition): Promise<JobState | null> {
    const namespace = this.namespace;
    const failure = await temporalCall(this.client, 'rpc', () =>
      failingWorkflowTask(this.client, namespace, desc),
    );
    if (!failure) return null;
    const run = { workflowId: desc.workflowId, runId: desc.runId };
    const params = await temporalCall(this.client, 'rpc', () => runStartParams(this.client, namespace, run));
    return unrunnableState(desc, def, params, failure);
  }

  /**
   * Waits for the query; while it is unanswered, looks every {@link STUCK_CHECK_MS} whether the
   * run's workflow task has started failing (a job whose first task fails a moment after the
   * describe): such a run answers no query, so waiting for the query's deadline would only end in
   * a 503 that blames the worker.
   */
  private async answerOrStuck<A>(
    early: Promise<A>,
    desc: WorkflowExecutionDescription,
    def: JobDefinition,
  ): Promise<{ answer: A } | { stuck: JobState }> {
    for (;;) {
      const settled = await Promise.race([
        early.then((answer) => ({ answer })),
        delay(STUCK_CHECK_MS).then(() => null),
      ]);
      if (settled) return settled;
      const now = await temporalCall(this.client, 'rpc', () =>
        this.client.workflow.getHandle(desc.workflowId, desc.runId).describe(),
      );
      if (!isOpenStatus(now.status.name)) return { answer: await early };
      const stuck = await this.unrunnable(now, def);
      if (stuck) return { stuck };
    }
  }

  /** The `jobState` query of the latest run, refused by the server if that run is closed. */
  private async queryIfOpen(jobId: string): Promise<{ state: JobState | null } | { error: unknown }> {
    try {
      const state = await temporalCall(this.client, 'worker', () =>
        this.openRunsOnly.workflow.getHandle(jobId).query(jobStateQuery),
      );
      return { state: state && withTraceId(state) };
    } catch (error) {
      return { error };
    }
  }

  /**
   * The state of the run `desc` describes. For a run closed outside Stepwise whose query fails (its
   * history no longer replays, or no worker answers in time) the state is rebuilt from its
   * description, with every step pending — unless `exact` (a retry plans from it), where the
   * failure is the answer.
   */
  async read(
    desc: WorkflowExecutionDescription,
    def: JobDefinition,
    { exact = false } = {},
  ): Promise<JobState> {
    const run = { workflowId: desc.workflowId, runId: desc.runId };
    const query = async (): Promise<JobState> =>
      withTraceId(
        await during({ kind: 'query', jobId: desc.workflowId, deadlineMs: WORKER_DEADLINE_MS }, () =>
          temporalCall(this.client, 'worker', () =>
            this.client.workflow.getHandle(run.workflowId, run.runId).query(jobStateQuery),
          ),
        ),
      );
    if (isOpenStatus(desc.status.name)) return (await this.unrunnable(desc, def)) ?? query();
    const kept = this.closed.get(run);
    if (kept) return kept;
    // A run that completed returned its final state: that result, the state the run itself closed
    // with, never a replay's. A replay can disagree with it about times: the workflow clock of a
    // task that follows one timed out on a dead worker's sticky queue is not always the same live
    // and on replay (a fault test read a step's completion 11 s apart), so a closed job would read
    // differently once the API restarted and its cache was gone.
    if (desc.status.name === 'COMPLETED') {
      const completed = await this.completedState(run);
      if (completed) return completed;
    }
    let state: JobState | null = null;
    try {
      state = await query();
    } catch (err) {
      // Rebuilt only for a run that never wrote its final status (its attribute still says open):
      // a job that ended by itself has a real state to show, so its query's failure is the answer.
      const attribute = desc.typedSearchAttributes.get(JobStatusKey) as JobStatus | undefined;
      const endedOutside = attribute === undefined || !isTerminal(attribute);
      if (exact || !endedOutside || !canDoWithout(err)) throw err;
    }
    if (state && isTerminal(state.status)) {
      this.closed.set(run, state);
      return state;
    }
    const namespace = this.namespace;
    const [closeEvent, params] = await temporalCall(this.client, 'rpc', () =>
      Promise.all([
        runEvents(this.client, namespace, run, 'last'),
        state ? undefined : runStartParams(this.client, namespace, run),
      ]),
    );
    const base = state ?? stateFromDescription(desc, def, params);
    const end = runEnd(desc.status.name, closeEvent, runTimeouts(desc));
    const closed = closedOutsideState(base, end, desc.closeTime?.toISOString() ?? null);
    // Kept only when built on the run's real state: one rebuilt without it (no worker answered)
    // would hide the real one for good.
    if (state) this.closed.set(run, closed);
    return closed;
  }

  /**
   * A completed run's final state, from its close event (the workflow's result is its state: no
   * worker replays anything), kept in the cache; null when the run returned no job state.
   */
  private async completedState(run: { workflowId: string; runId: string }): Promise<JobState | null> {
    const result = await temporalCall(this.client, 'rpc', () =>
      runResult<JobState>(this.client, this.namespace, run),
    );
    if (!result || !isTerminal(result.status)) return null;
    const state = withTraceId(result);
    this.closed.set(run, state);
    return state;
  }

  /**
   * The final state of a closed run, as cheaply as it can be had: from the closed-state cache; for a
   * run that ended `completed` or `completed_with_errors` (its visibility status) from its close
   * event — the workflow's result is its state, so no worker replays anything; otherwise (failed,
   * cancelled, closed outside Stepwise) as {@link read} does, by the `jobState` query that a worker
   * answers by replaying the run's history. Each state read is kept in the cache.
   */
  async readClosedRun(
    run: { workflowId: string; runId: string },
    status: JobStatus,
  ): Promise<{ state: JobState; via: ClosedStateSource }> {
    const kept = this.closed.get(run);
    if (kept) return { state: kept, via: 'cache' };
    if (status === 'completed' || status === 'completed_with_errors') {
      const state = await this.completedState(run);
      if (state) return { state, via: 'closeEvent' };
    }
    const desc = await temporalCall(this.client, 'rpc', () =>
      this.client.workflow.getHandle(run.workflowId, run.runId).describe(),
    );
    const def = this.app.find(desc.type);
    if (!def) throw new Error(`Run ${run.runId} of "${run.workflowId}" is not a job of this app`);
    return { state: await this.read(desc, def), via: 'query' };
  }
}

/**
 * A state with `traceId`: the states of runs recorded before it existed (a job that completed
 * earlier, one still running on an older worker) have none, and read as untraced.
 */
function withTraceId(state: JobState): JobState {
  return (state as Partial<JobState>).traceId === undefined ? { ...state, traceId: null } : state;
}

/** How {@link JobStateReader.readClosedRun} got a state: what it cost. */
export type ClosedStateSource = 'cache' | 'closeEvent' | 'query';

/** A closed run's query failure the state can be rebuilt without; not a vanished run or Temporal being down. */
function canDoWithout(err: unknown): boolean {
  const cause = err instanceof JobOperationError || err instanceof StepwiseError ? err.cause : err;
  if (cause instanceof WorkflowNotFoundError) return false;
  const code = grpcCode(cause);
  return code !== GrpcStatus.UNAVAILABLE && code !== GrpcStatus.NOT_FOUND;
}
