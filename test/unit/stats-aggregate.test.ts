import type { JobState, JobStatus, StepState, StepStatus } from '../../workflows/contracts';
import {
  bucketOf,
  bucketStarts,
  defaultInterval,
  mostFailingSteps,
  parseInterval,
  percentile,
  series,
  slowestSteps,
  stepStats,
  TOP_STEPS,
  typeStats,
  type StatsRun,
} from '../../src/client/stats-aggregate';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MIN = 60_000;

type StepSpec = [
  key: string,
  status: StepStatus,
  attempt: number,
  durationMs: number | null,
  carried?: boolean,
];

function state(
  runId: string,
  type: string,
  status: JobStatus,
  steps: StepSpec[],
  recoveryAttempt = 0,
): JobState {
  return {
    runId,
    type,
    status,
    recovery: { attempt: recoveryAttempt, max: 3, fromStep: recoveryAttempt ? 2 : null, previousRunId: null },
    steps: steps.map(
      ([key, st, attempt, durationMs, carried], i) =>
        ({
          index: i + 1,
          key,
          name: key.toUpperCase(),
          status: st,
          attempt,
          durationMs,
          carriedFrom: carried ? 'run-0' : null,
        }) as StepState,
    ),
  } as JobState;
}

const run = (
  runId: string,
  type: string,
  status: JobStatus,
  startMin: number,
  closeMin: number | null,
): StatsRun => ({
  jobId: `job-${runId}`,
  runId,
  type,
  status,
  startedMs: T0 + startMin * MIN,
  closedMs: closeMin === null ? null : T0 + closeMin * MIN,
});

describe('percentile (nearest rank)', () => {
  it('is one of the values: the smallest with at least p % at or below it', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(percentile([4, 1, 3, 2], 95)).toBe(4);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([5, 1], 0)).toBe(1);
  });
});

describe('buckets', () => {
  it('cover [from, to) in steps of the interval, the last one cut at to', () => {
    expect(bucketStarts(0, 10, 3)).toEqual([0, 3, 6, 9]);
    expect(bucketStarts(0, 9, 3)).toEqual([0, 3, 6]);
    expect(bucketOf(0, 0, 9, 3)).toBe(0);
    expect(bucketOf(2.999, 0, 9, 3)).toBe(0);
    expect(bucketOf(3, 0, 9, 3)).toBe(1);
    expect(bucketOf(8.9, 0, 9, 3)).toBe(2);
    expect(bucketOf(9, 0, 9, 3)).toBe(-1);
    expect(bucketOf(-1, 0, 9, 3)).toBe(-1);
  });

  it('count a run where it started and where it closed, closes by status; edges go to the later bucket', () => {
    const runs = [
      run('a', 'x', 'completed', 0, 5), // start bucket 0, close at the edge of bucket 1
      run('b', 'x', 'failed', 4.99, 9.99), // 0, 1
      run('c', 'x', 'running', 5, null), // 1, open
      run('d', 'x', 'cancelled', -3, 1), // started before the range, closed in bucket 0
      run('e', 'x', 'completed_with_errors', 12, 15), // closed at `to`: out
    ];
    const s = series(runs, T0, T0 + 15 * MIN, 5 * MIN);
    expect(s.map((b) => b.start)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:10:00.000Z',
    ]);
    expect(s.map((b) => b.started)).toEqual([2, 1, 1]);
    expect(s.map((b) => b.closed)).toEqual([
      { completed: 0, completed_with_errors: 0, failed: 0, cancelled: 1 },
      { completed: 1, completed_with_errors: 0, failed: 1, cancelled: 0 },
      { completed: 0, completed_with_errors: 0, failed: 0, cancelled: 0 },
    ]);
  });
});

describe('intervals', () => {
  it('parses <n>m, <n>h, <n>d and nothing else', () => {
    expect(parseInterval('5m')).toBe(5 * MIN);
    expect(parseInterval('1h')).toBe(60 * MIN);
    expect(parseInterval('2d')).toBe(2 * 86_400_000);
    for (const bad of ['0m', '5', 'm', '1.5h', '5s', '-1h', '05m', '123456m'])
      expect(parseInterval(bad)).toBeNull();
  });

  it('defaults to the shortest giving at most 60 buckets', () => {
    expect(defaultInterval(60 * MIN)).toBe('1m');
    expect(defaultInterval(61 * MIN)).toBe('5m');
    expect(defaultInterval(24 * 60 * MIN)).toBe('1h');
    expect(defaultInterval(7 * 24 * 60 * MIN)).toBe('6h');
    expect(defaultInterval(31 * 24 * 60 * MIN)).toBe('1d');
  });
});

describe('typeStats and stepStats', () => {
  const runs = [
    run('r1', 'pipe', 'completed', 0, 10),
    run('r2', 'pipe', 'completed', 1, 3),
    run('r3', 'pipe', 'failed', 2, 4),
    run('r4', 'pipe', 'completed', 5, 6), // a recovery of a failed run
    run('r5', 'pipe', 'failed', 6, 7), // a recovery that failed again
    run('r6', 'pipe', 'cancelled', 6, 8),
    run('r7', 'pipe', 'running', 9, null),
    run('r8', 'pipe', 'completed', -5, -1), // closed before the range: not counted as closed
    run('o1', 'other', 'completed', 0, 2),
  ];
  const states = new Map<string, JobState>(
    [
      state('r1', 'pipe', 'completed', [
        ['a', 'completed', 1, 100],
        ['b', 'completed', 3, 400],
      ]),
      state('r2', 'pipe', 'completed', [
        ['a', 'completed', 1, 200],
        ['b', 'completed', 1, 300],
      ]),
      state('r3', 'pipe', 'failed', [
        ['a', 'completed', 2, 300],
        ['b', 'failed', 3, 50],
      ]),
      state(
        'r4',
        'pipe',
        'completed',
        [
          ['a', 'completed', 1, 100, true],
          ['b', 'completed', 1, 500],
        ],
        1,
      ),
      state(
        'r5',
        'pipe',
        'failed',
        [
          ['a', 'completed', 1, 100, true],
          ['b', 'failed', 1, 10],
        ],
        2,
      ),
      state('r6', 'pipe', 'cancelled', [
        ['a', 'cancelled', 1, null],
        ['b', 'not_run' as StepStatus, 0, null],
      ]),
      // r7 runs: no state; r8 closed outside the range: its state is not read.
      state('o1', 'other', 'completed', [['z', 'completed', 1, 1000]]),
    ].map((s) => [s.runId, s]),
  );

  it('per type: counts and durations from the runs, retries and recoveries from the states', () => {
    const [other, pipe] = typeStats(runs, states, T0, T0 + 15 * MIN);
    expect(pipe).toEqual({
      type: 'pipe',
      started: 7,
      closed: 6,
      completed: 3,
      failed: 2,
      cancelled: 1,
      failureRate: 2 / 6,
      // Durations 10, 2, 2, 1, 1, 2 min: sorted 1 1 2 2 2 10 → p50 rank 3, p95 rank 6.
      durationP50Ms: 2 * MIN,
      durationP95Ms: 10 * MIN,
      statesRead: 6,
      // Attempts of steps that ran in their run: r1 1+3, r2 1+1, r3 2+3, r4 1, r5 1, r6 1 = 14.
      stepAttempts: 14,
      retries: 14 - 9,
      retryRate: 5 / 14,
      recoveryRuns: 2,
      recoverySucceeded: 1,
      recoverySuccessRate: 0.5,
    });
    expect(other).toMatchObject({
      type: 'other',
      closed: 1,
      failureRate: 0,
      retryRate: 0,
      recoverySuccessRate: null,
    });
  });

  it('per step: runs where it ran in that run, failures, retries, completed durations', () => {
    const steps = stepStats(states.values());
    expect(steps.map((s) => `${s.type}.${s.step}`)).toEqual(['other.z', 'pipe.a', 'pipe.b']);
    const [, a, b] = steps;
    expect(a).toEqual({
      type: 'pipe',
      step: 'a',
      index: 1,
      name: 'A',
      runs: 4, // r1 r2 r3 r6 (carried in r4, r5)
      failures: 0,
      failureRate: 0,
      attempts: 5,
      retries: 1,
      retryRate: 1 / 5,
      durationP50Ms: 200, // completed: 100 200 300 (rank 2)
      durationP95Ms: 300,
    });
    expect(b).toEqual({
      type: 'pipe',
      step: 'b',
      index: 2,
      name: 'B',
      runs: 5, // r1 r2 r3 r4 r5 (not run in r6)
      failures: 2,
      failureRate: 2 / 5,
      attempts: 9,
      retries: 4,
      retryRate: 4 / 9,
      durationP50Ms: 400, // completed: 300 400 500
      durationP95Ms: 500,
    });
    expect(slowestSteps(steps).map((s) => s.step)).toEqual(['z', 'b', 'a']);
    expect(mostFailingSteps(steps).map((s) => s.step)).toEqual(['b']);
  });

  it('the top lists hold at most ten, ties by type and position', () => {
    const many = stepStats(
      Array.from({ length: 12 }, (_, i) =>
        state(`m${i}`, 't', 'failed', [[`s${String(i).padStart(2, '0')}`, 'failed', 1, 10]]),
      ),
    );
    expect(mostFailingSteps(many)).toHaveLength(TOP_STEPS);
    expect(mostFailingSteps(many)[0].step).toBe('s00');
    expect(slowestSteps(many)).toEqual([]);
  });
});
