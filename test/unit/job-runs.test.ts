/**
 * The API's pure helpers for honest status and idempotent starts: how a run closed outside
 * Stepwise reads, input comparison, and the per-request limit on Temporal calls in flight.
 */
import { canonicalJson, closedOutsideState, firstDifference, runEnd } from '../../src/client/job-runs';
import { concurrencyLimit } from '../../src/client/deadlines';
import exampleApp from '../../workflows/app';
import { planRecovery } from '../../workflows/engine/recovery';
import { initialJobState } from '../../workflows/engine/state';

describe('runEnd', () => {
  it('words a termination with Temporal’s reason', () => {
    const end = runEnd('TERMINATED', {
      workflowExecutionTerminatedEventAttributes: { reason: 'ops: stuck' },
    });
    expect(end).toEqual({
      status: 'failed',
      message: 'Terminated in Temporal: ops: stuck',
      error: {
        type: 'Terminated',
        message: 'Terminated in Temporal: ops: stuck',
        nonRetryable: true,
        step: null,
      },
    });
    expect(runEnd('TERMINATED').message).toBe('Terminated in Temporal (no reason given)');
  });

  it('names the timeout that ended a timed-out run', () => {
    const end = runEnd('TIMED_OUT', null, { runTimeoutS: 30, executionTimeoutS: 0 });
    expect(end.error).toMatchObject({ type: 'TimedOut', nonRetryable: true, step: null });
    expect(end.message).toBe('Timed out in Temporal (workflow run timeout 30 s) before the job finished');
  });

  it('reads a native cancel as cancelled and an unexpected failure as failed', () => {
    expect(runEnd('CANCELLED')).toMatchObject({ status: 'cancelled', error: null });
    const failed = runEnd('FAILED', {
      workflowExecutionFailedEventAttributes: {
        failure: { message: 'boom', applicationFailureInfo: { type: 'X' } },
      },
    });
    expect(failed.error).toMatchObject({ type: 'X', message: 'Failed in Temporal: boom' });
  });
});

describe('closedOutsideState', () => {
  const def = exampleApp.find('demoPipeline')!;

  it('fails the running steps, keeps the completed ones, and leaves a plan that carries them', () => {
    const state = initialJobState(def, { input: {} }, { workflowId: 'j', runId: 'r1' });
    state.steps[0] = { ...state.steps[0], status: 'completed', result: { ok: 1 } };
    state.steps[1] = {
      ...state.steps[1],
      status: 'running',
      startedAt: '2026-01-01T00:00:00.000Z',
      message: '1/3 chunks done',
    };
    state.activeSubJobs = [
      { id: 'j/transform', type: 'demoTask', status: 'running', progress: 5, step: 'transform' },
    ];
    state.runningSubJobs = 1;
    state.control.paused = true;
    const closed = closedOutsideState(state, runEnd('TERMINATED'), '2026-01-01T00:00:02.000Z');
    expect(closed).toMatchObject({
      status: 'failed',
      error: { type: 'Terminated' },
      activeSubJobs: [],
      runningSubJobs: 0,
      closedAt: '2026-01-01T00:00:02.000Z',
      control: { paused: false },
    });
    // Nothing of a closed job reads as pending or part-way.
    expect(closed.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'not_run', 'not_run']);
    expect(closed.steps[1]).toMatchObject({
      message: null,
      durationMs: 2000,
      error: { type: 'Terminated', nonRetryable: true },
    });
    const plan = planRecovery(def, closed);
    expect(plan).toMatchObject({ ok: true, params: { fromStep: 2, previousRunId: 'r1' } });
    expect(plan.ok && Object.keys(plan.params.carried)).toEqual(['extract']);
  });
});

describe('input comparison', () => {
  it('ignores key order and names the first difference', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: 0 } })).toBe(
      canonicalJson({ a: { c: 0, d: [1, { x: 2, y: 1 }] }, b: 1 }),
    );
    expect(firstDifference({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBeNull();
    expect(firstDifference({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] })).toEqual(['b', 1]);
    expect(firstDifference({ a: 1 }, { a: 1, z: 0 })).toEqual(['z']);
    expect(firstDifference(1, 'x')).toEqual([]);
  });
});

describe('concurrencyLimit', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limit = concurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          if (i % 7 === 0) throw new Error(`task ${i}`);
          return i;
        }).catch((e: Error) => e.message),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toHaveLength(25);
    expect(results[7]).toBe('task 7');
    expect(results[8]).toBe(8);
  });
});
