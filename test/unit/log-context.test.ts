import { currentStepKey, stepEnded, stepStarted } from '../../workflows/engine/log-context';

describe('log context: the step a workflow log line belongs to', () => {
  it('is the most recently started running step, null between steps', () => {
    expect(currentStepKey()).toBeNull();
    stepStarted('a');
    expect(currentStepKey()).toBe('a');
    stepStarted('b'); // independent steps run concurrently
    expect(currentStepKey()).toBe('b');
    stepEnded('b');
    expect(currentStepKey()).toBe('a');
    stepStarted('c');
    stepEnded('a');
    expect(currentStepKey()).toBe('c');
    stepEnded('c');
    expect(currentStepKey()).toBeNull();
  });
});
