/**
 * The fleet view's listing, as an operator's client uses it: top-level jobs only, search by id
 * prefix and by who started a job, time ranges, sorting by start, close and duration, paging
 * through all of it, and the same filters on the list stream. Every listing here is scoped to
 * this file's own id prefix (other test files share the dev server). Real dev server, keys on.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JobList, JobSummary } from '../../src/api/jobs/schemas';
import type { JobState } from '../../workflows/contracts';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ alice: 'operator', bob: 'operator' });
const as = (who: 'alice' | 'bob') => ({ authorization: `Bearer ${keys[who]}` });

let harness: TestApi;
let app: NestFastifyApplication;
const prefix = uniqueId('fleet');
/** Top-level jobs by who started them, oldest first. */
const byAlice: string[] = [];
const byBob: string[] = [];

const get = async <T>(url: string, who: 'alice' | 'bob' = 'alice'): Promise<T> => {
  const res = await app.inject({ method: 'GET', url, headers: as(who) });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
  return res.json<T>();
};
const list = (query: string): Promise<JobList> =>
  get<JobList>(`/api/jobs?jobIdPrefix=${encodeURIComponent(prefix)}&${query}`);

/** Every job of a listing, page after page of `pageSize`; fails on a job listed twice. */
async function all(query: string, pageSize = 2): Promise<JobSummary[]> {
  const jobs: JobSummary[] = [];
  let token: string | null = null;
  do {
    const page: JobList = await list(
      `${query}&pageSize=${pageSize}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
    );
    expect(page.jobs.length).toBeLessThanOrEqual(pageSize);
    jobs.push(...page.jobs);
    token = page.nextPageToken;
  } while (token);
  expect(new Set(jobs.map((j) => j.jobId)).size).toBe(jobs.length);
  return jobs;
}

const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));
const duration = (j: JobSummary): number => ms(j.closedAt) - ms(j.startedAt);

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS, STEPWISE_LIST_SORT_MAX: '5' }, { listen: true });
  app = harness.app;
  // Started one after another, with durations that differ, so start, close and duration orders differ.
  const plan: ['alice' | 'bob', number][] = [
    ['alice', 600],
    ['bob', 10],
    ['alice', 200],
    ['alice', 10],
  ];
  for (const [i, [who, durationMs]] of plan.entries()) {
    const jobId = `${prefix}-${i}`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/jobs',
      headers: { ...as(who), 'content-type': 'application/json' },
      payload: { type: 'example', jobId, input: { durationMs } },
    });
    expect(res.statusCode).toBe(201);
    (who === 'alice' ? byAlice : byBob).push(jobId);
  }
  for (const jobId of [...byAlice, ...byBob]) {
    await waitFor(
      () => get<JobState>(`/api/jobs/${jobId}`),
      (s) => s.closedAt !== null,
      60_000,
      200,
    );
  }
  // The visibility store is eventually consistent: wait until it lists every close.
  await waitFor(
    () => list('topLevel=true&pageSize=100'),
    (l) => l.jobs.length === 4 && l.jobs.every((j) => j.closedAt !== null),
    30_000,
    200,
  );
});

afterAll(async () => {
  await harness?.close();
});

describe('GET /api/jobs for the fleet view', () => {
  it('topLevel=true lists the jobs without their sub-jobs; topLevel=false only the sub-jobs', async () => {
    const top = await all('topLevel=true');
    expect(top.map((j) => j.jobId).sort()).toEqual([...byAlice, ...byBob].sort());
    expect(top.every((j) => j.parentJobId === null)).toBe(true);
    const subs = await waitFor(
      () => all('topLevel=false'),
      (s) => s.length === 4,
      30_000,
      200,
    );
    for (const s of subs) {
      expect(s.parentJobId).not.toBeNull();
      expect(top.map((j) => j.jobId)).toContain(s.parentJobId);
    }
    // Without topLevel the prefix finds both: a sub-job's id starts with its job's.
    expect((await all('')).length).toBe(8);
  });

  it('finds a job by the start of its id', async () => {
    const [job] = (await list(`topLevel=true`)).jobs.filter((j) => j.jobId === `${prefix}-2`);
    expect(job).toBeDefined();
    const found = await get<JobList>(`/api/jobs?jobIdPrefix=${encodeURIComponent(`${prefix}-2`)}`);
    expect(found.jobs.map((j) => j.jobId).sort()).toEqual([`${prefix}-2`, `${prefix}-2/subJob`]);
  });

  it('says who started each job, and filters by it', async () => {
    const top = await all('topLevel=true');
    for (const j of top) expect(j.startedBy).toBe(byAlice.includes(j.jobId) ? 'alice' : 'bob');
    expect((await all('startedBy=alice')).map((j) => j.jobId).sort()).toEqual([...byAlice].sort());
    expect((await all('startedBy=bob')).map((j) => j.jobId)).toEqual(byBob);
    expect(await all('startedBy=nobody')).toEqual([]);
    // Sub-jobs were started by their job, not by a key.
    expect((await all('topLevel=false')).every((j) => j.startedBy === null)).toBe(true);
  });

  it('filters by a start and a close time range: …After inclusive, …Before exclusive', async () => {
    const top = await all('topLevel=true&sort=startedAt');
    // Two jobs can start or close within the same millisecond: the expected sets are by time, not by index.
    const ids = (keep: (j: JobSummary) => boolean): string[] =>
      top
        .filter(keep)
        .map((j) => j.jobId)
        .sort();
    const listed = async (query: string): Promise<string[]> =>
      (await all(`topLevel=true&${query}`)).map((j) => j.jobId).sort();
    const from = top[2].startedAt;
    const later = await listed(`startedAfter=${encodeURIComponent(from)}`);
    expect(later).toEqual(ids((j) => ms(j.startedAt) >= ms(from)));
    expect(later.length).toBeGreaterThanOrEqual(2);
    expect(await listed(`startedBefore=${encodeURIComponent(from)}`)).toEqual(
      ids((j) => ms(j.startedAt) < ms(from)),
    );
    // The first close after the earliest one (two jobs can close within the same millisecond).
    const closes = top.map((j) => ms(j.closedAt)).sort((x, y) => x - y);
    const closedFrom = new Date(closes.find((t) => t > closes[0])!).toISOString();
    const closedLater = await listed(`closedAfter=${encodeURIComponent(closedFrom)}`);
    expect(closedLater).toEqual(ids((j) => ms(j.closedAt) >= ms(closedFrom)));
    expect(closedLater.length).toBeLessThan(4);
    expect(await listed(`closedBefore=${encodeURIComponent(closedFrom)}`)).toEqual(
      ids((j) => ms(j.closedAt) < ms(closedFrom)),
    );
    // An offset is a zone like Z: the same instant written in +02:00 selects the same jobs.
    const shifted = new Date(ms(from) + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect(await listed(`startedAfter=${encodeURIComponent(shifted)}`)).toEqual(later);
  });

  it.each([
    ['startedAt', (j: JobSummary) => ms(j.startedAt), 1],
    ['-startedAt', (j: JobSummary) => ms(j.startedAt), -1],
    ['closedAt', (j: JobSummary) => ms(j.closedAt), 1],
    ['-closedAt', (j: JobSummary) => ms(j.closedAt), -1],
    ['duration', duration, 1],
    ['-duration', duration, -1],
  ] as const)('sort=%s orders every page, and the pages hold every job once', async (sort, key, dir) => {
    const jobs = await all(`topLevel=true&sort=${sort}`, 3);
    expect(jobs).toHaveLength(4);
    for (let i = 1; i < jobs.length; i++)
      expect((key(jobs[i]) - key(jobs[i - 1])) * dir).toBeGreaterThanOrEqual(0);
  });

  it('without sort, lists closed jobs most recently closed first (Temporal’s order, as documented)', async () => {
    const jobs = await all('topLevel=true');
    for (let i = 1; i < jobs.length; i++)
      expect(ms(jobs[i].closedAt)).toBeLessThanOrEqual(ms(jobs[i - 1].closedAt));
  });

  it('orders differently by start and by duration (the fixture is not trivially sorted)', async () => {
    const byStart = (await all('topLevel=true&sort=startedAt')).map((j) => j.jobId);
    const byDuration = (await all('topLevel=true&sort=duration')).map((j) => j.jobId);
    expect(byStart).toEqual([`${prefix}-0`, `${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
    expect(byDuration).not.toEqual(byStart);
    expect(byDuration.at(-1)).toBe(`${prefix}-0`);
  });
});

describe('bad listings change nothing and say why', () => {
  it.each([
    ['startedAfter=yesterday', 'startedAfter'],
    ['startedAfter=2026-01-01T00:00:00', 'startedAfter'],
    ['sort=size', 'sort'],
    ['topLevel=yes', 'topLevel'],
    ['topLevel=true&parentJobId=x', 'topLevel'],
    ['startedAfter=2026-02-01T00:00:00Z&startedBefore=2026-01-01T00:00:00Z', 'startedBefore'],
    [`jobIdPrefix=${'x'.repeat(201)}`, 'jobIdPrefix'],
    ['jobIdPrefix=a%01b', 'jobIdPrefix'],
  ])('%s → 400 naming %s', async (query, path) => {
    const res = await app.inject({ method: 'GET', url: `/api/jobs?${query}`, headers: as('alice') });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: (string | number)[] }[] }>().issues.map((i) => i.path[0])).toContain(
      path,
    );
  });

  it('a quote in a filter is a value, not part of the query', async () => {
    expect((await get<JobList>(`/api/jobs?jobIdPrefix=${encodeURIComponent("x' OR '1'='1")}`)).jobs).toEqual(
      [],
    );
    expect(
      (await get<JobList>(`/api/jobs?startedBy=${encodeURIComponent("a' OR JobType != '")}`)).jobs,
    ).toEqual([]);
  });

  it('a sorted page token is tied to its order: another sort is a 400', async () => {
    const page = await list('topLevel=true&sort=startedAt&pageSize=1');
    expect(page.nextPageToken).not.toBeNull();
    const res = await app.inject({
      method: 'GET',
      url: `/api/jobs?jobIdPrefix=${encodeURIComponent(prefix)}&topLevel=true&sort=duration&pageSize=1&pageToken=${page.nextPageToken!}`,
      headers: as('alice'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['pageToken']);
  });

  it('sorting more jobs than STEPWISE_LIST_SORT_MAX is a 400 that says to narrow the filters; unsorted paging still works', async () => {
    // 8 jobs under the prefix (4 and their sub-jobs), over the bound of 5; its 4 top-level ones are not.
    const res = await app.inject({
      method: 'GET',
      url: `/api/jobs?jobIdPrefix=${encodeURIComponent(prefix)}&sort=startedAt`,
      headers: as('alice'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ message: string }>().message).toMatch(/more than 5 jobs match; narrow the filters/);
    expect((await all('topLevel=true&sort=startedAt', 5)).length).toBe(4);
    expect((await all('', 5)).length).toBe(8);
  });
});

describe('the list stream takes the same filters and one page', () => {
  it('streams only the top-level jobs of a prefix, and a page of the size asked', async () => {
    const first = await snapshot(
      `/api/events?jobIdPrefix=${encodeURIComponent(prefix)}&topLevel=true&pageSize=3`,
    );
    expect(first.jobs).toHaveLength(3);
    expect(first.jobs.every((j) => j.parentJobId === null && j.jobId.startsWith(prefix))).toBe(true);
  });

  it('refuses sort on a stream, saying why', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/events?sort=duration', headers: as('alice') });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['sort']);
  });
});

/** The first event of a list stream (over real HTTP). */
async function snapshot(url: string): Promise<{ jobs: JobSummary[] }> {
  const abort = new AbortController();
  try {
    const res = await fetch(`${harness.base!}${url}`, {
      headers: as('alice'),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${text}`);
      text += new TextDecoder().decode(value);
      const m = /event: snapshot\n(?:id: .*\n)?data: (.*)\n\n/.exec(text);
      if (m) return JSON.parse(m[1]) as { jobs: JobSummary[] };
    }
  } finally {
    abort.abort();
  }
}
