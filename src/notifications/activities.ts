/**
 * The delivery workflow's attempt activity. It runs in the API process (its notifications
 * worker), which owns the store: the URL and the secrets are read here at send time, so neither
 * is ever part of a workflow's history.
 */
import type {
  AttemptInput,
  AttemptResult,
  DeliveryActivities,
} from '../../workflows/notifications/contracts';
import { webhookHeaders } from './signing';
import { postWebhook, type Resolver } from './send';
import { signingSecrets, type NotificationStore } from './store';

export function createDeliveryActivities(
  store: NotificationStore,
  opts: { allowPrivate: boolean; resolver?: Resolver },
): DeliveryActivities {
  return {
    async stepwiseWebhookAttempt(input: AttemptInput): Promise<AttemptResult> {
      const at = new Date().toISOString();
      const sub = store.get(input.subscriptionId);
      const refuse = (error: string): AttemptResult => ({
        attempt: input.attempt,
        at,
        statusCode: null,
        latencyMs: null,
        error,
        nextAttemptAt: null,
        ok: false,
        retryable: false,
      });
      let result: AttemptResult;
      if (!sub) {
        result = refuse('the subscription was deleted');
      } else if (!sub.enabled) {
        result = refuse('the subscription is disabled');
      } else {
        const headers = webhookHeaders(
          signingSecrets(sub),
          input.webhookId,
          Math.floor(Date.now() / 1000),
          input.body,
        );
        const r = await postWebhook(new URL(sub.url), input.body, headers, {
          timeoutMs: input.timeoutMs,
          allowPrivate: opts.allowPrivate,
          resolver: opts.resolver,
        });
        const next =
          !r.ok && r.retryable && input.nextDelayMs !== null
            ? new Date(Date.now() + input.nextDelayMs).toISOString()
            : null;
        result = {
          attempt: input.attempt,
          at,
          statusCode: r.statusCode,
          latencyMs: r.latencyMs,
          error: r.error,
          nextAttemptAt: next,
          ok: r.ok,
          retryable: r.retryable,
        };
      }
      const { ok, retryable: _r, ...attempt } = result;
      store.recordAttempt(
        input.deliveryId,
        attempt,
        ok ? 'delivered' : attempt.nextAttemptAt ? 'retrying' : 'failed',
      );
      return result;
    },
  };
}
