/**
 * `npm run dev` (the compiled launcher with `--watch`, as the npm script runs it): a source change
 * that compiles rebuilds and restarts the worker and the API — new pids — while the dev server and
 * the compilers keep running (same pids); a change that does not compile restarts nothing. The
 * change is a new file under src/ (removed afterwards with its output), so no tracked file is
 * touched. It rewrites dist/, so it runs here, one file at a time, and not beside other tests.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/dev-server';
import { uniqueId } from '../helpers';
import { Launcher, ROOT, stackOf, NPM_DEV } from '../launcher';
import { FAULTS_TMP } from './fault-helpers';

const probe = uniqueId('watch-probe');
const probeSource = join(ROOT, 'src', `${probe}.ts`);
const probeOutputs = [join(ROOT, 'dist', 'src', `${probe}.js`), join(ROOT, 'dist', 'src', `${probe}.js.map`)];

let launcher: Launcher;
let api: string;

beforeAll(async () => {
  const dataDir = join(FAULTS_TMP, uniqueId('dev-watch'));
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STEPWISE_DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    STEPWISE_WORKER_SHUTDOWN_GRACE_MS: '5000',
  };
  delete env.TEMPORAL_ADDRESS;
  launcher = new Launcher(NPM_DEV.entry, NPM_DEV.args, env);
  await launcher.waitForLine(/^\[start\]\s+Stepwise is up$/, 240_000);
}, 300_000);

afterAll(async () => {
  await launcher?.cleanup();
  rmSync(probeSource, { force: true });
  for (const f of probeOutputs) rmSync(f, { force: true });
}, 150_000);

async function withLog<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const tail = launcher.lines.slice(-80).join('\n');
    throw new Error(`${(err as Error).message}\n--- launcher output (tail) ---\n${tail}`, { cause: err });
  }
}

function pids(): Record<string, number> {
  const kids = launcher.children();
  expect(kids.map((k) => k.role).sort()).toEqual(['api', 'build', 'dashboard', 'temporal', 'worker']);
  return Object.fromEntries(kids.map((k) => [k.role, k.pid]));
}

it('a change that compiles restarts the worker and the API; the dev server and the compilers keep running', async () => {
  await withLog(async () => {
    const before = pids();
    const from = launcher.lines.length;
    writeFileSync(
      probeSource,
      `/** A probe of test/faults/dev-watch.test.ts. */\nexport const probe = '${probe}';\n`,
    );
    await launcher.waitForLine(/^\[start\]\s+rebuilt: restarting worker and api$/, 120_000, from);
    await launcher.waitForLine(/^\[start\]\s+worker is up again/, 120_000, from);
    await launcher.waitForLine(/^\[start\]\s+api is up again/, 120_000, from);
    expect(existsSync(probeOutputs[0])).toBe(true);
    const after = pids();
    expect(after.worker).not.toBe(before.worker);
    expect(after.api).not.toBe(before.api);
    expect({ temporal: after.temporal, build: after.build, dashboard: after.dashboard }).toEqual({
      temporal: before.temporal,
      build: before.build,
      dashboard: before.dashboard,
    });
    // Planned restarts are not failures.
    const stack = await stackOf(api);
    expect(stack?.map((p) => [p.name, p.state, p.restarts])).toEqual(
      expect.arrayContaining([
        ['worker', 'up', 0],
        ['api', 'up', 0],
        ['temporal', 'up', 0],
      ]),
    );
  });
});

it('a change that does not compile restarts nothing and says why', async () => {
  await withLog(async () => {
    const before = pids();
    const from = launcher.lines.length;
    writeFileSync(probeSource, `export const probe: number = '${probe}';\n`);
    await launcher.waitForLine(
      /^\[build\]\s+not restarting the worker and the API: fix the errors first$/,
      120_000,
      from,
    );
    expect(launcher.text(from)).toMatch(new RegExp(`${probe}\\.ts.*error TS2322`));
    expect(launcher.text(from)).not.toMatch(/restarting worker and api/);
    expect(pids()).toEqual(before);
  });
});

it('Ctrl-C stops the compilers too', async () => {
  rmSync(probeSource, { force: true });
  launcher.children();
  launcher.interrupt();
  expect(await launcher.exited).toEqual({ code: 0, signal: null });
  expect(launcher.aliveSeen()).toEqual([]);
});
