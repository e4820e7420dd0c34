/** Connection options for the client and the worker, from configuration. */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ClientInterceptors,
  type ConnectionOptions,
} from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConnectionConfig } from './config';

/**
 * The client's connection options from the configuration (the address, TLS with the files already
 * read, the API key and gRPC metadata that `@temporalio/envconfig` resolved).
 */
export function clientConnectionOptions(cfg: TemporalConnectionConfig): ConnectionOptions {
  return {
    address: cfg.address,
    tls: cfg.tls,
    apiKey: cfg.apiKey,
    ...(cfg.metadata ? { metadata: { ...cfg.metadata } } : {}),
    connectTimeout: 10_000,
  };
}

/** As {@link clientConnectionOptions}, for a worker's `NativeConnection`. */
export function workerConnectionOptions(cfg: TemporalConnectionConfig): NativeConnectionOptions {
  return {
    address: cfg.address,
    tls: cfg.tls,
    apiKey: cfg.apiKey,
    ...(cfg.metadata ? { metadata: { ...cfg.metadata } } : {}),
  };
}

/** A client on `cfg`'s namespace; `interceptors`: e.g. the tracing ones (`Tracing.clientInterceptors`). */
export async function connectClient(
  cfg: TemporalConnectionConfig,
  interceptors?: ClientInterceptors,
): Promise<Client> {
  const connection = await connectTemporal(clientConnectionOptions(cfg));
  return new Client({ connection, namespace: cfg.namespace, ...(interceptors ? { interceptors } : {}) });
}

/**
 * The longest a connection's `close()` waits for its calls in flight: the client's retries of an
 * unreachable server (10 attempts, backoff up to 5 s) end within about 20 s.
 */
export const CLOSE_WAIT_MS = 30_000;

/**
 * Counts a connection's calls in flight, its client's retries included (it sits outside the retry
 * interceptor, so one call is one count from its start to its final status).
 */
export class CallTracker {
  private active = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** The gRPC interceptor that counts; first in the connection's list. */
  readonly interceptor: Interceptor = (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) => {
        this.active++;
        let ended = false;
        next(metadata, {
          onReceiveStatus: (status, nextStatus) => {
            if (!ended) {
              ended = true;
              this.active--;
              if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
            }
            nextStatus(status);
          },
        });
      },
    });

  /** Calls started and not yet ended. */
  get inFlight(): number {
    return this.active;
  }

  /** Resolves `true` once no call is in flight, or `false` after `maxWaitMs`. */
  async idle(maxWaitMs: number): Promise<boolean> {
    if (this.active === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), maxWaitMs);
    });
    try {
      return await Promise.race([idle, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `options` with a {@link CallTracker} in front of the client's default retry interceptor (extra
 * interceptors of `options` come after both).
 */
function tracked(options: ConnectionOptions): { options: ConnectionOptions; tracker: CallTracker } {
  const tracker = new CallTracker();
  const interceptors = [
    tracker.interceptor,
    makeGrpcRetryInterceptor(defaultGrpcRetryOptions()),
    ...(options.interceptors ?? []),
  ];
  return { options: { ...options, interceptors }, tracker };
}

/**
 * Makes `connection.close()` wait (up to `maxWaitMs`) for the calls in flight first. The client
 * retries a failed call from a timer, and a retry that fires after the channel closed throws
 * "Channel has been shut down" out of that timer, an uncaught exception that ends the process:
 * closing an API or a worker while Temporal was unreachable crashed it on the way out.
 */
function closeWhenIdle(connection: Connection, tracker: CallTracker, maxWaitMs: number): Connection {
  const close = connection.close.bind(connection);
  connection.close = async (): Promise<void> => {
    await tracker.idle(maxWaitMs);
    await close();
  };
  return connection;
}

/**
 * `Connection.connect` whose `close()` waits for the calls in flight (retries included) before it
 * closes the channel; see {@link CLOSE_WAIT_MS}.
 */
export async function connectTemporal(
  options: ConnectionOptions,
  maxWaitMs = CLOSE_WAIT_MS,
): Promise<Connection & { readonly calls: CallTracker }> {
  const t = tracked(options);
  const connection = closeWhenIdle(await Connection.connect(t.options), t.tracker, maxWaitMs);
  return Object.assign(connection, { calls: t.tracker });
}

/** As {@link connectTemporal}, connecting at the first call (`Connection.lazy`). */
export function lazyTemporal(
  options: ConnectionOptions,
  maxWaitMs = CLOSE_WAIT_MS,
): Connection & { readonly calls: CallTracker } {
  const t = tracked(options);
  const connection = closeWhenIdle(Connection.lazy(t.options), t.tracker, maxWaitMs);
  return Object.assign(connection, { calls: t.tracker });
}
