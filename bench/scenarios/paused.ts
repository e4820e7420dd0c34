/**
 * `paused-1000`: what 1,000 paused jobs cost a worker to keep, against 1,000 raw workflows blocked
 * on a condition. Each side runs in a fresh worker process (bench/paused-worker.ts) on its own
 * task queue: RSS after a full GC before and after the workflows are in its sticky cache, per
 * workflow; and the worker's CPU time to bring them there. The jobs are `example` jobs started with
 * the `pause` signal (signal-with-start), so they pause before their first step.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { jobStateQuery, pauseSignal, type JobParams } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import { goals, metric, pairs, pool, waitUntil, type ScenarioResult, type SideName } from '../lib';
import type { PausedWorkerReply, PausedWorkerRequest } from '../paused-worker';

class WorkerProcess {
  private waiters: { resolve: (m: PausedWorkerReply) => void; reject: (e: Error) => void }[] = [];
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: PausedWorkerReply) => this.waiters.shift()?.resolve(m));
    child.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`paused worker exited (${code})`));
    });
  }

  static async start(env: BenchEnv, taskQueue: string): Promise<WorkerProcess> {
    const child = fork(require.resolve('../paused-worker'), [], {
      execArgv: ['--expose-gc'],
      env: {
        ...process.env,
        BENCH_ADDRESS: env.address,
        BENCH_TASK_QUEUE: taskQueue,
        BENCH_BUNDLE: env.bundlePath,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w = new WorkerProcess(child);
    const ready = await w.next();
    if (ready.type !== 'ready') throw new Error('paused worker did not start');
    return w;
  }

  private next(): Promise<PausedWorkerReply> {
    if (this.child.exitCode !== null) return Promise.reject(new Error('paused worker exited'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async ask<T extends PausedWorkerReply['type']>(
    type: PausedWorkerRequest['type'] & T,
  ): Promise<Extract<PausedWorkerReply, { type: T }>> {
    const reply = this.next();
    this.child.send({ type } satisfies PausedWorkerRequest);
    return (await reply) as Extract<PausedWorkerReply, { type: T }>;
  }

  async exit(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' } satisfies PausedWorkerRequest);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (this.child.exitCode === null) this.child.kill();
  }
}

interface PausedRun {
  rssPerJobKiB: number;
  cpuPerJobMs: number;
  events: number;
}

async function startBlocked(
  env: BenchEnv,
  side: SideName,
  taskQueue: string,
  workflowId: string,
): Promise<void> {
  if (side === 'stepwise') {
    const params: JobParams = { input: { durationMs: 0 } };
    await env.client.workflow.signalWithStart('example', {
      taskQueue,
      workflowId,
      args: [params],
      signal: pauseSignal,
      signalArgs: [{ by: 'bench', reason: 'paused-1000' }],
      typedSearchAttributes: initialJobAttributes('example'),
    });
  } else {
    await env.client.workflow.start('baselineHold', { taskQueue, workflowId, args: [] });
  }
}

async function pausedRun(env: BenchEnv, side: SideName, n: number, id: string): Promise<PausedRun> {
  const taskQueue = `${id}-queue`;
  const w = await WorkerProcess.start(env, taskQueue);
  try {
    // One first, so the bundle is loaded and the cache holds one before the baseline is taken.
    await startBlocked(env, side, taskQueue, `${id}-first`);
    await waitUntil('the first workflow cached', async () =>
      (await w.ask('status')).cached >= 1 ? true : undefined,
    );
    const before = await w.ask('measure');
    const ids = Array.from({ length: n }, (_, i) => `${id}-${i}`);
    await pool(ids, 32, (wid) => startBlocked(env, side, taskQueue, wid));
    await waitUntil(
      `${n} workflows cached`,
      async () => ((await w.ask('status')).cached >= n + 1 ? true : undefined),
      { everyMs: 250, timeoutMs: 300_000 },
    );
    const after = await w.ask('measure');
    const last = env.client.workflow.getHandle(ids[n - 1]);
    if (side === 'stepwise') {
      const s = await last.query(jobStateQuery);
      if (s.status !== 'paused') throw new Error(`paused-1000: ${ids[n - 1]} is ${s.status}, not paused`);
    }
    const events = (await last.describe()).historyLength;
    return {
      rssPerJobKiB: (after.rss - before.rss) / n / 1024,
      cpuPerJobMs: (after.cpuMs - before.cpuMs) / n,
      events,
    };
  } finally {
    await w.exit();
  }
}

export async function pausedScenario(env: BenchEnv, n: number, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const runs = await pairs(reps, (side, rep) =>
    pausedRun(
      env,
      side,
      rep === 'warmup' ? Math.max(10, Math.floor(n / 10)) : n,
      `${env.runId}-paused-${rep}-${side}`,
    ),
  );
  const pick = (k: keyof PausedRun) =>
    [runs.baseline.map((r) => r[k]), runs.stepwise.map((r) => r[k])] as const;
  return {
    name: n === 1000 ? 'paused-1000' : `paused-${n}`,
    description: `${n} paused \`example\` jobs against ${n} baselineHold workflows blocked on a condition, each side in a fresh worker process with all of them in its sticky cache`,
    metrics: [
      metric('worker RSS per workflow', 'KiB', ...pick('rssPerJobKiB'), goals.ratioAtMost(1.25)),
      metric('worker CPU per workflow', 'ms', ...pick('cpuPerJobMs')),
      metric('history events per workflow', 'events', ...pick('events')),
    ],
    notes: [
      'RSS after a full GC of the main thread (workflow threads collect on their own), divided by the workflows added; RSS is noisy at this size — read the min/max.',
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
