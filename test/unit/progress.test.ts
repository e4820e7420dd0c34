import { addStats, backoffMs, shouldReport, weightedProgress } from '../../workflows/engine/progress';

describe('weightedProgress', () => {
  it('weights steps and counts running ones by their own progress', () => {
    expect(
      weightedProgress([
        { status: 'completed', progress: 100, weight: 1 },
        { status: 'running', progress: 50, weight: 2 },
        { status: 'pending', progress: 0, weight: 1 },
      ]),
    ).toBe(50);
  });

  it('never reports 100 while steps remain, even when all are done (completion sets 100)', () => {
    expect(weightedProgress([{ status: 'completed', progress: 100, weight: 1 }])).toBe(99);
  });

  it('keeps a failed step at the progress it reached', () => {
    expect(
      weightedProgress([
        { status: 'failed', progress: 30, weight: 1 },
        { status: 'pending', progress: 0, weight: 1 },
      ]),
    ).toBe(15);
  });

  it('counts skipped steps as done', () => {
    expect(
      weightedProgress([
        { status: 'skipped', progress: 0, weight: 3 },
        { status: 'pending', progress: 0, weight: 1 },
      ]),
    ).toBe(75);
  });
});

describe('backoffMs', () => {
  const policy = { initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 5000 };
  it('grows by the coefficient from the initial interval and is capped', () => {
    expect([2, 3, 4, 5].map((a) => backoffMs(a, policy))).toEqual([1000, 2000, 4000, 5000]);
  });
});

describe('shouldReport', () => {
  it('keeps reports within the budget and always sends the final 100', () => {
    let last: number | null = null;
    let sent = 0;
    for (let p = 0; p <= 100; p += 0.5) {
      if (shouldReport(last, p, 20)) {
        last = Math.floor(p);
        sent++;
      }
    }
    expect(last).toBe(100);
    expect(sent).toBeLessThanOrEqual(21);
    expect(shouldReport(40, 40, 20)).toBe(false);
    expect(shouldReport(40, 30, 20)).toBe(false);
  });
});

describe('addStats', () => {
  it('adds the fields given and treats missing ones as 0', () => {
    const sum = { itemsProcessed: 1, itemsCreated: 2, itemsFailed: 3, totalErrors: 4 };
    addStats(sum, { itemsProcessed: 10, totalErrors: 1 });
    addStats(sum, undefined);
    expect(sum).toEqual({ itemsProcessed: 11, itemsCreated: 2, itemsFailed: 3, totalErrors: 5 });
  });
});
