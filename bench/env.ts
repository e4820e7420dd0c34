/**
 * The bench's shared environment: one dev server, one worker on the bench bundle, the bench's own
 * Temporal client, and the Stepwise API in this process (`createApp`, real HTTP on a loopback
 * port, API keys on) whose own Temporal connection counts the calls it makes.
 */
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
} from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { EventHub } from '../src/api/events/event-hub.service';
import { createApp } from '../src/app';
import type { StepwiseClient } from '../src/client/client';
import benchApp from './workflows';
import { loadConfig } from '../src/config';

/** A gRPC interceptor of the grpc-js version the Temporal client uses. */
type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

export interface Options {
  /** Repetitions per scenario; each scenario has its own default. */
  reps: number | null;
  scenarios: string[];
  /** fanout-10k's sub-job count (2,000 by default; `--fanout=10000` for the full size). */
  fanout: number;
}

/** The API in this process, reached over HTTP, with the Temporal calls its connection made. */
export interface ApiHandle {
  base: string;
  /** Authorization header of the API's one key (an operator's unless it was started with another role). */
  headers: Record<string, string>;
  app: NestFastifyApplication;
  hub: EventHub;
  /** gRPC calls by method name since the API started. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

export interface BenchEnv {
  address: string;
  client: Client;
  /** The bench app's jobs on {@link taskQueue}: how scenarios start Stepwise jobs and wait for them. */
  jobs: StepwiseClient<typeof benchApp>;
  worker: Worker;
  /** The task queue the bench worker polls. */
  taskQueue: string;
  /** Prebuilt bench bundle (for the paused-1000 worker processes). */
  bundlePath: string;
  tmp: string;
  /** The API on the worker's task queue. */
  api: ApiHandle;
  /** Another API instance on `taskQueue`, for a scenario that needs its own settings (or an admin key). */
  startApi(taskQueue: string, env?: Record<string, string>, role?: 'operator' | 'admin'): Promise<ApiHandle>;
  /** A unique id prefix for this bench run. */
  runId: string;
  log(msg: string): void;
}

export const STREAM_POLL_MS = 1000;

export async function startApi(
  address: string,
  tmp: string,
  taskQueue: string,
  extraEnv: Record<string, string> = {},
  role: 'operator' | 'admin' = 'operator',
): Promise<ApiHandle> {
  const calls = new Map<string, number>();
  const counter: Interceptor = (options, nextCall) => {
    const method = options.method_definition.path.split('/').pop() ?? '?';
    calls.set(method, (calls.get(method) ?? 0) + 1);
    // A pass-through: the call nextCall builds is the intercepting call grpc-js expects here.
    return nextCall(options) as ReturnType<Interceptor>;
  };
  const connection = await Connection.connect({
    address,
    interceptors: [counter, makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
  });
  const client = new Client({ connection, namespace: 'default' });
  const key = `bench-${randomUUID()}`;
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_API_KEYS: `bench:${role}:${key}`,
      // A real file, as in production (the audit trail is written on every mutating request).
      STEPWISE_AUDIT_DB_PATH: join(tmp, `audit-${randomUUID()}.sqlite`),
      // The bench is one caller sending far more than an operator would; the limiter still runs.
      STEPWISE_RATE_LIMIT_PER_MINUTE: '1000000',
      STEPWISE_RATE_LIMIT_BURST: '1000000',
      // stream-50 opens 50 streams with the one bench key (the default allows 20 per caller).
      STEPWISE_STREAM_MAX_PER_CALLER: '1000',
      STEPWISE_STREAM_POLL_MS: String(STREAM_POLL_MS),
      ...extraEnv,
    }),
    { app: benchApp, client },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    headers: { authorization: `Bearer ${key}` },
    app,
    hub: app.get(EventHub),
    calls,
    close: async () => {
      await app.close();
      await connection.close();
    },
  };
}

export const totalCalls = (calls: Map<string, number>, methods?: string[]): number =>
  [...calls.entries()].filter(([m]) => !methods || methods.includes(m)).reduce((a, [, n]) => a + n, 0);
