import type { JobState } from '../../workflows/contracts';
import { recordAction } from '../../workflows/engine/state';
import { sceneProcessingInput } from '../../workflows/jobs/scene-processing';
import { demoPipelineInput } from '../../workflows/jobs/demo-pipeline';
import { jsonBytes } from '../../workflows/limits';

describe('jsonBytes', () => {
  it('counts UTF-8 bytes of the JSON text', () => {
    expect(jsonBytes({ a: 'x' })).toBe(Buffer.byteLength(JSON.stringify({ a: 'x' })));
    for (const s of ['é', '€', '😀', 'a\u0000b', '\ud83d']) {
      expect(jsonBytes(s)).toBe(Buffer.byteLength(JSON.stringify(s)));
    }
    expect(jsonBytes(undefined)).toBe(0);
  });
});

describe('recordAction', () => {
  const state = (): JobState =>
    ({ control: { paused: false, actions: [], droppedActions: 0 } }) as unknown as JobState;

  it('keeps the last `max` actions and counts the dropped ones', () => {
    const s = state();
    for (let i = 0; i < 7; i++) recordAction(s, i % 2 ? 'resume' : 'pause', { reason: `r${i}` }, 'update', 3);
    expect(s.control.actions.map((a) => a.reason)).toEqual(['r4', 'r5', 'r6']);
    expect(s.control.droppedActions).toBe(4);
    expect(s.control.actions[2]).toMatchObject({ action: 'pause', source: 'update', by: null });
  });
});

describe('durations that cannot fit a timeout are refused', () => {
  it('a simulated step longer than its 10-minute attempt timeout', () => {
    const r = sceneProcessingInput.safeParse({ durationMs: 3_600_000 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({
      path: ['durationMs'],
      message: expect.stringMatching(/10-minute timeout/) as unknown as string,
    });
    expect(sceneProcessingInput.safeParse({ steps: { analyze: { durationMs: 600_000 } } }).success).toBe(
      false,
    );
    expect(sceneProcessingInput.safeParse({ durationMs: 540_000 }).success).toBe(true);
  });

  it('a cleanup longer than the cleanup timeout', () => {
    const r = demoPipelineInput.safeParse({ cleanupMs: 120_000 });
    expect(r.error?.issues[0]).toMatchObject({
      path: ['cleanupMs'],
      message: expect.stringMatching(/60-second timeout/) as unknown as string,
    });
    expect(demoPipelineInput.safeParse({ partCleanupMs: 60_000 }).success).toBe(false);
  });
});
