/** The stall watch's looks at an attempt: at its threshold's rate, then sparser for a long attempt. */
import { STALL_CHECKS_AT_FULL_RATE, stallCheckWaitMs } from '../../workflows/engine/scheduler';

/** The looks a watch takes at an attempt that runs `runMs` and never reports. */
function looks(thresholdMs: number, runMs: number): number {
  let elapsed = 0;
  let checks = 0;
  while (elapsed < runMs) {
    elapsed += stallCheckWaitMs(thresholdMs, checks, elapsed);
    checks++;
  }
  return checks;
}

describe('stallCheckWaitMs', () => {
  it('waits one threshold for the first looks', () => {
    for (const checks of [0, 1, STALL_CHECKS_AT_FULL_RATE - 1])
      expect(stallCheckWaitMs(10_000, checks, 5e6)).toBe(10_000);
  });

  it('then a tenth of the running time, never less than the threshold', () => {
    expect(stallCheckWaitMs(10_000, STALL_CHECKS_AT_FULL_RATE, 1_000_000)).toBe(100_000);
    expect(stallCheckWaitMs(60_000, STALL_CHECKS_AT_FULL_RATE, 100_000)).toBe(60_000);
  });

  it('bounds a long attempt’s history: 10 hours at a 10 s threshold is about 140 looks, not 3,600', () => {
    expect(looks(10_000, 1_000_000)).toBe(STALL_CHECKS_AT_FULL_RATE);
    const tenHours = looks(10_000, 36_000_000);
    expect(tenHours).toBeGreaterThan(130);
    expect(tenHours).toBeLessThan(145);
    // A hundred times longer costs about 48 more looks (log growth), not a hundred times more.
    expect(looks(10_000, 3_600_000_000) - tenHours).toBeLessThan(60);
  });
});
