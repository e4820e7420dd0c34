/**
 * Webhook deliveries, the workflow side: the delivery workflow's type, its parameters, the one
 * activity it calls per attempt, and the backoff schedule both sides compute. Workflow-safe.
 *
 * A delivery is a framework workflow on a task queue of its own (by default `<jobs queue>-notifications`),
 * run by the API process's notifications worker — not a job type, never in the app's catalog, and
 * never waited for by a job.
 */
import { defineQuery } from '@temporalio/workflow';

/** The delivery workflow's type (the function exported by `./delivery`). */
export const WEBHOOK_DELIVERY_TYPE = 'stepwiseWebhookDelivery';

/** The events a subscription may ask for. */
export const NOTIFICATION_EVENTS = [
  'job.failed',
  'job.completed_with_errors',
  'job.cancelled',
  'job.completed',
  'job.stalled',
  'job.held',
  'job.eta_overrun',
  'job.awaiting_approval',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** When to give up and how long to wait between attempts. */
export interface RetrySchedule {
  /** Wait after the first failed attempt. */
  initialIntervalMs: number;
  /** Each wait is the previous one times this. */
  backoffCoefficient: number;
  /** No wait is longer than this. */
  maximumIntervalMs: number;
  /** No attempt starts later than this after the delivery began. */
  deadlineMs: number;
  /** One attempt's HTTP timeout (connect, send, answer). */
  attemptTimeoutMs: number;
}

/** What the delivery workflow is started with. Holds no secret and no URL: the activity looks both up. */
export interface DeliveryParams {
  subscriptionId: string;
  /** The Standard Webhooks `webhook-id`: the first delivery's workflow id (a replay keeps it). */
  webhookId: string;
  event: NotificationEvent | 'test';
  /** The JSON body, exactly as sent (and signed). */
  body: string;
  schedule: RetrySchedule;
}

/** One attempt, as the delivery log shows it. */
export interface DeliveryAttempt {
  attempt: number;
  /** ISO 8601. */
  at: string;
  /** The receiver's HTTP status; null when no answer came (refused address, network error, timeout). */
  statusCode: number | null;
  latencyMs: number | null;
  /** Why the attempt failed; null when delivered. */
  error: string | null;
  /** When the next attempt starts; null when this one was the last. */
  nextAttemptAt: string | null;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

/** The delivery workflow's state (its `deliveryState` query) and its result. */
export interface DeliveryState {
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
}

/** What the attempt activity is given: enough to sign and send, and to record the attempt. */
export interface AttemptInput {
  deliveryId: string;
  subscriptionId: string;
  webhookId: string;
  body: string;
  attempt: number;
  timeoutMs: number;
  /** The wait before the next attempt should this one fail retryably; null: this is the last one. */
  nextDelayMs: number | null;
}

/** The attempt's outcome: `retryable` false ends the delivery as failed whatever time is left. */
export interface AttemptResult extends DeliveryAttempt {
  ok: boolean;
  retryable: boolean;
}

/** The activities the delivery workflow calls (the notifications worker provides them). */
export interface DeliveryActivities {
  stepwiseWebhookAttempt(input: AttemptInput): Promise<AttemptResult>;
}

export const deliveryStateQuery = defineQuery<DeliveryState>('deliveryState');

/** The wait after failed attempt `attempt` (1-based): exponential, capped. */
export function backoffMs(schedule: RetrySchedule, attempt: number): number {
  const raw = schedule.initialIntervalMs * schedule.backoffCoefficient ** Math.max(0, attempt - 1);
  return Math.min(schedule.maximumIntervalMs, Math.round(raw));
}

/**
 * The wait before the attempt after `attempt`, or null when that attempt would start after the
 * deadline (`elapsedMs`: time since the delivery began).
 */
export function nextDelayMs(schedule: RetrySchedule, attempt: number, elapsedMs: number): number | null {
  const wait = backoffMs(schedule, attempt);
  return elapsedMs + wait <= schedule.deadlineMs ? wait : null;
}
