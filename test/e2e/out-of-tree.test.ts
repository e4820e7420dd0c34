/**
 * Stepwise used from another repository, as a team would: the package is packed (`npm pack`), a
 * project in a temporary folder outside the repository depends only on the tarball, defines its
 * own job type (an activity step, two parallel steps — one a batch —, a sub-job) and activities
 * (test/fixtures/out-of-tree), type-checks them (the `@ts-expect-error` lines must be exactly the
 * mistakes they name), starts the stack with `stepwise dev` against a real dev server, runs a job
 * through the API and sees it complete with its progress, then runs its own test on
 * `stepwise/testing`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { JobState } from '../../workflows/contracts';
import { freePort, waitFor } from '../helpers';
import { Launcher } from '../launcher';

const ROOT = resolve(__dirname, '..', '..');
const WORK = mkdtempSync(join(tmpdir(), 'stepwise-outside-'));
const PROJECT = join(WORK, 'team-jobs');
const TSC = require.resolve('typescript/bin/tsc');
const { path: TEMPORAL_CLI } = JSON.parse(
  readFileSync(join(ROOT, '.tools', 'temporal-cli.json'), 'utf8'),
) as {
  path: string;
};
const repoVersion = (pkg: string): string =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version;

/** The environment of the project's processes: nothing of the test run's Temporal or Stepwise settings. */
function projectEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(STEPWISE_|TEMPORAL_|WORKFLOW_BUNDLE_PATH$|NODE_ENV$|JEST)/.test(k)) env[k] = v;
  }
  return { ...env, TEMPORAL_CLI_PATH: TEMPORAL_CLI, LOG_FORMAT: 'json', ...extra };
}

let launcher: Launcher | null = null;

beforeAll(() => {
  // The package as published; dist/ was compiled by the global setup (`prepack` would build it).
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', WORK], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  cpSync(join(ROOT, 'test', 'fixtures', 'out-of-tree'), PROJECT, { recursive: true });
  writeFileSync(
    join(PROJECT, 'package.json'),
    JSON.stringify(
      {
        name: 'team-jobs',
        private: true,
        dependencies: { stepwise: `file:../${packed}`, zod: repoVersion('zod') },
        devDependencies: { '@types/node': repoVersion('@types/node') },
      },
      null,
      2,
    ),
  );
  const install = spawnSync(
    'npm',
    ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: PROJECT, encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
  // Install scripts were skipped (no network for prebuilt binaries): the native module the audit
  // trail uses is copied from this checkout's build, as `npm rebuild` would have made it.
  const native = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(dirname(join(PROJECT, native)), { recursive: true });
  copyFileSync(join(ROOT, native), join(PROJECT, native));
}, 300_000);

afterAll(async () => {
  await launcher?.cleanup();
  rmSync(WORK, { recursive: true, force: true });
});

test('the project depends on the tarball only, outside the repository', () => {
  expect(PROJECT.startsWith(ROOT)).toBe(false);
  const installed = require.resolve('stepwise/package.json', { paths: [PROJECT] });
  expect(installed).toBe(join(PROJECT, 'node_modules', 'stepwise', 'package.json'));
  // The example app is not in the package: the framework runs without it.
  const pkg = join(PROJECT, 'node_modules', 'stepwise');
  for (const part of [
    'dist/workflows/app.js',
    'dist/workflows/jobs',
    'dist/activities',
    'dist/bench',
    'test',
  ]) {
    expect([part, existsSync(join(pkg, part))]).toEqual([part, false]);
  }
  expect(existsSync(join(pkg, 'dist/src/bin/stepwise.js'))).toBe(true);
});

test('type-checks, and each @ts-expect-error is exactly the mistake it names', () => {
  const ok = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: PROJECT, encoding: 'utf8' });
  expect(ok.stdout + ok.stderr).toBe('');
  expect(ok.status).toBe(0);
  // Without the directives, the compiler must report an error on each line they covered — no more.
  const file = join(PROJECT, 'src', 'mistakes.ts');
  const lines = readFileSync(file, 'utf8').split('\n');
  const expected: number[] = [];
  const kept = lines.filter((line, i) => {
    if (!line.trim().startsWith('// @ts-expect-error')) return true;
    expected.push(i - expected.length + 1); // the next line, 1-based, once this one is removed
    return false;
  });
  expect(expected).toHaveLength(5);
  writeFileSync(file, kept.join('\n'));
  try {
    const bad = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json', '--noEmit', '--pretty', 'false'], {
      cwd: PROJECT,
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
    const errors = [...bad.stdout.matchAll(/^src\/mistakes\.ts\((\d+),\d+\): error (TS\d+)/gm)];
    expect(
      bad.stdout.split('\n').filter((l) => / error TS/.test(l) && !l.startsWith('src/mistakes.ts')),
    ).toEqual([]);
    expect([...new Set(errors.map((m) => Number(m[1])))].sort((a, b) => a - b)).toEqual(expected);
  } finally {
    writeFileSync(file, lines.join('\n'));
  }
});

test('`stepwise dev` runs the stack for the app; a job runs through the API to completion with its progress', async () => {
  const port = await freePort();
  launcher = new Launcher(
    join(PROJECT, 'node_modules', 'stepwise', 'dist', 'src', 'bin', 'stepwise.js'),
    ['dev', '--app', 'dist/app.js', '--activities', 'dist/activities.js'],
    projectEnv({
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_DEV_HEADLESS: 'true',
      STEPWISE_DATA_DIR: join(PROJECT, '.data'),
    }),
    { cwd: PROJECT },
  );
  await launcher.waitForLine(/Stepwise is up/, 180_000);
  expect(launcher.text()).toContain(
    'app ' + join(PROJECT, 'dist', 'app.js') + ': 2 job types (welcome, greetOne)',
  );
  const api = `http://127.0.0.1:${port}`;
  const types = (await (await fetch(`${api}/api/job-types`)).json()) as { type: string; internal: boolean }[];
  expect(types.map((t) => [t.type, t.internal])).toEqual([
    ['welcome', false],
    ['greetOne', true],
    // Every app has the framework's bulk-action type, started only by POST /api/bulk.
    ['stepwiseBulk', true],
  ]);
  const names = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken'];
  const started = await fetch(`${api}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'welcome', input: { names } }),
  });
  expect(started.status).toBe(201);
  const { jobId } = (await started.json()) as { jobId: string };
  const seen: number[] = [];
  const state = await waitFor(
    async () => {
      const s = (await (await fetch(`${api}/api/jobs/${encodeURIComponent(jobId)}`)).json()) as JobState;
      seen.push(s.progress);
      return s;
    },
    (s) => s.closedAt !== null,
    60_000,
    100,
  );
  expect(state.status).toBe('completed');
  expect(state.progress).toBe(100);
  expect(seen).toEqual([...seen].sort((a, b) => a - b)); // progress never went back
  expect(state.steps.map((s) => [s.key, s.status])).toEqual([
    ['prepare', 'completed'],
    ['shoutFirst', 'completed'],
    ['letters', 'completed'],
    ['greetFirst', 'completed'],
  ]);
  expect(state.steps[0].message).toBe('Prepared 5/5 names');
  expect(Object.fromEntries(state.steps.map((s) => [s.key, s.result]))).toMatchObject({
    prepare: { count: 5 },
    shoutFirst: { loud: 'ADA' },
    letters: { chunks: 3, completed: 3 },
    greetFirst: { status: 'completed', output: { greeting: 'Welcome, Ada!' } },
  });
  expect(state.output).toMatchObject({ status: 'completed', output: { greeting: 'Welcome, Ada!' } });
  // The dashboard ships in the package.
  const page = await fetch(`${api}/`);
  expect(page.status).toBe(200);
  expect((await fetch(`${api}/app/main.js`)).status).toBe(200);
  launcher.interrupt();
  await launcher.waitForLine(/all stopped/, 90_000);
}, 300_000);

test("the team's own test on stepwise/testing runs a job against a real dev server", () => {
  const smoke = spawnSync(process.execPath, ['dist/smoke.js'], {
    cwd: PROJECT,
    env: projectEnv({}),
    encoding: 'utf8',
    timeout: 180_000,
  });
  expect(smoke.stdout).toContain(
    'smoke: completed 100% prepare=completed shoutFirst=completed letters=completed greetFirst=completed',
  );
  expect(smoke.status).toBe(0);
}, 200_000);
