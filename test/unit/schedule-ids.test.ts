/**
 * The ids of a schedule's runs: Temporal appends the scheduled time to the action's workflow id
 * (`<type>-<scheduleId>` + `-2026-12-06T02:10:05Z`), and every such id is one the API's routes take
 * and one a caller could have chosen (a top-level id: no `/`, so never a sub-job's), within the
 * 200 characters of a chosen id. The bodies' bounds are checked here too.
 */
import fc from 'fast-check';
import { jobIdSchema, newJobIdSchema } from '../../src/api/jobs/schemas';
import {
  backfillScheduleBodySchema,
  createScheduleBodySchema,
  scheduleIdSchema,
} from '../../src/api/schedules/schemas';

const typeName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,99}$/);
const scheduleId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/);
const time = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

test('every run id of a valid schedule is a valid job id, top-level and at most 200 characters', () => {
  fc.assert(
    fc.property(typeName, scheduleId, time, (type, id, at) => {
      expect(scheduleIdSchema.safeParse(id).success).toBe(true);
      const runId = `${type}-${id}-${at}`;
      expect(jobIdSchema.safeParse(runId).success).toBe(true);
      expect(newJobIdSchema.safeParse(runId).success).toBe(true);
    }),
  );
});

test('a schedule id is bounded and has no "/"', () => {
  for (const bad of ['', 'a/b', '-x', 'x'.repeat(65), 'a b', 'é']) {
    expect([bad, scheduleIdSchema.safeParse(bad).success]).toEqual([bad, false]);
  }
});

test('the create body: exactly one of cron and interval, intervals of at least 1 s, bounded fields', () => {
  const base = { type: 't', intervalSeconds: 1 };
  const issues = (body: object) => {
    const r = createScheduleBodySchema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };
  expect(issues(base)).toEqual([]);
  expect(issues({ type: 't', cron: '*/5 * * * * * *' })).toEqual([]);
  expect(issues({ type: 't', cron: '@daily', timeZone: 'Europe/Berlin' })).toEqual([]);
  expect(issues({ type: 't' })).toEqual(['cron']);
  expect(issues({ ...base, cron: '@daily' })).toEqual(['cron', 'intervalSeconds']);
  expect(issues({ ...base, intervalSeconds: 0 })).toEqual(['intervalSeconds']);
  expect(issues({ ...base, intervalSeconds: 367 * 86_400 })).toEqual(['intervalSeconds']);
  expect(issues({ type: 't', cron: '0 3 * * * # comment' })).toEqual(['cron']);
  expect(issues({ type: 't', cron: '0 3 * *' })).toEqual(['cron']);
  expect(issues({ ...base, timeZone: 'Nowhere/Special' })).toEqual(['timeZone']);
  expect(issues({ ...base, jitterSeconds: 86_401 })).toEqual(['jitterSeconds']);
  expect(issues({ ...base, priority: 0 })).toEqual(['priority']);
  expect(issues({ ...base, note: 'x'.repeat(501) })).toEqual(['note']);
  expect(issues({ ...base, startAt: '2030-01-01T00:00:00', endAt: '2030-01-02T00:00:00Z' })).toEqual([
    'startAt',
  ]);
});

test('a backfill covers a non-empty range of at most 31 days', () => {
  const ok = (start: string, end: string) => backfillScheduleBodySchema.safeParse({ start, end }).success;
  expect(ok('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).toBe(true);
  expect(ok('2026-01-01T00:00:00Z', '2026-02-01T00:00:01Z')).toBe(false);
  expect(ok('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).toBe(false);
  expect(ok('2026-01-01T01:00:00+01:00', '2026-01-01T00:00:01Z')).toBe(true);
});
