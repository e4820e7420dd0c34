/**
 * The webhook delivery workflow: one activity per attempt (an HTTP POST with a timeout), waits with
 * exponential backoff between failed attempts, a deadline, and its attempts in its own state (the
 * `deliveryState` query; also the result). It ends `delivered` or `failed`; a job never waits for it.
 *
 * History cost: per attempt one activity (3 events) and one timer (2 events); the deadline and the
 * backoff bound the number of attempts (24 h with the default schedule: under 40).
 *
 * This module is the notifications worker's workflow bundle entry.
 */
import { ActivityFailure, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import {
  deliveryStateQuery,
  nextDelayMs,
  type DeliveryActivities,
  type DeliveryParams,
  type DeliveryState,
} from './contracts';

/** Delivers one event to one subscription; see the module comment. */
export async function stepwiseWebhookDelivery(params: DeliveryParams): Promise<DeliveryState> {
  const state: DeliveryState = { status: 'pending', attempts: [] };
  setHandler(deliveryStateQuery, () => state, { description: 'The attempts so far and the status' });
  const { schedule } = params;
  // The workflow retries, not Temporal: each attempt is recorded, and one that the worker lost
  // (a timeout) counts as a failed attempt like any other.
  const { stepwiseWebhookAttempt } = proxyActivities<DeliveryActivities>({
    startToCloseTimeout: schedule.attemptTimeoutMs + 15_000,
    retry: { maximumAttempts: 1 },
  });
  const began = workflowInfo().startTime.getTime();
  for (let attempt = 1; ; attempt++) {
    const next = nextDelayMs(schedule, attempt, Date.now() - began);
    try {
      const r = await stepwiseWebhookAttempt({
        deliveryId: workflowInfo().workflowId,
        subscriptionId: params.subscriptionId,
        webhookId: params.webhookId,
        body: params.body,
        attempt,
        timeoutMs: schedule.attemptTimeoutMs,
        nextDelayMs: next,
      });
      const { ok, retryable, ...recorded } = r;
      state.attempts.push(recorded);
      if (ok) {
        state.status = 'delivered';
        return state;
      }
      if (!retryable || next === null) break;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      state.attempts.push({
        attempt,
        at: new Date().toISOString(),
        statusCode: null,
        latencyMs: null,
        error: `the attempt did not report back (${err.cause?.message ?? err.message})`,
        nextAttemptAt: next === null ? null : new Date(Date.now() + next).toISOString(),
      });
      if (next === null) break;
    }
    state.status = 'retrying';
    await sleep(next);
  }
  state.status = 'failed';
  return state;
}
