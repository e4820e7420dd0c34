/**
 * `npm start` end to end: the compiled launcher with its real dev server (or an external one),
 * worker and API as child processes, driven over HTTP like a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portInUse } from '../../src/dev-server';
import type { JobState } from '../../workflows/contracts';
import { freePort, uniqueId, waitFor } from '../helpers';
import { NPM_START, ROOT } from '../launcher';

interface Started {
  child: ChildProcess;
  output: string[];
  api: string;
  exited: Promise<number | null>;
}

const launched: ChildProcess[] = [];
afterEach(() => {
  // A failed assertion must not leave a launcher (and its dev server) running.
  for (const c of launched.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT');
});

async function startSystem(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [NPM_START.entry, ...NPM_START.args], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: '', ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.push(child);
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const api = `http://127.0.0.1:${env.PORT}`;
  await waitFor(
    async () => output.join(''),
    (o) => {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${o}`);
      return o.includes('Stepwise is up');
    },
    90_000,
    100,
  );
  return { child, output, api, exited };
}

async function stop(s: Started): Promise<number | null> {
  s.child.kill('SIGINT'); // what Ctrl-C sends
  return s.exited;
}

async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function jobState(api: string, jobId: string): Promise<JobState> {
  return (await (await fetch(`${api}/api/jobs/${jobId}`)).json()) as JobState;
}

describe('npm start', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'stepwise-e2e-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs dev server + Web UI, worker and API; jobs survive Ctrl-C and a restart', async () => {
    const env = {
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      STEPWISE_DATA_DIR: dataDir,
    };
    const first = await startSystem(env);
    let jobId: string;
    try {
      expect((await fetch(`${first.api}/health`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`)).status).toBe(200);
      // The dashboard, built by npm start, linking jobs to this dev server's Web UI.
      const page = await (await fetch(`${first.api}/`)).text();
      expect(page).toContain('<script type="module" src="/app/main.js">');
      expect(page).toContain(`content="http://127.0.0.1:${env.TEMPORAL_UI_PORT}"`);
      expect((await fetch(`${first.api}/app/main.js`)).status).toBe(200);
      expect(first.output.join('')).toContain(`Dashboard    ${first.api}/`);
      const created = await postJson(`${first.api}/api/jobs`, { type: 'example', input: { durationMs: 50 } });
      expect(created.status).toBe(201);
      jobId = created.json.jobId as string;
      const done = await waitFor(
        () => jobState(first.api, jobId),
        (s) => s.status === 'completed',
      );
      expect(done).toMatchObject({ currentStep: 2, totalSteps: 2, progress: 100 });
    } finally {
      expect(await stop(first)).toBe(0);
    }
    // Nothing is left listening: the dev server stopped with the launcher.
    expect(await portInUse(Number(env.TEMPORAL_DEV_PORT))).toBe(false);
    expect(await portInUse(Number(env.PORT))).toBe(false);

    const second = await startSystem(env);
    try {
      const again = await jobState(second.api, jobId);
      // An error answer: show what the processes said (the API logs the cause of a 500).
      if ('statusCode' in again) throw new Error(`${JSON.stringify(again)}\n${second.output.join('')}`);
      expect(again).toMatchObject({ jobId, status: 'completed', currentStep: 2, progress: 100 });
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

  it('with TEMPORAL_ADDRESS set, starts no dev server and works against that one', async () => {
    const external = process.env.STEPWISE_TEST_TEMPORAL_ADDRESS!;
    const env = {
      PORT: String(await freePort()),
      TEMPORAL_ADDRESS: external,
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_TASK_QUEUE: uniqueId('e2e-external'),
      // and the production worker path: the prebuilt bundle
      NODE_ENV: 'production',
      WORKFLOW_BUNDLE_PATH: process.env.STEPWISE_TEST_BUNDLE!,
    };
    const s = await startSystem(env);
    try {
      expect(s.output.join('')).toContain(
        `using Temporal at ${external} (from TEMPORAL_ADDRESS; no dev server started)`,
      );
      expect(await portInUse(Number(env.TEMPORAL_DEV_PORT))).toBe(false);
      const created = await postJson(`${s.api}/api/jobs`, { type: 'example', input: { durationMs: 20 } });
      expect(created.status).toBe(201);
      const done = await waitFor(
        () => jobState(s.api, created.json.jobId as string),
        (st) => st.status === 'completed',
      );
      expect(done.progress).toBe(100);
    } finally {
      expect(await stop(s)).toBe(0);
    }
  });
});
