/**
 * Bulk actions (`POST /api/bulk`) against the real dev server: a bulk job is a job of its own
 * (`stepwiseBulk`) with progress and per-item results, each item checked against the caller's role
 * and recorded in the audit trail exactly once.
 */
import type { AuditEntry, AuditPage } from '../../src/api/contracts';
import type { JobState } from '../../workflows/contracts';
import { BULK_JOB_TYPE, type BulkResults } from '../../workflows/engine/bulk-contracts';
import { startTestApi, type TestApi } from '../api-harness';
import { bearer, closedJobState, testApiKeys, uniqueId, waitFor } from '../helpers';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ ops: 'operator', look: 'viewer', boss: 'admin' });
const BULK_MAX = 60;
let harness: TestApi;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS, STEPWISE_BULK_MAX: String(BULK_MAX) });
});
afterAll(async () => {
  await harness?.close();
});

const post = (url: string, payload: unknown, key = keys.ops) =>
  harness.app.inject({ method: 'POST', url, payload: payload as object, headers: bearer(key) });
const get = (url: string, key = keys.ops) => harness.app.inject({ method: 'GET', url, headers: bearer(key) });

/** A demo job whose first step runs for minutes: it stays running until acted on. */
async function startLongJobs(n: number, prefix: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const { jobId } = await harness.jobs.start(
        'demoPipeline',
        { steps: { extract: { durationMs: 300_000 } } },
        { jobId: `${prefix}-${i}` },
      );
      return jobId;
    }),
  );
}

/** Every audit row of `jobId`, read as an admin. */
async function auditOf(jobId: string): Promise<AuditEntry[]> {
  const res = await get(`/api/audit?jobId=${jobId}&limit=200`, keys.boss);
  expect(res.statusCode).toBe(200);
  return (res.json() as AuditPage).entries;
}

const bulkRows = (rows: AuditEntry[], bulkJobId: string) =>
  rows.filter((r) => r.requestId.startsWith(`bulk/${bulkJobId}/`));

const resultsOf = (state: JobState): BulkResults =>
  state.steps.find((s) => s.key === 'results')!.result as unknown as BulkResults;

test('a bulk cancel of 50 running jobs is a job with its own progress, per-item results and audit rows; all 50 end cancelled', async () => {
  const prefix = uniqueId('bulk50');
  const jobIds = await startLongJobs(50, prefix);
  const res = await post('/api/bulk', { action: 'cancel', jobIds, reason: 'bulk test' });
  expect(res.statusCode).toBe(201);
  const started = res.json() as { jobId: string; type: string; items: number };
  expect(started).toMatchObject({ type: BULK_JOB_TYPE, items: 50 });

  const bulk = await closedJobState(harness.jobs, started.jobId, 120_000);
  expect(bulk.status).toBe('completed');
  expect(bulk.progress).toBe(100);
  const results = resultsOf(bulk);
  expect(results.counts).toEqual({ total: 50, ok: 50, refused: 0, not_found: 0, error: 0 });
  expect(results.items.map((i) => i.jobId)).toEqual(jobIds);
  expect(results.items.every((i) => i.outcome === 'ok' && i.status === 'cancelling')).toBe(true);

  // Every job ends cancelled, the actor on its control log the caller's key name.
  for (const jobId of jobIds) {
    const s = await closedJobState(harness.jobs, jobId, 60_000);
    expect(s.status).toBe('cancelled');
  }

  // The bulk start is audited once, and each item once, with the actor, role and outcome.
  const startRows = await auditOf(started.jobId);
  expect(startRows).toHaveLength(1);
  expect(startRows[0]).toMatchObject({ action: 'bulk', actor: 'ops', outcome: 'accepted', statusCode: 201 });
  for (const jobId of jobIds) {
    const rows = bulkRows(await auditOf(jobId), started.jobId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'ops',
      role: 'operator',
      action: 'cancel',
      jobId,
      reason: 'bulk test',
      outcome: 'accepted',
      ip: null,
    });
  }
  // The bulk job is listed like any job.
  const listed = await get(`/api/jobs?type=${BULK_JOB_TYPE}&jobIdPrefix=${started.jobId}`);
  expect(listed.json().jobs.map((j: { jobId: string }) => j.jobId)).toEqual([started.jobId]);
}, 240_000);

test('a mixed set — an unknown id, a closed job, another bulk job — gives per-item not_found and refused; the job ends completed_with_errors', async () => {
  const prefix = uniqueId('bulkmix');
  const [running] = await startLongJobs(1, prefix);
  const { jobId: done } = await harness.jobs.start('example', { durationMs: 0 }, { jobId: `${prefix}-done` });
  await closedJobState(harness.jobs, done);
  const first = (await post('/api/bulk', { action: 'cancel', jobIds: [running] })).json() as {
    jobId: string;
  };
  await closedJobState(harness.jobs, first.jobId);

  const unknown = `${prefix}-nope`;
  const res = await post('/api/bulk', { action: 'cancel', jobIds: [unknown, done, first.jobId] });
  expect(res.statusCode).toBe(201);
  const bulk = await closedJobState(harness.jobs, (res.json() as { jobId: string }).jobId);
  expect(bulk.status).toBe('completed_with_errors');
  const { counts, items } = resultsOf(bulk);
  expect(counts).toEqual({ total: 3, ok: 0, refused: 2, not_found: 1, error: 0 });
  expect(items.map((i) => [i.jobId, i.outcome])).toEqual([
    [unknown, 'not_found'],
    [done, 'refused'],
    [first.jobId, 'refused'],
  ]);
  expect(items[2].message).toMatch(/is a bulk job/);
  expect(bulk.steps.find((s) => s.key === 'verdict')!.error?.message).toMatch(/3 of 3 jobs were not done/);
  const rows = bulkRows(await auditOf(done), bulk.jobId);
  expect(rows).toMatchObject([{ action: 'cancel', outcome: 'refused', statusCode: 409 }]);
}, 120_000);

test('a filter form: every running job with an id prefix', async () => {
  const prefix = uniqueId('bulkfilter');
  const jobIds = await startLongJobs(3, prefix);
  // The list is eventually consistent: wait until it shows all three.
  await waitFor(
    async () => (await get(`/api/jobs?jobIdPrefix=${prefix}&status=running`)).json().jobs.length,
    (n) => n === 3,
  );
  const res = await post('/api/bulk', {
    action: 'pause',
    filter: { jobIdPrefix: prefix, status: 'running' },
  });
  expect(res.statusCode).toBe(201);
  expect(res.json().items).toBe(3);
  const bulk = await closedJobState(harness.jobs, res.json().jobId);
  expect(bulk.status).toBe('completed');
  expect(
    resultsOf(bulk)
      .items.map((i) => i.jobId)
      .sort(),
  ).toEqual([...jobIds].sort());
  for (const jobId of jobIds) {
    expect((await harness.jobs.get(jobId)).status).toMatch(/^paus/);
    await harness.jobs.cancel(jobId);
  }
}, 120_000);

test('refusals start nothing: a viewer, more than STEPWISE_BULK_MAX, a bad body, and POST /api/jobs of the bulk type', async () => {
  const prefix = uniqueId('bulkrefuse');
  const before = async () =>
    (await get(`/api/jobs?type=${BULK_JOB_TYPE}&startedBy=look&pageSize=100`)).json().jobs.length as number;

  const viewer = await post('/api/bulk', { action: 'cancel', jobIds: [`${prefix}-a`] }, keys.look);
  expect(viewer.statusCode).toBe(403);
  expect(await before()).toBe(0);

  const tooMany = Array.from({ length: BULK_MAX + 1 }, (_, i) => `${prefix}-${i}`);
  const over = await post('/api/bulk', { action: 'cancel', jobIds: tooMany });
  expect(over.statusCode).toBe(413);
  expect(over.json().message).toMatch(`at most ${BULK_MAX} jobs (STEPWISE_BULK_MAX)`);

  const both = await post('/api/bulk', { action: 'cancel', jobIds: ['a'], filter: { status: 'running' } });
  expect(both.statusCode).toBe(400);
  expect(both.json().issues).toEqual([
    { path: ['jobIds'], message: 'give exactly one of jobIds and filter' },
  ]);
  const twice = await post('/api/bulk', { action: 'cancel', jobIds: ['a', 'a'] });
  expect(twice.statusCode).toBe(400);
  expect(twice.json().issues[0].path).toEqual(['jobIds', 1]);
  const actorInBody = await post('/api/bulk', {
    action: 'cancel',
    jobIds: ['a'],
    actor: { name: 'x', role: 'admin' },
  });
  expect(actorInBody.statusCode).toBe(400);
  const none = await post('/api/bulk', { action: 'cancel', filter: { jobIdPrefix: `${prefix}-none` } });
  expect(none.statusCode).toBe(400);
  expect(none.json().message).toBe('The filter matches no jobs');
  const form = await harness.app.inject({
    method: 'POST',
    url: '/api/bulk',
    payload: 'action=cancel',
    headers: { ...bearer(keys.ops), 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(form.statusCode).toBe(415);

  const direct = await post('/api/jobs', {
    type: BULK_JOB_TYPE,
    input: { action: 'cancel', jobIds: ['a'], actor: { name: 'x', role: 'admin' } },
  });
  expect(direct.statusCode).toBe(400);
  expect(direct.json().message).toMatch(/POST \/api\/bulk/);

  const rows = (await get(`/api/audit?action=bulk&outcome=refused&limit=200`, keys.boss)).json() as AuditPage;
  expect(rows.entries.filter((r) => r.actor === 'look' && r.statusCode === 403)).toHaveLength(1);
}, 60_000);

test('a filter that matches more than STEPWISE_BULK_MAX jobs is refused with 413', async () => {
  const prefix = uniqueId('bulkover');
  await startLongJobs(BULK_MAX + 1, prefix);
  await waitFor(
    async () => (await harness.jobs.list({ jobIdPrefix: prefix, pageSize: 100 })).jobs.length,
    (n) => n === BULK_MAX + 1,
  );
  const res = await post('/api/bulk', { action: 'cancel', filter: { jobIdPrefix: prefix } });
  expect(res.statusCode).toBe(413);
  expect(res.json().message).toBe(
    `The filter matches more than ${BULK_MAX} jobs (STEPWISE_BULK_MAX); narrow the filter`,
  );
  // Clean up through a bulk job in two parts (each within the maximum).
  const ids = (await harness.jobs.list({ jobIdPrefix: prefix, pageSize: 100 })).jobs.map((j) => j.jobId);
  for (const part of [ids.slice(0, BULK_MAX), ids.slice(BULK_MAX)]) {
    const r = await post('/api/bulk', { action: 'cancel', jobIds: part });
    await closedJobState(harness.jobs, r.json().jobId, 120_000);
  }
}, 240_000);

test('a paused bulk job stops between chunks and goes on when resumed; retry acts on closed jobs', async () => {
  const prefix = uniqueId('bulkpause');
  const jobIds = await startLongJobs(40, prefix);
  const res = await post('/api/bulk', { action: 'cancel', jobIds });
  expect(res.statusCode).toBe(201);
  const bulkId = (res.json() as { jobId: string }).jobId;
  const ack = await harness.jobs.pause(bulkId, { by: 'ops' });
  expect(['pausing', 'paused']).toContain(ack.status);
  await waitFor(
    () => harness.jobs.get(bulkId),
    (s) => s.status === 'paused',
    60_000,
  );
  const rowsOf = async () =>
    (
      (await get(`/api/audit?actor=ops&action=cancel&limit=200`, keys.boss)).json() as AuditPage
    ).entries.filter((r) => r.requestId.startsWith(`bulk/${bulkId}/`));
  // Paused after a whole chunk (5 jobs): the rest are untouched and still running.
  const whilePaused = await rowsOf();
  expect(whilePaused.length % 5).toBe(0);
  expect(whilePaused.length).toBeLessThan(40);
  const untouched = jobIds.filter((id) => !whilePaused.some((r) => r.jobId === id));
  expect((await harness.jobs.get(untouched[0])).status).toBe('running');

  await harness.jobs.resume(bulkId, { by: 'ops' });
  const bulk = await closedJobState(harness.jobs, bulkId, 120_000);
  expect(bulk.status).toBe('completed');
  expect(resultsOf(bulk).counts.ok).toBe(40);
  expect(await rowsOf()).toHaveLength(40);
  for (const id of jobIds) expect((await closedJobState(harness.jobs, id)).status).toBe('cancelled');

  // Retry two of them from their first step, then cancel those again.
  const retry = await post('/api/bulk', { action: 'retry', jobIds: jobIds.slice(0, 2), fromStep: 1 });
  expect(retry.statusCode).toBe(201);
  const retried = await closedJobState(harness.jobs, retry.json().jobId);
  expect(retried.status).toBe('completed');
  expect(resultsOf(retried).items.map((i) => [i.outcome, i.status])).toEqual([
    ['ok', 'running'],
    ['ok', 'running'],
  ]);
  const again = await post('/api/bulk', { action: 'cancel', jobIds: jobIds.slice(0, 2) });
  expect((await closedJobState(harness.jobs, again.json().jobId)).status).toBe('completed');
}, 240_000);

test('each item is checked against the actor’s role in the worker: a viewer actor acts on nothing', async () => {
  const prefix = uniqueId('bulkrole');
  const [jobId] = await startLongJobs(1, prefix);
  // Only a program can start a bulk job with a viewer actor (the API refuses viewers with 403).
  const { jobId: bulkId } = await harness.jobs.bulk({
    action: 'cancel',
    jobIds: [jobId],
    actor: { name: 'look', role: 'viewer' },
  });
  const bulk = await closedJobState(harness.jobs, bulkId);
  expect(bulk.status).toBe('completed_with_errors');
  expect(resultsOf(bulk).items).toEqual([
    { jobId, outcome: 'refused', message: 'Role viewer may not cancel jobs (needs operator)' },
  ]);
  expect((await harness.jobs.get(jobId)).status).toBe('running');
  expect(bulkRows(await auditOf(jobId), bulkId)).toMatchObject([
    { actor: 'look', role: 'viewer', action: 'cancel', outcome: 'refused', statusCode: 403 },
  ]);
  await harness.jobs.cancel(jobId);
}, 60_000);
