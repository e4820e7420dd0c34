/**
 * The API contract as an API consumer uses it: a TypeScript client generated from the live
 * `/openapi.json` (openapi-typescript's types under openapi-fetch, the usual pair) compiles with
 * `tsc --strict`, then runs against the API — starting a job, following a sub-job by its id,
 * reading the tree — and every `POST /api/jobs` example the document offers starts a job, as it
 * is, that completes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeSamples } from '../../activities/samples';
import type { OpenApiDocument } from '../../src/api/openapi/openapi-document';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
// Inside the repository, so the client resolves openapi-fetch from node_modules as a user's would.
const DIR = join(ROOT, 'test', '.tmp', uniqueId('client'));

let harness: TestApi;
let base: string;
let doc: OpenApiDocument;

beforeAll(async () => {
  harness = await startTestApi({}, { listen: true });
  base = harness.base!;
  // The samples the pipelines' examples read (npm start writes them into its import root).
  writeSamples(harness.pipelines.importRoot);
  doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDocument;
  mkdirSync(DIR, { recursive: true });
});

afterAll(async () => {
  await harness?.close();
  rmSync(DIR, { recursive: true, force: true });
});

const node = (args: string[]): string =>
  execFileSync(process.execPath, args, { cwd: DIR, encoding: 'utf8', stdio: 'pipe' });

/** What the client program does, as a consumer would write it against the generated types. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api';

type JobState = components['schemas']['JobState'];

async function main(): Promise<void> {
  const api = createClient<paths>({ baseUrl: process.argv[2] });
  const started = await api.POST('/api/jobs', {
    body: { type: 'example', jobId: process.argv[3], input: { durationMs: 10 } },
  });
  if (started.error) throw new Error(started.error.message);
  const jobId: string = started.data.jobId;

  // @ts-expect-error — the generated types know the body: a wrong field does not compile
  void api.POST('/api/jobs', { body: { type: 'example', input: {}, priority: 'high' } });

  let state: JobState | undefined;
  for (let i = 0; i < 600; i++) {
    const read = await api.GET('/api/jobs/{jobId}', { params: { path: { jobId } } });
    if (read.error) throw new Error(read.error.message);
    state = read.data;
    if (state.closedAt !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!state) throw new Error('no state');
  const subJobId = state.steps[1]?.subJobIds[0];
  if (subJobId === undefined) throw new Error('no sub-job');
  // openapi-fetch encodes the path parameter: a sub-job's "/" travels as %2F.
  const sub = await api.GET('/api/jobs/{jobId}', { params: { path: { jobId: subJobId } } });
  const tree = await api.GET('/api/jobs/{jobId}/children', { params: { path: { jobId } } });
  const list = await api.GET('/api/jobs', { params: { query: { type: 'example', jobIdPrefix: jobId, topLevel: 'true', pageSize: 5 } } });
  const runs = await api.GET('/api/jobs/{jobId}/runs', { params: { path: { jobId } } });
  const cause = await api.GET('/api/jobs/{jobId}/cause', { params: { path: { jobId } } });
  const health = await api.GET('/health/ready');
  // The Idempotency-Key header is a typed parameter: the retry returns the job the first call started.
  const key = 'gen-client-' + process.argv[3];
  const body = { type: 'example' as const, input: { durationMs: 10 } };
  const once = await api.POST('/api/jobs', { params: { header: { 'Idempotency-Key': key } }, body });
  const twice = await api.POST('/api/jobs', { params: { header: { 'Idempotency-Key': key } }, body });
  console.log(
    JSON.stringify({
      jobId,
      status: state.status,
      progress: state.progress,
      subJob: sub.data ? { jobId: sub.data.jobId, status: sub.data.status, parent: sub.data.parentJobId } : sub.error,
      tree: tree.data?.map((n) => n.jobId),
      listed: list.data?.jobs.some((j) => j.jobId === jobId),
      runs: runs.data?.runs.map((r) => [r.runId === state.runId, r.recoveryAttempt]),
      cause: cause.data ? { status: cause.data.status, cause: cause.data.cause } : cause.error,
      health: health.data?.status,
      idempotent: [once.response.status, twice.response.status, once.data?.jobId === twice.data?.jobId],
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

test('a client generated from /openapi.json compiles with tsc --strict and drives the API', async () => {
  writeFileSync(join(DIR, 'openapi.json'), JSON.stringify(doc));
  node([
    join(require.resolve('openapi-typescript/package.json'), '..', 'bin', 'cli.js'),
    'openapi.json',
    '-o',
    'api.d.ts',
  ]);
  writeFileSync(join(DIR, 'client.ts'), CLIENT);
  const tsc = require.resolve('typescript/bin/tsc');
  const compile = (): string => {
    try {
      return node([
        tsc,
        '--strict',
        '--noUncheckedIndexedAccess',
        '--target',
        'es2022',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--types',
        'node',
        '--outDir',
        'out',
        'client.ts',
      ]);
    } catch (err) {
      throw new Error(`the generated client does not compile:\n${(err as { stdout?: string }).stdout ?? ''}`);
    }
  };
  compile();

  const jobId = uniqueId('gen-client');
  // Asynchronously: the API answering it runs in this process.
  const { stdout } = await execFileAsync(process.execPath, [join(DIR, 'out', 'client.js'), base, jobId], {
    cwd: DIR,
    encoding: 'utf8',
  });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  expect(out).toEqual({
    jobId,
    status: 'completed',
    progress: 100,
    subJob: { jobId: `${jobId}/subJob`, status: 'completed', parent: jobId },
    tree: [`${jobId}/subJob`],
    listed: true,
    runs: [[true, 0]],
    cause: { status: 'completed', cause: null },
    health: 'ok',
    idempotent: [201, 200, true],
  });
});

test('every operation has its own operationId', () => {
  const ids = Object.values(doc.paths).flatMap((ops) =>
    Object.values(ops).map((op) => (op as { operationId: string }).operationId),
  );
  expect(ids.length).toBeGreaterThan(15);
  expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
});

test('the dashboard’s pages and files, and Swagger UI’s files, are not part of the contract', () => {
  for (const path of [
    '/',
    '/new',
    '/charts',
    '/schedules',
    '/subscriptions',
    '/jobs/{jobId}',
    '/app/{file}',
    '/docs/assets/{file}',
  ]) {
    expect([path, doc.paths[path]]).toEqual([path, undefined]);
  }
});

test('every startable job type has a POST /api/jobs example, and each one, sent unchanged, runs to completion', async () => {
  const examples = (
    doc.paths['/api/jobs'].post as {
      requestBody: { content: { 'application/json': { examples: Record<string, { value: unknown }> } } };
    }
  ).requestBody.content['application/json'].examples;
  const startable = (
    (await (await fetch(`${base}/api/job-types`)).json()) as { type: string; internal: boolean }[]
  )
    .filter((t) => !t.internal)
    .map((t) => t.type);
  expect(Object.keys(examples).sort()).toEqual(startable.sort());
  const jobs = await Promise.all(
    Object.entries(examples).map(async ([name, { value }]) => {
      const res = await fetch(`${base}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(value),
      });
      const body = (await res.json()) as { jobId: string };
      expect([name, res.status]).toEqual([name, 201]);
      return { name, jobId: body.jobId };
    }),
  );
  for (const { name, jobId } of jobs) {
    const final = await waitFor(
      async () => (await (await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`)).json()) as JobState,
      (s) => s.closedAt !== null,
      120_000,
      250,
    );
    // Completed; the sample import has two invalid rows, which a completed import reports.
    expect([name, final.status, final.error]).toEqual([name, 'completed', null]);
  }
});
