/**
 * The limiter (`stepwiseLimiter`): one workflow per job type and concurrency key, the durable
 * bookkeeping of a concurrency limit. It holds who runs and who waits; it grants a slot to the
 * first waiter (by priority, then arrival) whenever one is free; it takes back the slot of a job
 * that closed without giving it back (terminated, timed out, or a signal that never came) through
 * its watch activity, which asks Temporal which holders have closed every {@link REAP_EVERY_MS}
 * while a job waits for a slot and sends their release signals; it continues as new before its
 * history grows long, and ends once it has been idle for {@link IDLE_MS}.
 *
 * Workflow code: deterministic, imports only the workflow SDK and the engine's contracts.
 */
import * as wf from '@temporalio/workflow';
import { MAX_CONCURRENCY_LIMIT } from './definition';
import {
  acquireSlotSignal,
  describeLimit,
  limiterIdleSignal,
  limiterStateQuery,
  limiterWatchQueue,
  MAX_QUEUED_PER_LIMITER,
  releaseSlotSignal,
  slotAnswerSignal,
  type LimiterActivities,
  type LimiterParams,
  type LimiterState,
  type SlotAnswer,
  type SlotRelease,
  type SlotWaiter,
} from './limiter-contracts';

/** How often the holders are checked while a job waits and no slot is free. */
export const REAP_EVERY_MS = 5_000;
/** The watch's heartbeat timeout: a watch on a worker that died is run again after this. */
const WATCH_HEARTBEAT_MS = 30_000;
/** How long a limiter with nobody running or waiting lives on before it ends (its watch says when). */
export const IDLE_MS = 5 * 60_000;
/** History length past which the limiter continues as new (far below Temporal's 51,200). */
const CONTINUE_AFTER_EVENTS = 4_000;

const same = (a: SlotRelease, b: SlotRelease): boolean => a.jobId === b.jobId && a.runId === b.runId;

/** Waiter order: priority (1 first), then when the job started, then who asked first. */
function before(a: SlotWaiter, b: SlotWaiter): number {
  // ISO times compare as plain strings (never localeCompare: its order is the worker's ICU data's).
  const at = a.arrivedAt < b.arrivedAt ? -1 : a.arrivedAt > b.arrivedAt ? 1 : 0;
  return a.priority - b.priority || at || a.seq - b.seq;
}

const clampLimit = (n: unknown): number =>
  typeof n === 'number' && Number.isFinite(n)
    ? Math.min(MAX_CONCURRENCY_LIMIT, Math.max(1, Math.floor(n)))
    : 1;

export async function limiterWorkflow(params: LimiterParams): Promise<void> {
  const id = wf.workflowInfo().workflowId;
  const st: LimiterState = params.carried ?? {
    jobType: params.jobType,
    key: params.key,
    limit: clampLimit(params.limit),
    running: [],
    queued: [],
    seq: 0,
  };
  /** Answers not yet sent (a refusal, or a repeated grant for a request sent again). */
  const outbox: { to: SlotRelease; answer: SlotAnswer }[] = [];
  let sending = 0;

  wf.setHandler(limiterStateQuery, () => st);
  wf.setHandler(acquireSlotSignal, (req) => {
    st.limit = clampLimit(req.limit);
    const to = { jobId: req.jobId, runId: req.runId };
    // The job's activity may deliver its request twice: answer again, never queue twice.
    if (st.running.some((h) => same(h, to))) {
      outbox.push({ to, answer: { outcome: 'granted', limiterId: id } });
      return;
    }
    if (st.queued.some((w) => same(w, to))) return;
    if (st.queued.length >= MAX_QUEUED_PER_LIMITER) {
      const reason = `${st.queued.length} jobs already wait for a slot of ${describeLimit(st.jobType, st.key)} (at most ${MAX_QUEUED_PER_LIMITER})`;
      outbox.push({ to, answer: { outcome: 'refused', limiterId: id, reason } });
      return;
    }
    const waiter: SlotWaiter = {
      ...to,
      priority: Number.isInteger(req.priority) ? req.priority : 3,
      arrivedAt: req.arrivedAt,
      seq: ++st.seq,
    };
    const at = st.queued.findIndex((w) => before(waiter, w) < 0);
    st.queued.splice(at < 0 ? st.queued.length : at, 0, waiter);
  });
  /** Set by the watch's idle signal: nobody has run or waited for {@link IDLE_MS}. */
  let idleNoticed = false;
  wf.setHandler(limiterIdleSignal, () => {
    idleNoticed = true;
  });
  wf.setHandler(releaseSlotSignal, (rel) => {
    st.running = st.running.filter((h) => !same(h, rel));
    st.queued = st.queued.filter((w) => !same(w, rel));
  });

  // The watch (`stepwiseLimiterWatch`): one activity for the whole run, started here and never
  // awaited. While jobs wait and every slot is held it asks Temporal every few seconds which
  // holders have closed, and gives their slots back with the same release signal a job sends. So
  // the limiter reacts to signals only: no timer of its own races them. (A timer here failed to
  // replay after a worker was killed: the task after its sticky timeout carried a fired timer and
  // release signals, applied in one order by the worker and in the other by a replay.) It outlives
  // a worker that dies (heartbeats, retried for ever; retries add no events) and ends once this run
  // has closed or continued as new. It runs on a queue of its own (see limiterWatchQueue), so the
  // watches never take the slots the jobs' steps run in.
  const watch = wf.proxyActivities<LimiterActivities>({
    taskQueue: limiterWatchQueue(wf.workflowInfo().taskQueue),
    startToCloseTimeout: '3650 days',
    heartbeatTimeout: WATCH_HEARTBEAT_MS,
    // No maximum: attempts until the run closes (a retry adds no event to the history).
    retry: { initialInterval: 1000, maximumInterval: 30_000 },
  });
  watch
    .stepwiseLimiterWatch({ everyMs: REAP_EVERY_MS, idleMs: IDLE_MS })
    .catch((err: unknown) => wf.log.warn('The limiter watch ended with an error', { error: String(err) }));

  const send = (to: SlotRelease, answer: SlotAnswer): void => {
    sending++;
    wf.getExternalWorkflowHandle(to.jobId, to.runId)
      .signal(slotAnswerSignal, answer)
      .catch(() => {
        // The job has closed (or never was): its slot is free.
        st.running = st.running.filter((h) => !same(h, to));
      })
      .finally(() => sending--);
  };
  const grantable = (): boolean => st.queued.length > 0 && st.running.length < st.limit;
  const idle = (): boolean => st.running.length === 0 && st.queued.length === 0;
  for (;;) {
    while (outbox.length > 0) {
      const { to, answer } = outbox.shift()!;
      send(to, answer);
    }
    while (grantable()) {
      const w = st.queued.shift()!;
      st.running.push({
        jobId: w.jobId,
        runId: w.runId,
        priority: w.priority,
        since: new Date().toISOString(),
      });
      send(w, { outcome: 'granted', limiterId: id });
    }
    const info = wf.workflowInfo();
    if (info.historyLength > CONTINUE_AFTER_EVENTS || info.continueAsNewSuggested) {
      await wf.condition(() => sending === 0 && wf.allHandlersFinished());
      if (outbox.length === 0 && !grantable()) {
        await wf.continueAsNew<typeof limiterWorkflow>({ ...params, carried: st });
      }
      continue;
    }
    if (idle()) {
      // Nobody runs or waits: end once the watch says it has been so for IDLE_MS (a signal, so
      // it is ordered with the requests: one that came after it keeps the limiter going).
      idleNoticed = false;
      await wf.condition(() => !idle() || outbox.length > 0 || idleNoticed);
      if (!idleNoticed || !idle() || outbox.length > 0) continue;
      await wf.condition(() => sending === 0 && wf.allHandlersFinished());
      if (idle() && outbox.length === 0) return;
      continue;
    }
    await wf.condition(() => outbox.length > 0 || grantable() || idle());
  }
}
