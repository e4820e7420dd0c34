/**
 * Schedules on the real dev server through the API: an every-5-seconds schedule watched for about
 * a minute — each run starts close to its scheduled time, is listed by the schedule and by the job
 * list's `scheduleId` filter, and is an ordinary job (its card, its `startedBy`, its priority); pause
 * stops runs (the schedule's own count says so) and unpause resumes them; trigger, backfill, update
 * and delete; the Temporal CLI lists it; roles, audit rows, and bad input refused with issue paths
 * and nothing created. No sleeps: every wait polls with a deadline.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobList } from '../../src/api/jobs/schemas';
import type { Schedule } from '../../src/api/schedules/schemas';
import type { AuditPage } from '../../src/api/contracts';
import type { JobState } from '../../workflows/contracts';
import { bearer, testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ vera: 'viewer', 'ops-sam': 'operator', root: 'admin' });
const AS = {
  viewer: bearer(keys.vera),
  operator: bearer(keys['ops-sam']),
  admin: bearer(keys.root),
};
type Caller = keyof typeof AS;

let h: TestApi;
beforeAll(async () => {
  h = await startTestApi({ STEPWISE_API_KEYS });
});
afterAll(() => h?.close());

/** A run lasts about 50 ms: demoWait with short steps. */
const QUICK = { durationMs: 10, waitMs: 10 };
const INTERVAL_S = 5;
/** How late a run may start after its scheduled time on a shared 2-core machine. */
const LATENESS_TOLERANCE_MS = 3_000;

async function api(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  as: Caller = 'operator',
) {
  const headers: Record<string, string> = { ...AS[as] };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return h.app.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}
async function schedule(id: string): Promise<Schedule> {
  const res = await api('GET', `/api/schedules/${id}`, undefined, 'viewer');
  expect([res.statusCode, res.statusCode === 200 ? '' : res.body]).toEqual([200, '']);
  return res.json<Schedule>();
}
const until = (id: string, done: (s: Schedule) => boolean, timeoutMs = 60_000) =>
  waitFor(() => schedule(id), done, timeoutMs, 200);

async function jobState(jobId: string): Promise<JobState> {
  const res = await api('GET', `/api/jobs/${encodeURIComponent(jobId)}`, undefined, 'viewer');
  expect([jobId, res.statusCode]).toEqual([jobId, 200]);
  return res.json<JobState>();
}

it('an interval schedule runs each job on time, as an ordinary job; pause, unpause, trigger, backfill, update, delete', async () => {
  const scheduleId = uniqueId('every5s');
  const created = await api('POST', '/api/schedules', {
    scheduleId,
    type: 'demoWait',
    input: QUICK,
    intervalSeconds: INTERVAL_S,
    priority: 2,
    overlap: 'allow_all',
  });
  expect(created.statusCode).toBe(201);
  const fresh = created.json<Schedule>();
  expect(fresh).toMatchObject({
    scheduleId,
    type: 'demoWait',
    // After the schema's defaults, as a job start stores it.
    input: { ...QUICK },
    cron: null,
    intervalSeconds: INTERVAL_S,
    timeZone: 'UTC',
    overlap: 'allow_all',
    priority: 2,
    paused: false,
    createdBy: 'ops-sam',
  });
  expect(fresh.nextRuns).toHaveLength(10);
  for (const [i, t] of fresh.nextRuns.entries()) {
    expect(Date.parse(t) % (INTERVAL_S * 1000)).toBe(0);
    if (i > 0) expect(Date.parse(t) - Date.parse(fresh.nextRuns[i - 1])).toBe(INTERVAL_S * 1000);
  }
  // A second create with the same id: 409, nothing changed.
  const again = await api('POST', '/api/schedules', { scheduleId, type: 'demoWait', intervalSeconds: 60 });
  expect(again.statusCode).toBe(409);
  expect((await schedule(scheduleId)).intervalSeconds).toBe(INTERVAL_S);

  // About a minute of runs.
  const watched = await until(scheduleId, (s) => s.runsTaken >= 11, 90_000);
  const runs = watched.recentRuns;
  expect(runs.length).toBeGreaterThanOrEqual(10);
  const lateness: number[] = [];
  for (const run of runs) {
    expect(run.jobId).toBe(`demoWait-${scheduleId}-${run.scheduledAt.replace(/\.000Z$/, 'Z')}`);
    expect(Date.parse(run.scheduledAt) % (INTERVAL_S * 1000)).toBe(0);
    // The run's card: an ordinary job, started by the schedule's creator.
    const state = await jobState(run.jobId);
    expect(state.type).toBe('demoWait');
    const late = Date.parse(state.startedAt) - Date.parse(run.scheduledAt);
    lateness.push(late);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(LATENESS_TOLERANCE_MS);
  }
  console.log(
    `[schedules] ${lateness.length} runs, start lateness ms: min ${Math.min(...lateness)}, median ${
      [...lateness].sort((a, b) => a - b)[Math.floor(lateness.length / 2)]
    }, max ${Math.max(...lateness)}`,
  );
  // Their statuses come from the job list; they all complete.
  const settled = await until(scheduleId, (s) =>
    s.recentRuns.slice(1).every((r) => r.status === 'completed'),
  );
  expect(settled.recentRuns.slice(1).every((r) => r.closedAt !== null)).toBe(true);

  // The job list filters by schedule; each run carries the start's search attributes.
  const listed = await waitFor(
    async () => {
      const res = await api('GET', `/api/jobs?scheduleId=${scheduleId}&pageSize=100`, undefined, 'viewer');
      expect(res.statusCode).toBe(200);
      return res.json<JobList>();
    },
    (l) => runs.every((r) => l.jobs.some((j) => j.jobId === r.jobId)),
  );
  for (const job of listed.jobs) {
    expect(job).toMatchObject({ type: 'demoWait', startedBy: 'ops-sam', parentJobId: null });
    expect(job.jobId.startsWith(`demoWait-${scheduleId}-`)).toBe(true);
  }
  const other = await api('GET', `/api/jobs?scheduleId=${uniqueId('none')}`, undefined, 'viewer');
  expect(other.json<JobList>().jobs).toEqual([]);
  // The priority is the action's.
  const described = await h.env.client.workflow.getHandle(runs[0].jobId).describe();
  expect(described.priority?.priorityKey).toBe(2);

  // Pause with a note: no run starts while paused, by the schedule's own count.
  const paused = await api('POST', `/api/schedules/${scheduleId}/pause`, { note: 'maintenance window' });
  expect(paused.statusCode).toBe(200);
  expect(paused.json<Schedule>()).toMatchObject({ paused: true, note: 'maintenance window', nextRuns: [] });
  const takenAtPause = paused.json<Schedule>().runsTaken;
  const pausedAt = Date.now();
  // Read until two of its times passed: every read still paused, no run taken.
  await waitFor(
    async () => {
      const s = await schedule(scheduleId);
      expect([s.paused, s.runsTaken]).toEqual([true, takenAtPause]);
      return s;
    },
    () => Date.now() > pausedAt + 2 * INTERVAL_S * 1000 + 500,
    30_000,
    250,
  );

  // Trigger while paused: exactly one run, now.
  const triggered = await api('POST', `/api/schedules/${scheduleId}/trigger`, {});
  expect(triggered.statusCode).toBe(202);
  const afterTrigger = await until(scheduleId, (s) => s.runsTaken === takenAtPause + 1);
  const manual = afterTrigger.recentRuns[0];
  expect(Math.abs(Date.parse(manual.scheduledAt) - Date.now())).toBeLessThan(10_000);
  expect((await jobState(manual.jobId)).type).toBe('demoWait');

  // Backfill four past times (still paused): four runs with those scheduled times.
  const t0 = Math.floor(Date.now() / (INTERVAL_S * 1000)) * INTERVAL_S * 1000 - 60_000;
  const backfill = await api('POST', `/api/schedules/${scheduleId}/backfill`, {
    start: new Date(t0 - 4 * INTERVAL_S * 1000).toISOString(),
    end: new Date(t0 - 1000).toISOString(),
    overlap: 'allow_all',
  });
  expect(backfill.statusCode).toBe(202);
  const afterBackfill = await until(scheduleId, (s) => s.runsTaken === takenAtPause + 5);
  const backfilled = afterBackfill.recentRuns.map((r) => Date.parse(r.scheduledAt)).filter((t) => t < t0);
  expect(backfilled.sort()).toEqual([4, 3, 2, 1].map((k) => t0 - k * INTERVAL_S * 1000));
  expect(afterBackfill.paused).toBe(true);

  // Unpause: runs resume on their own.
  const unpaused = await api('POST', `/api/schedules/${scheduleId}/unpause`, { note: 'back on' });
  expect(unpaused.json<Schedule>()).toMatchObject({ paused: false, note: 'back on' });
  await until(scheduleId, (s) => s.runsTaken > takenAtPause + 5, 30_000);

  // The Temporal CLI sees it.
  const cli = JSON.parse(readFileSync(join(__dirname, '../../.tools/temporal-cli.json'), 'utf8')) as {
    path: string;
  };
  const { stdout } = await promisify(execFile)(cli.path, [
    'schedule',
    'list',
    '--address',
    process.env.STEPWISE_TEST_TEMPORAL_ADDRESS!,
    '--output',
    'json',
  ]);
  expect(stdout).toContain(scheduleId);

  // Update: hourly, a new input; then a cron in Berlin time.
  const hourly = await api('PATCH', `/api/schedules/${scheduleId}`, {
    intervalSeconds: 3600,
    input: { ...QUICK, waitMs: 20 },
  });
  expect(hourly.statusCode).toBe(200);
  const hourlyS = hourly.json<Schedule>();
  expect(hourlyS).toMatchObject({ intervalSeconds: 3600, cron: null, input: { waitMs: 20 }, priority: 2 });
  expect(Date.parse(hourlyS.nextRuns[1]) - Date.parse(hourlyS.nextRuns[0])).toBe(3_600_000);
  const cron = await api('PATCH', `/api/schedules/${scheduleId}`, {
    cron: '30 3 * * *',
    timeZone: 'Europe/Berlin',
  });
  expect(cron.statusCode).toBe(200);
  const cronS = cron.json<Schedule>();
  expect(cronS).toMatchObject({ cron: '30 3 * * *', intervalSeconds: null, timeZone: 'Europe/Berlin' });
  for (const t of cronS.nextRuns) {
    const berlin = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
    }).format(new Date(t));
    expect(berlin).toBe('03:30');
  }
  // An update with a bad input changes nothing.
  const badUpdate = await api('PATCH', `/api/schedules/${scheduleId}`, { input: { waitMs: -1 } });
  expect(badUpdate.statusCode).toBe(400);
  expect(badUpdate.json<{ issues: { path: unknown[] }[] }>().issues[0].path).toEqual(['input', 'waitMs']);
  expect((await schedule(scheduleId)).input).toMatchObject({ waitMs: 20 });

  // Listed by GET /api/schedules (Temporal's schedule list catches up a moment later).
  await waitFor(
    async () =>
      (await api('GET', '/api/schedules?pageSize=50', undefined, 'viewer')).json<{ schedules: Schedule[] }>(),
    (l) => l.schedules.some((s) => s.scheduleId === scheduleId && s.cron === '30 3 * * *'),
  );

  // Delete: gone, and its runs are still ordinary jobs.
  expect((await api('DELETE', `/api/schedules/${scheduleId}`)).statusCode).toBe(204);
  expect((await api('GET', `/api/schedules/${scheduleId}`, undefined, 'viewer')).statusCode).toBe(404);
  expect((await api('DELETE', `/api/schedules/${scheduleId}`)).statusCode).toBe(404);
  expect((await jobState(runs[0].jobId)).status).toBe('completed');

  // Every change is in the audit trail, under the schedule's id, the notes as reasons.
  const audit = (
    await api('GET', `/api/audit?jobId=${scheduleId}&limit=50`, undefined, 'admin')
  ).json<AuditPage>();
  const rows = audit.entries.map((e) => [e.action, e.outcome, e.actor, e.reason]);
  expect(rows).toEqual(
    expect.arrayContaining([
      ['schedule-create', 'accepted', 'ops-sam', null],
      ['schedule-create', 'refused', 'ops-sam', null],
      ['schedule-pause', 'accepted', 'ops-sam', 'maintenance window'],
      ['schedule-trigger', 'accepted', 'ops-sam', null],
      ['schedule-backfill', 'accepted', 'ops-sam', null],
      ['schedule-unpause', 'accepted', 'ops-sam', 'back on'],
      ['schedule-update', 'accepted', 'ops-sam', null],
      ['schedule-delete', 'accepted', 'ops-sam', null],
    ]),
  );
});

it('viewers read schedules; only operators change them', async () => {
  const scheduleId = uniqueId('roles');
  const body = { scheduleId, type: 'demoWait', input: QUICK, cron: '0 0 1 1 *', paused: true };
  expect((await api('POST', '/api/schedules', body, 'viewer')).statusCode).toBe(403);
  expect((await api('GET', `/api/schedules/${scheduleId}`, undefined, 'viewer')).statusCode).toBe(404);
  expect((await api('POST', '/api/schedules', body)).statusCode).toBe(201);
  const s = await schedule(scheduleId);
  expect(s).toMatchObject({ cron: '0 0 1 1 *', paused: true, note: null, nextRuns: [] });
  for (const [method, url, payload] of [
    ['PATCH', `/api/schedules/${scheduleId}`, { intervalSeconds: 60 }],
    ['DELETE', `/api/schedules/${scheduleId}`, undefined],
    ['POST', `/api/schedules/${scheduleId}/pause`, {}],
    ['POST', `/api/schedules/${scheduleId}/unpause`, {}],
    ['POST', `/api/schedules/${scheduleId}/trigger`, {}],
    [
      'POST',
      `/api/schedules/${scheduleId}/backfill`,
      { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
    ],
  ] as const) {
    expect([method, url, (await api(method, url, payload, 'viewer')).statusCode]).toEqual([method, url, 403]);
  }
  expect(await schedule(scheduleId)).toMatchObject({ cron: '0 0 1 1 *', paused: true, runsTaken: 0 });
  expect((await api('DELETE', `/api/schedules/${scheduleId}`)).statusCode).toBe(204);
});

it('bad input is a 400 with issue paths, and creates nothing', async () => {
  const base = { type: 'demoWait', input: QUICK, intervalSeconds: 60 };
  const cases: [string, Record<string, unknown>, (string | number)[]][] = [
    ['bad cron', { ...base, intervalSeconds: undefined, cron: 'every day' }, ['cron']],
    ['out-of-range cron', { ...base, intervalSeconds: undefined, cron: '61 * * * *' }, ['cron']],
    ['bad time zone', { ...base, timeZone: 'Mars/Olympus' }, ['timeZone']],
    ['unknown type', { ...base, type: 'noSuchType' }, ['type']],
    ['internal type', { ...base, type: 'demoTask' }, ['type']],
    ['invalid input', { ...base, input: { waitMs: 'soon' } }, ['input', 'waitMs']],
    ['interval too small', { ...base, intervalSeconds: 0 }, ['intervalSeconds']],
    ['fractional interval', { ...base, intervalSeconds: 1.5 }, ['intervalSeconds']],
    ['neither cron nor interval', { ...base, intervalSeconds: undefined }, ['cron']],
    ['both cron and interval', { ...base, cron: '@daily' }, ['cron']],
    ['priority out of range', { ...base, priority: 6 }, ['priority']],
    ['note too long', { ...base, note: 'x'.repeat(501) }, ['note']],
    [
      'end before start',
      { ...base, startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' },
      ['endAt'],
    ],
    ['bad id', { ...base, scheduleId: 'no/slashes' }, ['scheduleId']],
    ['unknown field', { ...base, workflowId: 'x' }, ['workflowId']],
  ];
  for (const [what, body, path] of cases) {
    const scheduleId = typeof body.scheduleId === 'string' ? body.scheduleId : uniqueId('bad');
    const res = await api('POST', '/api/schedules', { scheduleId, ...body });
    expect([what, res.statusCode]).toEqual([what, 400]);
    const issues = res.json<{ issues: { path: (string | number)[] }[] }>().issues;
    expect([what, issues.map((i) => i.path)]).toEqual([what, expect.arrayContaining([path])]);
    if (scheduleId !== 'no/slashes') {
      expect([
        what,
        (await api('GET', `/api/schedules/${scheduleId}`, undefined, 'viewer')).statusCode,
      ]).toEqual([what, 404]);
    }
  }
  // Bounded paging, notes and backfills.
  expect((await api('GET', '/api/schedules?pageSize=51', undefined, 'viewer')).statusCode).toBe(400);
  expect((await api('GET', '/api/schedules?pageToken=%2B%2B', undefined, 'viewer')).statusCode).toBe(400);
  const scheduleId = uniqueId('bounds');
  expect((await api('POST', '/api/schedules', { scheduleId, ...base, paused: true })).statusCode).toBe(201);
  const longNote = await api('POST', `/api/schedules/${scheduleId}/pause`, { note: 'x'.repeat(501) });
  expect(longNote.statusCode).toBe(400);
  const tooLong = await api('POST', `/api/schedules/${scheduleId}/backfill`, {
    start: '2026-01-01T00:00:00Z',
    end: '2026-03-01T00:00:00Z',
  });
  expect(tooLong.statusCode).toBe(400);
  expect(tooLong.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['end']);
  // A minute schedule over 31 days: over 1,000 runs.
  const tooMany = await api('POST', `/api/schedules/${scheduleId}/backfill`, {
    start: '2026-01-01T00:00:00Z',
    end: '2026-01-02T00:00:00Z',
  });
  expect(tooMany.statusCode).toBe(400);
  expect(tooMany.json<{ message: string }>().message).toMatch(/1000/);
  expect((await schedule(scheduleId)).runsTaken).toBe(0);
  expect((await api('DELETE', `/api/schedules/${scheduleId}`)).statusCode).toBe(204);
  // Unknown schedules: 404; a malformed id: 400.
  expect((await api('POST', `/api/schedules/${uniqueId('ghost')}/trigger`, {})).statusCode).toBe(404);
  expect((await api('GET', '/api/schedules/bad%20id', undefined, 'viewer')).statusCode).toBe(400);
});
