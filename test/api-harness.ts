/**
 * The API as the API, stream and browser tests use it: a worker on a task queue of its own and the
 * Nest application over the same real client, against the run's dev server, closed in order. The
 * API logs through the project's logger into memory, and closing it fails when any line holds a
 * configured key, plain or as its sha256 (hex, base64) — a check on every test that uses it.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/app';
import exampleApp from '../workflows/app';
import { loadConfig } from '../src/config';
import type { PipelineConfig } from '../activities/pipeline-config';
import { JsonLogger, nestLogger } from '../src/logger';
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
  const lines: string[] = [];
  const app = await createApp(
    loadConfig({
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ...config,
    }),
    {
      app: exampleApp,
      client: env.client,
      logger: nestLogger(new JsonLogger('api', 'debug', (l) => lines.push(l), 'json')),
    },
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
      const leaked = leakedKeys(config.STEPWISE_API_KEYS ?? '', lines);
      if (leaked.length > 0) throw new Error(`The API logged the key of ${leaked.join(', ')}`);
    },
  };
}

/** Names of the plain keys in `name:role:key` entries that appear in `lines` in any form. */
function leakedKeys(entries: string, lines: string[]): string[] {
  const text = lines.join('\n');
  return entries
    .split(',')
    .map((e) => e.trim().split(':'))
    .filter(([, , key]) => key !== undefined && key !== 'sha256')
    .filter(([, , key]) => {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      return [key, digest.toString('hex'), digest.toString('base64')].some((f) => text.includes(f));
    })
    .map(([name]) => `"${name}"`);
}
