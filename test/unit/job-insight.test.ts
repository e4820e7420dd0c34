/** The pure parts of the ETA and the root cause: what they compute from a state and a model. */
import { z } from 'zod';
import type { JobState } from '../../workflows/contracts';
import { jobBuilder } from '../../workflows/engine/builder';
import { initialJobState } from '../../workflows/engine/state';
import {
  attemptStarted,
  progressReported,
  stepCompleted,
  stepFailed,
  stepNotRun,
} from '../../workflows/engine/transitions';
import {
  estimateEnd,
  learnDurations,
  median,
  stallThresholds,
  stepDurations,
} from '../../src/client/job-eta';
import { chunkIdPattern, consequencesOf, failingStep, groupFailures } from '../../src/client/root-cause';

const job = jobBuilder<{ work(): Promise<object> }>();
const def = job({ name: 'etaModel', description: 'ETA model', input: z.object({}) })
  .activity('a', { name: 'A', activity: 'work' })
  .activity('b', { name: 'B', activity: 'work' })
  .activity('c', { name: 'C', activity: 'work', dependsOn: ['a'] })
  .activity('d', { name: 'D', activity: 'work', dependsOn: ['b', 'c'] })
  .build();

const fresh = (): JobState => initialJobState(def, { input: {} }, { workflowId: 'j', runId: 'r' });
const T0 = Date.parse('2026-12-05T10:00:00.000Z');

describe('the duration model', () => {
  it('takes the median per step, counting a skipped step as 0 and leaving carried ones out', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const s = fresh();
    Object.assign(s.steps[0], { status: 'completed', durationMs: 100 });
    Object.assign(s.steps[1], { status: 'skipped' });
    Object.assign(s.steps[2], { status: 'completed', durationMs: 50, carriedFrom: 'older' });
    expect(stepDurations(s)).toEqual({ a: 100, b: 0 });
    const model = learnDurations([{ a: 100, b: 0 }, { a: 300 }, { a: 200, b: 10 }]);
    expect(model).toEqual({ runs: 3, medianMs: { a: 200, b: 5 } });
  });
});

describe('stall thresholds', () => {
  it('are 3 × each step’s median, at least 10 s, for steps whose median is at least 5 s', () => {
    expect(stallThresholds({ runs: 2, medianMs: { a: 1000, b: 5000, c: 60_000 } })).toEqual({
      b: 15_000,
      c: 180_000,
    });
  });
});

describe('estimateEnd', () => {
  const model = { runs: 4, medianMs: { a: 1000, b: 500, c: 2000, d: 300 } };

  it('says there is no estimate without history, while paused, and once closed', () => {
    const s = fresh();
    expect(estimateEnd(s, { runs: 0, medianMs: {} }, T0)).toMatchObject({
      at: null,
      basedOnRuns: 0,
      note: 'no estimate yet: no completed run of type "etaModel"',
    });
    s.control.paused = true;
    expect(estimateEnd(s, model, T0)?.at).toBeNull();
    s.closedAt = new Date(T0).toISOString();
    expect(estimateEnd(s, model, T0)).toBeNull();
  });

  it('follows the longest path of the steps left, and shortens as a step moves', () => {
    const s = fresh();
    // a → c → d is 1000 + 2000 + 300; b → d only 500 + 300.
    expect(estimateEnd(s, model, T0)).toMatchObject({ remainingMs: 3300, basedOnRuns: 4 });
    expect(estimateEnd(s, model, T0)?.at).toBe(new Date(T0 + 3300).toISOString());

    jest.useFakeTimers({ now: T0 });
    try {
      attemptStarted(s, 'a', 1);
      // 400 ms into a: 600 left by its median.
      expect(estimateEnd(s, model, T0 + 400)?.remainingMs).toBe(600 + 2300);
      // Half done after 400 ms: its own pace says 400 more; the estimate takes the mean (500).
      progressReported(s, { stepKey: 'a', attempt: 1, progress: 50 });
      expect(estimateEnd(s, model, T0 + 400)?.remainingMs).toBe(500 + 2300);
      stepCompleted(s, 'a', {});
      expect(estimateEnd(s, model, T0 + 900)?.remainingMs).toBe(2300);
    } finally {
      jest.useRealTimers();
    }
  });

  it('names the steps it has no history for', () => {
    const eta = estimateEnd(fresh(), { runs: 1, medianMs: { a: 10 } }, T0);
    expect(eta?.note).toBe('from 1 completed run of "etaModel"; no history for "B", "C", "D"');
    expect(eta?.remainingMs).toBe(10);
  });
});

describe('root cause, from a state', () => {
  it('finds the failing step and the steps that did not run because of it', () => {
    const s = fresh();
    jest.useFakeTimers({ now: T0 });
    try {
      attemptStarted(s, 'a', 1);
      stepFailed(s, 'a', { message: 'boom', type: 'X', nonRetryable: true });
      for (const k of ['b', 'c', 'd']) stepNotRun(s, k);
    } finally {
      jest.useRealTimers();
    }
    s.status = 'failed';
    s.error = { message: 'boom', type: 'X', nonRetryable: true, step: 'a' };
    expect(failingStep(s)?.key).toBe('a');
    expect(consequencesOf(s, failingStep(s)).map((c) => c.step)).toEqual(['b', 'c', 'd']);
  });

  it('marks as consequences only the skipped steps that depend on the cause', () => {
    const s = fresh();
    Object.assign(s.steps[0], { status: 'failed' });
    Object.assign(s.steps[1], { status: 'skipped', message: 'Condition not met' });
    Object.assign(s.steps[2], { status: 'skipped', message: 'A did not complete' });
    Object.assign(s.steps[3], { status: 'skipped', message: 'C did not complete' });
    s.status = 'completed_with_errors';
    expect(failingStep(s)?.key).toBe('a');
    expect(consequencesOf(s, failingStep(s)).map((c) => c.step)).toEqual(['c', 'd']);
  });

  it('groups failures by type and message, largest first, with bounded ids', () => {
    const f = (i: number, message: string) => ({ jobId: `j/t/${i}`, chunk: i, message, type: 'E' });
    const groups = groupFailures([f(0, 'x'), f(1, 'y'), f(2, 'y'), { ...f(3, 'y'), type: 'Other' }]);
    expect(groups.map((g) => [g.message, g.type, g.count, g.chunks])).toEqual([
      ['y', 'E', 2, [1, 2]],
      ['x', 'E', 1, [0]],
      ['y', 'Other', 1, [3]],
    ]);
    const many = groupFailures(Array.from({ length: 120 }, (_, i) => f(i, 'same')));
    expect(many[0].count).toBe(120);
    expect(many[0].jobIds).toHaveLength(50);
  });

  it("tells a batch step attempt's chunk ids from another attempt's and another step's", () => {
    const first = chunkIdPattern('job-1/transform');
    expect(first.prefix).toBe('job-1/transform/');
    expect(first.matches('job-1/transform/3')).toBe(true);
    expect(first.matches('job-1/transform/3-a2')).toBe(false);
    expect(first.matches('job-1/transform-r1/3')).toBe(false);
    const second = chunkIdPattern('job-1/transform-r1-a2');
    expect(second.prefix).toBe('job-1/transform-r1/');
    expect(second.matches('job-1/transform-r1/12-a2')).toBe(true);
    expect(second.matches('job-1/transform-r1/12')).toBe(false);
  });
});
