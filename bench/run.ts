/**
 * Benchmarks: Stepwise against raw-SDK baselines doing the same work, measured in the same run on
 * the same dev server and worker, reported as ratios (never as absolute targets).
 *
 *   npm run bench                                   # every scenario
 *   npm run bench -- --scenario=steps,handoff       # some of them
 *   npm run bench -- --reps=2                       # repetitions for every scenario chosen
 *   npm run bench -- --fanout=10000                 # fanout-10k at full size (default 2,000)
 *
 * Each scenario runs a warm-up pair, then its repetitions in pairs, alternating which side goes
 * first, and reports min/median/max over the repetitions (see bench/README.md for what each
 * measures and its goal). The table goes to stdout with the machine's load average beside it, the
 * raw numbers as JSON to bench/results/ (not committed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createStepwiseTestEnv } from '../src/testing';
import { createActivities } from '../activities';
import { loadPipelineConfig } from '../activities/pipeline-config';
import benchApp from './workflows';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import { startApi, type BenchEnv, type Options } from './env';
import { table, type ScenarioResult } from './lib';
import { apiGetScenario, apiStartScenario } from './scenarios/api';
import { cancelScenario, fanoutScenario } from './scenarios/fanout';
import { handoffScenario } from './scenarios/handoff';
import { limitScenario } from './scenarios/limit';
import { scheduleStartScenario } from './scenarios/schedule';
import { pausedScenario } from './scenarios/paused';
import { stepsScenario } from './scenarios/steps';
import { listStreamScenario } from './scenarios/list';
import { notifyScenario, rawWebhookActivities } from './scenarios/notify';
import { streamScenario } from './scenarios/stream';

/** Every scenario, in the order they run, with its default repetitions. */
const SCENARIOS: Record<
  string,
  { reps: number; run: (env: BenchEnv, reps: number, o: Options) => Promise<ScenarioResult> }
> = {
  steps: { reps: 5, run: (env, reps) => stepsScenario(env, reps) },
  'api-start': { reps: 5, run: (env, reps) => apiStartScenario(env, reps) },
  'api-get': { reps: 3, run: (env, reps) => apiGetScenario(env, reps) },
  handoff: { reps: 3, run: (env, reps) => handoffScenario(env, reps) },
  'stream-50': { reps: 3, run: (env, reps) => streamScenario(env, reps) },
  'list-stream': { reps: 2, run: (env, reps) => listStreamScenario(env, reps) },
  // Cheap (a few seconds a pair), and its latency depends on where a job closes in the notifier's
  // poll interval, which only more repetitions sample.
  notify: { reps: 10, run: (env, reps) => notifyScenario(env, reps) },
  // 200 jobs a side, 10 at a time: about 10–20 s a side here.
  limit: { reps: 2, run: (env, reps) => limitScenario(env, reps) },
  'schedule-start': { reps: 3, run: (env, reps) => scheduleStartScenario(env, reps) },
  'cancel-100': { reps: 3, run: (env, reps) => cancelScenario(env, 100, reps) },
  // The heavy ones run once each (plus a warm-up): on a 2-core machine 1,000 children take minutes.
  'cancel-1000': {
    reps: 1,
    // cancel-100 just ran the same paths; otherwise a tenth-size pair warms up.
    run: (env, reps, o) => cancelScenario(env, 1000, reps, !o.scenarios.includes('cancel-100')),
  },
  'paused-1000': { reps: 1, run: (env, reps) => pausedScenario(env, 1000, reps) },
  // 2,000 sub-jobs by default: on this project's 2-core machine the dev server runs about 18
  // sub-jobs a second a side, so 10,000 (`--fanout=10000`) adds about 20 minutes to the run.
  'fanout-10k': { reps: 1, run: (env, reps, o) => fanoutScenario(env, o.fanout, reps) },
};

/** fanout-10k's default sub-job count: what lets the whole run fit about 15 minutes here. */
const DEFAULT_FANOUT = 2_000;

function parseOptions(argv: string[]): Options {
  const opts: Options = { reps: null, scenarios: Object.keys(SCENARIOS), fanout: DEFAULT_FANOUT };
  for (const arg of argv) {
    let m: RegExpExecArray | null;
    if ((m = /^--reps=(\d+)$/.exec(arg))) opts.reps = Math.max(1, Number(m[1]));
    else if ((m = /^--fanout=(\d+)$/.exec(arg))) opts.fanout = Math.max(100, Number(m[1]));
    else if ((m = /^--scenario=([\w,-]+)$/.exec(arg))) {
      const names = m[1].split(',').filter(Boolean);
      const unknown = names.filter((n) => !(n in SCENARIOS));
      if (unknown.length > 0)
        throw new Error(
          `unknown scenario ${unknown.join(', ')}; one of ${Object.keys(SCENARIOS).join(', ')}`,
        );
      opts.scenarios = Object.keys(SCENARIOS).filter((n) => names.includes(n));
    } else throw new Error(`unknown argument ${arg}; use --scenario=a,b --reps=N --fanout=N`);
  }
  return opts;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function gitCommit(): string | null {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha} (uncommitted changes)` : sha;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const began = Date.now();
  // Errors only, from the SDK's core too (a loaded machine makes it warn about slow workflow tasks).
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  const tmp = mkdtempSync(join(tmpdir(), 'stepwise-bench-'));
  const log = (msg: string): void =>
    console.log(`[${((Date.now() - began) / 1000).toFixed(0)} s, load ${load()}] ${msg}`);
  log('bundling the workflows, then starting a dev server and a worker…');
  const bundlePath = join(tmp, 'workflow-bundle.js');
  await buildWorkflowBundle(bundlePath, new DefaultLogger('WARN'), require.resolve('./workflows'));
  const taskQueue = 'bench';
  // What a user's tests use (stepwise/testing): a dev server and a worker of the bench app.
  const stepwise = await createStepwiseTestEnv({
    app: benchApp,
    // The bench's jobs do not touch the pipelines' folders. The raw side of `notify` posts its
    // webhooks with an activity of its own.
    activities: ({ client }) => ({
      ...createActivities({ client, pipelines: loadPipelineConfig() }),
      ...rawWebhookActivities(),
    }),
    taskQueue,
    workflowBundlePath: bundlePath,
    // cancel-1000 keeps a coordinator and 1,000 sub-jobs open at once.
    workerOptions: { maxCachedWorkflows: 3000 },
  });
  const { address, client, worker } = stepwise;
  const results: ScenarioResult[] = [];
  const loads: Record<string, string> = {};
  const commit = gitCommit();
  const outDir = resolve(process.cwd(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const at = new Date(began).toISOString();
  const file = join(outDir, `bench-${at.replace(/[:.]/g, '-')}.json`);
  /** The results so far (after every scenario, so a late failure keeps the earlier ones). */
  const save = (totalSeconds: number | null): void => {
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      memBytes: totalmem(),
      node: process.version,
      loadAverage: loadavg(),
      loadAfterScenario: loads,
    };
    const doc = {
      at,
      commit,
      complete: totalSeconds !== null,
      totalSeconds,
      machine,
      options: opts,
      results,
    };
    writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  };
  try {
    const api = await startApi(address, tmp, taskQueue);
    const env: BenchEnv = {
      address,
      client,
      jobs: stepwise.jobs,
      worker,
      taskQueue,
      bundlePath,
      tmp,
      api,
      startApi: (q, extra, role) => startApi(address, tmp, q, extra, role),
      runId: `b${Date.now().toString(36)}`,
      log,
    };
    try {
      for (const name of opts.scenarios) {
        const s = SCENARIOS[name];
        const reps = opts.reps ?? s.reps;
        log(`${name}: warm-up, then ${reps} pairs`);
        const r = await s.run(env, reps, opts);
        results.push(r);
        loads[name] = load();
        save(null);
        log(`${name}: done in ${r.wallSeconds.toFixed(0)} s`);
      }
    } finally {
      await api.close();
    }
  } finally {
    await stepwise.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  const totalSeconds = (Date.now() - began) / 1000;
  console.log(`\n${table(results)}\n`);
  console.log(
    `load average (1/5/15 min) at the end: ${load()} on ${cpus().length} cores; after each scenario: ${Object.entries(
      loads,
    )
      .map(([n, l]) => `${n} ${l.split(' ')[0]}`)
      .join(', ')}`,
  );
  console.log(`total ${totalSeconds.toFixed(0)} s; commit ${commit ?? 'unknown'}; node ${process.version}`);
  for (const r of results) {
    console.log(`\n${r.name} (${r.wallSeconds.toFixed(0)} s): ${r.description}`);
    for (const n of r.notes) console.log(`  - ${n}`);
  }
  save(totalSeconds);
  console.log(`\nresults written to ${file}`);
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
