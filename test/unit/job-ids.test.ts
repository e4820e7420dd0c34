/**
 * The job id namespace: every id the engine makes for a sub-job is one the API's routes take, no
 * id a caller may choose is one, and no two (step, recovery, chunk, attempt) make the same id.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { jobIdSchema, newJobIdSchema } from '../../src/api/jobs/schemas';
import { childJobId } from '../../workflows/engine/children';
import { JobDefinitionError } from '../../workflows/engine/dag';
import { defineJob } from '../../workflows/engine/definition';

const chosenId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/);
const stepKey = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/);
const child = fc.record({
  stepKey,
  recoveryAttempt: fc.nat(5),
  attempt: fc.integer({ min: 1, max: 5 }),
  chunk: fc.option(fc.nat(10_000), { nil: undefined }),
});

describe('sub-job ids', () => {
  it('are taken by every route, and are never a chosen id', () => {
    fc.assert(
      fc.property(chosenId, fc.array(child, { minLength: 1, maxLength: 3 }), (root, path) => {
        expect(newJobIdSchema.safeParse(root).success).toBe(true);
        let id = root;
        for (const c of path) {
          id = childJobId({ jobId: id, ...c });
          if (id.length > 1000) return; // deeper than Temporal's id limit: the engine never gets there
          expect(jobIdSchema.safeParse(id).success).toBe(true);
          expect(newJobIdSchema.safeParse(id).success).toBe(false);
        }
      }),
    );
  });

  it('differ for every step, recovery, chunk and attempt of one job', () => {
    fc.assert(
      fc.property(chosenId, child, child, (root, a, b) => {
        const same =
          a.stepKey === b.stepKey &&
          a.recoveryAttempt === b.recoveryAttempt &&
          a.attempt === b.attempt &&
          a.chunk === b.chunk;
        expect(childJobId({ jobId: root, ...a }) === childJobId({ jobId: root, ...b })).toBe(same);
      }),
    );
  });
});

describe('step keys', () => {
  const spec = (key: string) => ({
    name: 'keyed',
    description: 'a job with one step',
    input: z.object({}),
    steps: [{ key, name: 'Step', kind: 'activity' as const, activity: 'simulateWork', args: () => ({}) }],
  });

  it.each(['a/b', 'x-r1', 'with space', '1st', '', 'k'.repeat(65)])('refuses %j, naming the rule', (key) => {
    expect(() => defineJob(spec(key))).toThrow(JobDefinitionError);
    expect(() => defineJob(spec(key))).toThrow(/letters, digits and _/);
  });

  it.each(['scan', 'applyChanges', 'step_2', 'k'.repeat(64)])('takes %j', (key) => {
    expect(defineJob(spec(key)).steps[0].key).toBe(key);
  });
});
