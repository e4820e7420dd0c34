import type { JobState, StepState, StepStatus } from '../../workflows/contracts';
import { isRecoverable, planRecovery } from '../../workflows/engine/recovery';
import { demoPipelineDefinition as def } from '../../workflows/jobs/demo-pipeline';

function closedState(status: JobState['status'], steps: StepStatus[], attempt = 0): JobState {
  return {
    jobId: 'j',
    runId: 'run-1',
    status,
    recovery: { attempt, max: 3, fromStep: null, previousRunId: null },
    steps: steps.map(
      (st, i) =>
        ({
          index: i + 1,
          key: def.steps[i].key,
          name: def.steps[i].name,
          status: st,
          result: st === 'completed' ? { step: i + 1 } : null,
          stats: st === 'completed' ? { itemsProcessed: 1 } : null,
        }) as StepState,
    ),
  } as JobState;
}

describe('planRecovery', () => {
  it('defaults to the first step that did not complete and carries the ones before it', () => {
    const plan = planRecovery(def, closedState('failed', ['completed', 'completed', 'failed', 'pending']));
    expect(plan).toEqual({
      ok: true,
      params: {
        attempt: 1,
        fromStep: 3,
        previousRunId: 'run-1',
        carried: {
          extract: { result: { step: 1 }, stats: { itemsProcessed: 1 } },
          transform: { result: { step: 2 }, stats: { itemsProcessed: 1 } },
        },
      },
    });
  });

  it('runs from an earlier step when asked, carrying less', () => {
    const plan = planRecovery(
      def,
      closedState('cancelled', ['completed', 'completed', 'cancelled', 'pending']),
      2,
    );
    expect(plan.ok && Object.keys(plan.params.carried)).toEqual(['extract']);
  });

  it('refuses a step past one that did not complete (409) and an out-of-range step (400)', () => {
    const s = closedState('failed', ['completed', 'failed', 'pending', 'pending']);
    expect(planRecovery(def, s, 3)).toMatchObject({
      ok: false,
      kind: 'conflict',
      message: expect.stringMatching(/Step 2 "Transform" did not complete \(failed\)/),
    });
    expect(planRecovery(def, s, 0)).toMatchObject({ ok: false, kind: 'invalid' });
    expect(planRecovery(def, s, 5)).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('refuses running and completed jobs, and past the recovery limit', () => {
    expect(
      planRecovery(def, closedState('completed', ['completed', 'completed', 'completed', 'completed'])),
    ).toMatchObject({ ok: false, kind: 'conflict' });
    expect(
      planRecovery(def, closedState('running', ['running', 'pending', 'pending', 'pending'])),
    ).toMatchObject({ ok: false });
    const atLimit = closedState('failed', ['completed', 'failed', 'pending', 'pending'], 3);
    expect(planRecovery(def, atLimit)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Recovery limit reached/),
    });
    expect(isRecoverable(atLimit)).toBe(false);
    expect(isRecoverable(closedState('failed', ['failed'], 2))).toBe(true);
  });

  it('completed_with_errors: only failed steps and what they skipped run again', () => {
    const plan = planRecovery(
      def,
      closedState('completed_with_errors', ['completed', 'failed', 'skipped', 'completed']),
    );
    expect(plan).toMatchObject({ ok: true, params: { fromStep: 2 } });
    expect(plan.ok && Object.keys(plan.params.carried)).toEqual(['extract', 'report']);
  });
});
