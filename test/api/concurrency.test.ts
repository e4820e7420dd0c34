/**
 * Concurrency limits and priorities, on the real dev server through the API. `demoQueue` declares
 * at most 2 per tenant; a second API runs it with `STEPWISE_CONCURRENCY_LIMITS=demoQueue=1` (one at
 * a time of the whole type). Every state read is checked against the invariants; how many ran at
 * once is checked both on every sample and from the times the jobs recorded.
 */
import type { JobState } from '../../workflows/contracts';
import { limiterId, limiterStateQuery } from '../../workflows/engine/limiter-contracts';
import { readJob, readJobUntil, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let declared: TestApi;
let single: TestApi;
beforeAll(async () => {
  [declared, single] = await Promise.all([
    startTestApi(),
    startTestApi({ STEPWISE_CONCURRENCY_LIMITS: 'demoQueue=1' }),
  ]);
});
afterAll(async () => {
  await Promise.all([declared?.close(), single?.close()]);
});

const json = { 'content-type': 'application/json' };
const post = (h: TestApi, url: string, payload: object = {}) =>
  h.app.inject({ method: 'POST', url, payload, headers: json });
const read = (h: TestApi, jobId: string): Promise<JobState> => readJob(h.app, jobId);
const until = (h: TestApi, jobId: string, done: (s: JobState) => boolean, timeoutMs = 60_000) =>
  readJobUntil(h.app, jobId, done, { timeoutMs });
async function start(h: TestApi, input: object, priority?: number): Promise<string> {
  const jobId = uniqueId('queue');
  const res = await post(h, '/api/jobs', {
    type: 'demoQueue',
    jobId,
    input,
    ...(priority !== undefined ? { priority } : {}),
  });
  expect(res.statusCode).toBe(201);
  expect(res.json()).toMatchObject({ jobId, status: 'queued' });
  return jobId;
}
/** Holds a slot: started before the others and past `queued`. */
const holding = (s: JobState): boolean => s.queue === null && s.closedAt === null;
/** When the job ran: its first step's start to its close. */
const ranFrom = (s: JobState): number => Date.parse(s.steps[0].startedAt!);
const ranTo = (s: JobState): number => Date.parse(s.closedAt!);
/** The most intervals that overlap at any moment. */
function mostAtOnce(runs: JobState[]): number {
  const edges = runs.flatMap((s) => [
    [ranFrom(s), 1],
    [ranTo(s), -1],
  ]);
  // An end at the same moment as a start is counted first: the slot was given back.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

it('10 jobs started at once under a limit of 2: never more than 2 run, the rest wait queued with their place, all complete', async () => {
  const tenant = uniqueId('t').replace(/[^A-Za-z0-9_-]/g, '');
  const ids = await Promise.all(
    Array.from({ length: 10 }, () => start(declared, { tenant, durationMs: 1000 })),
  );
  let samples = 0;
  let sawQueued = 0;
  let placed = 0;
  const final = await waitFor(
    async () => {
      const states = await Promise.all(ids.map((id) => read(declared, id)));
      samples++;
      const running = states.filter(holding);
      expect(running.length).toBeLessThanOrEqual(2);
      for (const s of states.filter((x) => x.status === 'queued')) {
        sawQueued++;
        expect(s.queue).toMatchObject({ jobType: 'demoQueue', key: tenant, limit: 2, priority: 3 });
        expect(s.steps.every((st) => st.status === 'pending')).toBe(true);
        // Its place and the slots in use come from the limiter (null while its request, or its
        // grant, is on the way).
        if (s.queue!.position !== null) {
          placed++;
          expect(s.queue!.position).toBeGreaterThanOrEqual(1);
          expect(s.queue!.position).toBeLessThanOrEqual(8);
          expect(s.queue!.running).toBeLessThanOrEqual(2);
        }
      }
      return states;
    },
    (states) => states.every((s) => s.closedAt !== null),
    120_000,
    100,
  );
  expect(samples).toBeGreaterThanOrEqual(2);
  expect(sawQueued).toBeGreaterThan(0);
  expect(placed).toBeGreaterThan(0);
  expect(final.map((s) => s.status)).toEqual(Array(10).fill('completed'));
  // From the times the jobs recorded: at most 2 at any moment, and they did wait for each other.
  expect(mostAtOnce(final)).toBe(2);
  expect(final.some((s) => s.logs.some((l) => /^Queued: waits for one of the 2 slots/.test(l.message)))).toBe(
    true,
  );
  // The limiter let every job go: nobody runs or waits. A job's state reads closed before its
  // run sends the release signal (the run's last command), so wait for the runs to complete: by
  // then every release is in the limiter's history, and a query answers after it is applied.
  const limiter = limiterId(declared.taskQueue, 'demoQueue', tenant);
  expect(final[0].queue).toBeNull();
  await Promise.all(ids.map((id) => declared.env.client.workflow.getHandle(id).result()));
  const st = await declared.env.client.workflow.getHandle(limiter).query(limiterStateQuery);
  expect(st).toMatchObject({ running: [], queued: [], limit: 2, key: tenant });
});

it('limits count per key: another tenant does not wait for a full one', async () => {
  const busy = uniqueId('busy').replace(/[^A-Za-z0-9_-]/g, '');
  const other = uniqueId('other').replace(/[^A-Za-z0-9_-]/g, '');
  const full = await Promise.all([1, 2, 3].map(() => start(declared, { tenant: busy, durationMs: 3000 })));
  await waitFor(
    () => Promise.all(full.map((id) => read(declared, id))),
    (states) => states.filter(holding).length === 2,
  );
  const third = (await Promise.all(full.map((id) => read(declared, id)))).find((s) => s.status === 'queued')!;
  expect(third.queue).toMatchObject({ position: 1, running: 2 });
  const free = await start(declared, { tenant: other, durationMs: 10 });
  const done = await until(declared, free, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  // It ran while the busy tenant's third job still waited.
  expect((await read(declared, third.jobId)).status).toBe('queued');
  await Promise.all(full.map((id) => post(declared, `/api/jobs/${id}/cancel`)));
});

it('limits per key never take the slots the steps run in: more tenants with jobs than the worker has activity slots all complete', async () => {
  // Each key has a limiter, and each limiter a watch that runs for its life: on the jobs' queue,
  // 4 watches would hold a worker's 2 slots and no step could run.
  const small = await startTestApi({}, { workerOptions: { maxConcurrentActivityTaskExecutions: 2 } });
  try {
    const tenants = Array.from(
      { length: 4 },
      (_, i) => `${uniqueId('slot').replace(/[^A-Za-z0-9_-]/g, '')}-${i}`,
    );
    const ids = await Promise.all(tenants.map((tenant) => start(small, { tenant, durationMs: 200 })));
    const final = await Promise.all(ids.map((id) => until(small, id, (s) => s.closedAt !== null)));
    expect(final.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  } finally {
    await small.close();
  }
});

it('a cancelled queued job never runs and frees nothing; the next one starts after the holder', async () => {
  // The holder runs until the test ends it (cancelled): on a loaded machine any fixed duration
  // can end before the queue behind it is set up (CI: a 1.5 s holder had closed, and the next job
  // completed, before the test saw it queued).
  const holder = await start(single, { durationMs: 120_000 });
  await until(single, holder, holding);
  const cancelled = await start(single, { durationMs: 10 });
  const next = await start(single, { durationMs: 10 });
  const q = await until(single, cancelled, (s) => s.queue?.position === 1);
  expect(q.status).toBe('queued');
  expect((await post(single, `/api/jobs/${cancelled}/cancel`, { reason: 'not needed' })).statusCode).toBe(
    202,
  );
  const gone = await until(single, cancelled, (s) => s.closedAt !== null);
  expect(gone.status).toBe('cancelled');
  expect(gone.steps.map((s) => s.status)).toEqual(['not_run', 'not_run']);
  expect(gone.steps.every((s) => s.startedAt === null)).toBe(true);
  // The one behind it moved up, and still waits for the holder: the cancel freed no slot.
  const moved = await until(single, next, (s) => s.queue?.position === 1);
  expect(moved.status).toBe('queued');
  expect((await read(single, holder)).closedAt).toBeNull();
  expect((await post(single, `/api/jobs/${holder}/cancel`, { reason: 'done holding' })).statusCode).toBe(202);
  const [h, n] = await Promise.all([
    until(single, holder, (s) => s.closedAt !== null),
    until(single, next, (s) => s.closedAt !== null),
  ]);
  expect([h.status, n.status]).toEqual(['cancelled', 'completed']);
  expect(ranFrom(n)).toBeGreaterThanOrEqual(ranTo(h));
});

it('a higher-priority queued job starts before lower-priority ones queued earlier', async () => {
  // The holder runs until every job is in line, then is cancelled (no fixed duration to race).
  const holder = await start(single, { durationMs: 120_000 });
  await until(single, holder, holding);
  const low = [];
  for (let i = 0; i < 3; i++) low.push(await start(single, { durationMs: 10 }, 5));
  // Every low one is in line before the high one is started.
  for (const id of low)
    await until(single, id, (s) => s.queue?.position !== null && s.queue?.position !== undefined);
  const high = await start(single, { durationMs: 10 }, 1);
  const waiting = await until(single, high, (s) => s.queue?.position === 1);
  expect(waiting.priority).toBe(1);
  expect(waiting.queue?.priority).toBe(1);
  expect((await read(single, holder)).closedAt).toBeNull();
  expect((await post(single, `/api/jobs/${holder}/cancel`, { reason: 'done holding' })).statusCode).toBe(202);
  const done = await Promise.all([high, ...low].map((id) => until(single, id, (s) => s.closedAt !== null)));
  expect(done.map((s) => s.status)).toEqual(Array(4).fill('completed'));
  const [first, ...rest] = done.map(ranFrom);
  for (const t of rest) expect(first).toBeLessThan(t);
  // The low ones ran in the order they arrived.
  expect([...rest].sort((a, b) => a - b)).toEqual(rest);
  expect(done.slice(1).every((s) => s.priority === 5)).toBe(true);
});

it('the slot of a job terminated in Temporal (no chance to give it back) is taken back', async () => {
  const holder = await start(single, { durationMs: 60_000 });
  await until(single, holder, holding);
  const next = await start(single, { durationMs: 10 });
  await until(single, next, (s) => s.queue?.position === 1);
  // Terminated from outside: the job's code never runs again, so it cannot release its slot.
  await single.env.client.workflow.getHandle(holder).terminate('test: a job that dies');
  const done = await until(single, next, (s) => s.closedAt !== null, 30_000);
  expect(done.status).toBe('completed');
});

it('a priority outside 1–5 is a 400 on its path and starts nothing', async () => {
  const jobId = uniqueId('queue');
  for (const priority of [0, 6, 2.5, '1']) {
    const res = await post(single, '/api/jobs', { type: 'demoQueue', jobId, input: {}, priority });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['priority']);
  }
  expect((await single.app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).statusCode).toBe(404);
});
