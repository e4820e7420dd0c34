/**
 * Benchmarks: Stepwise jobs against raw-SDK baseline workflows doing the same work, measured in
 * the same run on the same dev server and worker, reported as ratios (never as absolute targets).
 *
 *   npm run bench                                  # defaults: --reps=5 --items=3000 --chunkSize=5 --window=20
 *   npm run bench -- --reps=3 --items=2000
 *
 * Scenarios (each: one warm-up pair, then `reps` pairs, alternating which side goes first):
 * - steps: a `benchSteps` job of 20 `simulateWork` activity steps (no simulated work) through the
 *   engine, against `baselineSteps` calling the same activity 20 times in sequence;
 * - batch: an `itemBatch` job (a batchCoordinator child running `countItems` chunk activities
 *   with a window), against `baselineBatch` running the same chunks with the same window in one
 *   workflow.
 * Per run: wall time from the client's start call until the result arrives, and CPU time of this
 * process (client, worker, workflow threads; the server is another process); per scenario, the
 * history events of the last run (children included). Medians and stepwise/baseline ratios go to
 * stdout as a table, everything as JSON to bench/results/ (not committed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { DevServer, freePort } from '../src/dev-server';
import { WORKFLOW_INTERCEPTOR_MODULES, createStepwiseWorker } from '../src/worker-factory';
import type { JobParams } from '../workflows/contracts';
import { initialJobAttributes } from '../workflows/search-attributes';
import { BENCH_STEPS } from './workflows';

interface Options {
  reps: number;
  items: number;
  chunkSize: number;
  window: number;
}

interface Side {
  workflowType: string;
  arg: unknown;
  /** Child workflow ids below the run's id whose history counts too (the batch coordinator). */
  children?: string[];
}

interface Scenario {
  name: string;
  description: string;
  baseline: Side;
  stepwise: Side;
}

interface Run {
  wallMs: number;
  cpuMs: number;
}

export interface SideResult {
  /** Client start call until the result arrived. */
  wallMs: number[];
  /** CPU time of this process (client, worker, workflow threads; not the server) during the run. */
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  /** History events of the last run, its children included. */
  historyEvents: number;
}

export interface ScenarioResult {
  name: string;
  description: string;
  baseline: SideResult;
  stepwise: SideResult;
  /** Stepwise / baseline, of the medians. */
  wallRatio: number;
  cpuRatio: number;
  eventsRatio: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { reps: 5, items: 3000, chunkSize: 5, window: 20 };
  for (const arg of argv) {
    const m = /^--(reps|items|chunkSize|window)=(\d+)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}; use --reps=N --items=N --chunkSize=N --window=N`);
    opts[m[1] as keyof Options] = Math.max(1, Number(m[2]));
  }
  return opts;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const jobParams = (input: unknown): JobParams => ({ input });

function scenarios(o: Options): Scenario[] {
  const chunks = Math.ceil(o.items / o.chunkSize);
  return [
    {
      name: 'steps',
      description: `${BENCH_STEPS} activity steps in sequence (simulateWork, no simulated work)`,
      baseline: { workflowType: 'baselineSteps', arg: { steps: BENCH_STEPS, durationMs: 0 } },
      stepwise: { workflowType: 'benchSteps', arg: jobParams({ durationMs: 0 }) },
    },
    {
      name: 'batch',
      description: `itemBatch: ${o.items} items, ${chunks} countItems chunks of ${o.chunkSize}, window ${o.window}`,
      baseline: {
        workflowType: 'baselineBatch',
        arg: { count: o.items, chunkSize: o.chunkSize, window: o.window },
      },
      stepwise: {
        workflowType: 'itemBatch',
        arg: jobParams({ count: o.items, chunkSize: o.chunkSize, window: o.window }),
        children: ['count'],
      },
    },
  ];
}

async function timeOne(client: Client, taskQueue: string, side: Side, id: string): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const handle = await client.workflow.start(side.workflowType, {
    taskQueue,
    workflowId: id,
    args: [side.arg],
    typedSearchAttributes: initialJobAttributes(side.workflowType),
  });
  await handle.result();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

async function historyEvents(client: Client, side: Side, id: string): Promise<number> {
  const ids = [id, ...(side.children ?? []).map((c) => `${id}/${c}`)];
  const lengths = await Promise.all(
    ids.map(async (w) => (await client.workflow.getHandle(w).describe()).historyLength),
  );
  return lengths.reduce((a, b) => a + b, 0);
}

function sideResult(runs: Run[], events: number): SideResult {
  const wallMs = runs.map((r) => r.wallMs);
  const cpuMs = runs.map((r) => r.cpuMs);
  return { wallMs, cpuMs, medianWallMs: median(wallMs), medianCpuMs: median(cpuMs), historyEvents: events };
}

function table(results: ScenarioResult[]): string {
  const ms = (x: number): string => `${Math.round(x)} ms`;
  const ratio = (x: number): string => `${x.toFixed(2)}×`;
  const rows = [
    [
      '',
      'wall: baseline',
      'stepwise',
      'ratio',
      'cpu: baseline',
      'stepwise',
      'ratio',
      'events: baseline',
      'stepwise',
    ],
    ...results.map((r) => [
      r.name,
      ms(r.baseline.medianWallMs),
      ms(r.stepwise.medianWallMs),
      ratio(r.wallRatio),
      ms(r.baseline.medianCpuMs),
      ms(r.stepwise.medianCpuMs),
      ratio(r.cpuRatio),
      String(r.baseline.historyEvents),
      String(r.stepwise.historyEvents),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const tmp = mkdtempSync(join(tmpdir(), 'stepwise-bench-'));
  const port = await freePort();
  console.log(`starting a dev server on 127.0.0.1:${port} and bundling the workflows…`);
  const [server, bundle] = await Promise.all([
    DevServer.start({ port, uiPort: port, headless: true, startTimeoutMs: 90_000 }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      logger: new DefaultLogger('WARN'),
    }),
  ]);
  const bundlePath = join(tmp, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = 'bench';
  const results: ScenarioResult[] = [];
  try {
    const worker = await createStepwiseWorker({
      connection: nativeConnection,
      namespace: 'default',
      client,
      taskQueue,
      workflowBundlePath: bundlePath,
      // The bench's jobs do not touch the pipelines' folders.
      pipelines: loadConfig().pipelines,
    });
    await worker.runUntil(async () => {
      for (const s of scenarios(opts)) {
        console.log(`${s.name}: ${s.description} — warm-up, then ${opts.reps} pairs`);
        await timeOne(client, taskQueue, s.baseline, `bench-${s.name}-warmup-baseline`);
        await timeOne(client, taskQueue, s.stepwise, `bench-${s.name}-warmup-stepwise`);
        const runs: Record<'baseline' | 'stepwise', Run[]> = { baseline: [], stepwise: [] };
        for (let rep = 0; rep < opts.reps; rep++) {
          // Alternate the order so drift on a shared machine does not favour one side.
          const order =
            rep % 2 === 0 ? (['baseline', 'stepwise'] as const) : (['stepwise', 'baseline'] as const);
          for (const side of order) {
            runs[side].push(await timeOne(client, taskQueue, s[side], `bench-${s.name}-${rep}-${side}`));
          }
        }
        const last = opts.reps - 1;
        const baseline = sideResult(
          runs.baseline,
          await historyEvents(client, s.baseline, `bench-${s.name}-${last}-baseline`),
        );
        const stepwise = sideResult(
          runs.stepwise,
          await historyEvents(client, s.stepwise, `bench-${s.name}-${last}-stepwise`),
        );
        results.push({
          name: s.name,
          description: s.description,
          baseline,
          stepwise,
          wallRatio: stepwise.medianWallMs / baseline.medianWallMs,
          cpuRatio: stepwise.medianCpuMs / baseline.medianCpuMs,
          eventsRatio: stepwise.historyEvents / baseline.historyEvents,
        });
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\n${table(results)}\n`);
  for (const r of results) console.log(`${r.name}: ${r.description}`);
  const outDir = resolve(process.cwd(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const at = new Date().toISOString();
  const file = join(outDir, `bench-${at.replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version };
  writeFileSync(file, JSON.stringify({ at, machine, options: opts, results }, null, 2) + '\n');
  console.log(`results written to ${file}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('bench failed:', err);
      process.exit(1);
    },
  );
}
