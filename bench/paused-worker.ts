/**
 * A worker in its own process, for `paused-1000`: its memory is the figure, so nothing else shares
 * the process. Started by bench/scenarios/paused.ts with `--expose-gc`; answers `status`
 * (workflows in its sticky cache) and `measure` (after a full GC: RSS, heap, CPU), and `exit`.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadPipelineConfig } from '../activities/pipeline-config';
import { createWorker } from '../src/worker-factory';
import benchApp from './workflows';

export type PausedWorkerRequest = { type: 'status' | 'measure' | 'exit' };
export type PausedWorkerReply =
  | { type: 'ready' }
  | { type: 'status'; cached: number }
  | { type: 'measure'; cached: number; rss: number; heapUsed: number; cpuMs: number };

async function main(): Promise<void> {
  const address = process.env.BENCH_ADDRESS!;
  const taskQueue = process.env.BENCH_TASK_QUEUE!;
  const bundlePath = process.env.BENCH_BUNDLE!;
  // Errors only, from the SDK's core too (a loaded machine makes it warn about slow workflow tasks).
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const worker = await createWorker({
    app: benchApp,
    // The bench's jobs do not touch the pipelines' folders.
    activities: createActivities({ client, pipelines: loadPipelineConfig() }),
    connection: nativeConnection,
    namespace: 'default',
    client,
    taskQueue,
    workflowBundlePath: bundlePath,
    // Every blocked workflow stays in the sticky cache: what it costs to keep is the figure.
    overrides: { maxCachedWorkflows: 5000 },
  });
  const running = worker.run();
  const send = (m: PausedWorkerReply): void => {
    process.send?.(m);
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: PausedWorkerRequest) => {
    const cached = worker.getStatus().numCachedWorkflows;
    if (m.type === 'status') send({ type: 'status', cached });
    else if (m.type === 'measure') {
      gc?.();
      gc?.();
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      send({
        type: 'measure',
        cached,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
    } else if (m.type === 'exit') {
      worker.shutdown();
      void running.finally(async () => {
        await nativeConnection.close();
        await connection.close();
        process.exit(0);
      });
    }
  });
  send({ type: 'ready' });
  await running;
}

main().catch((err: unknown) => {
  console.error('paused worker failed:', err);
  process.exit(1);
});
