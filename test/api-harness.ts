/**
 * The API as the API, stream and browser tests use it: a worker on a task queue of its own and the
 * Nest application over the same real client, against the run's dev server, closed in order.
 */
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import type { PipelineConfig } from '../activities/pipeline-config';
import { connectTestEnv, createTestWorker, testPipelineConfig, type TestEnv } from './helpers';

export interface TestApi {
  env: TestEnv;
  /** The worker's pipeline folders (import root, index, work, datasets). */
  pipelines: PipelineConfig;
  app: NestFastifyApplication;
  taskQueue: string;
  /** `http://127.0.0.1:<port>` when started with `listen`, else null (use `app.inject`). */
  base: string | null;
  close(): Promise<void>;
}

/** `config`: environment on top of an in-memory audit trail, the dev server and the worker's queue. */
export async function startTestApi(
  config: NodeJS.ProcessEnv = {},
  { listen = false, pipelines = testPipelineConfig() }: { listen?: boolean; pipelines?: PipelineConfig } = {},
): Promise<TestApi> {
  const env = await connectTestEnv();
  const { worker, taskQueue } = await createTestWorker(env, { pipelines });
  const running = worker.run();
  const app = await createApp(
    loadConfig({
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ...config,
    }),
    { client: env.client },
  );
  let base: string | null = null;
  if (listen) {
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }
  return {
    env,
    pipelines,
    app,
    taskQueue,
    base,
    async close() {
      await app.close();
      worker.shutdown();
      await running;
      await env.close();
    },
  };
}
