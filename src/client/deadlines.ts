/**
 * Every Temporal call the client (and so the API) makes runs under a deadline from here. Without
 * one, a call to an unreachable server rides out gRPC's retries and a query or update that no
 * worker answers waits for the server's own timeout, and the caller (an HTTP request) hangs with
 * it. A call that misses its deadline fails with gRPC `DEADLINE_EXCEEDED`, which the API's
 * exception filter answers with 503.
 */
import type { Client } from '@temporalio/client';

/** A call the Temporal server answers by itself: describe, list, count, history, start, signal, terminate. */
export const RPC_DEADLINE_MS = 5_000;
/** A call a worker has to answer: a query (on a closed run it replays the history) or an update. */
export const WORKER_DEADLINE_MS = 15_000;

/** `rpc` ({@link RPC_DEADLINE_MS}), `worker` ({@link WORKER_DEADLINE_MS}) or milliseconds. */
export type Deadline = 'rpc' | 'worker' | number;

export const deadlineMs = (d: Deadline): number =>
  d === 'rpc' ? RPC_DEADLINE_MS : d === 'worker' ? WORKER_DEADLINE_MS : d;

/**
 * Runs `call` — one or more Temporal calls through `client` — with every gRPC request it makes
 * bounded by `deadline` from now; past it a call fails with gRPC `DEADLINE_EXCEEDED`. (The client
 * retries an unreachable server with backoff and notices the deadline at its next attempt, so the
 * failure can come up to about a second and a half late.) A nested `temporalCall` sets its own.
 */
export function temporalCall<T>(client: Client, deadline: Deadline, call: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + deadlineMs(deadline), call);
}

/**
 * A limit on calls in flight at once (e.g. per request): `limit(fn)` runs `fn` when fewer than
 * `max` calls it started are still running. Wrap single calls, never a call that waits on others
 * through the same limiter (that could wait forever).
 */
export function concurrencyLimit(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finishing call hands its slot to the next waiter directly, so no newcomer can take it meanwhile.
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** What {@link untilAborted} returns when its signal aborts first. */
export const ABORTED = Symbol('aborted');

/** `promise`'s value, or {@link ABORTED} as soon as `signal` aborts (the promise is left to settle alone). */
export async function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | typeof ABORTED> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return ABORTED;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    promise.catch(() => undefined);
  }
}
