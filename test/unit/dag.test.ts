import { JobDefinitionError, validateDag } from '../../workflows/engine/dag';
import { defineJob } from '../../workflows/engine/definition';
import { z } from 'zod';

describe('validateDag', () => {
  it('orders a diamond topologically, keeping declaration order among ready steps', () => {
    const order = validateDag('t', [
      { key: 'a', dependsOn: [] },
      { key: 'c', dependsOn: ['a'] },
      { key: 'b', dependsOn: ['a'] },
      { key: 'd', dependsOn: ['b', 'c'] },
    ]);
    expect(order).toEqual(['a', 'c', 'b', 'd']);
  });

  it('rejects a cycle naming the steps in it', () => {
    expect(() =>
      validateDag('t', [
        { key: 'a', dependsOn: [] },
        { key: 'b', dependsOn: ['c'] },
        { key: 'c', dependsOn: ['b'] },
      ]),
    ).toThrow(/dependency cycle among steps "b", "c"/);
  });

  it('rejects unknown dependencies and duplicate keys', () => {
    expect(() => validateDag('t', [{ key: 'a', dependsOn: ['zz'] }])).toThrow(/depends on unknown step "zz"/);
    expect(() =>
      validateDag('t', [
        { key: 'a', dependsOn: [] },
        { key: 'a', dependsOn: [] },
      ]),
    ).toThrow(JobDefinitionError);
  });
});

describe('defineJob', () => {
  const input = z.object({});
  it('defaults dependsOn to the previous step and fills retry defaults', () => {
    const def = defineJob({
      name: 'demo',
      description: 'd',
      input,
      steps: [
        { key: 'one', name: 'One', kind: 'activity', activity: 'simulateWork' },
        { key: 'two', name: 'Two', kind: 'activity', activity: 'simulateWork', retry: { maxAttempts: 5 } },
      ],
    });
    expect(def.steps[0].dependsOn).toEqual([]);
    expect(def.steps[1].dependsOn).toEqual(['one']);
    expect(def.steps[1].retryPolicy).toEqual({
      maxAttempts: 5,
      initialIntervalMs: 1000,
      backoffCoefficient: 2,
      maxIntervalMs: 60_000,
    });
    expect(def.recoveryLimit).toBe(3);
  });

  it('rejects a static batch window or chunk size below 1', () => {
    const batch = (window: number) =>
      defineJob({
        name: 'batchy',
        description: 'd',
        input,
        steps: [
          { key: 'b', name: 'B', kind: 'batch', items: () => [], window, run: { activity: 'countItems' } },
        ],
      });
    expect(() => batch(0)).toThrow(
      'Invalid job definition "batchy": step "b": window must be an integer >= 1',
    );
    expect(() => batch(4)).not.toThrow();
  });

  it('rejects a definition with a cycle when it is loaded', () => {
    expect(() =>
      defineJob({
        name: 'loop',
        description: 'd',
        input,
        steps: [
          { key: 'a', name: 'A', kind: 'activity', activity: 'simulateWork', dependsOn: ['b'] },
          { key: 'b', name: 'B', kind: 'activity', activity: 'simulateWork', dependsOn: ['a'] },
        ],
      }),
    ).toThrow('Invalid job definition "loop": dependency cycle among steps "a", "b"');
  });
});
