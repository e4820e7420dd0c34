/**
 * Type tests, checked by `npm run typecheck` (never run): each `@ts-expect-error` line must fail
 * to compile, or the typecheck fails with "Unused '@ts-expect-error' directive". They prove that
 * the typed builders turn a wrong activity name, wrong activity arguments or a wrong sub-job input
 * into a compile error, and that the step-kind map needs exactly one executor per kind.
 */
import { z } from 'zod';
import type { StepKind } from '../../workflows/contracts';
import { jobBuilder } from '../../workflows/engine/builder';
import { runActivityStep } from '../../workflows/engine/executors/activity';
import { runApprovalStep } from '../../workflows/engine/executors/approval';
import { runBatchStep } from '../../workflows/engine/executors/batch';
import { runSleepStep } from '../../workflows/engine/executors/sleep';
import { runSubJobStep } from '../../workflows/engine/executors/sub-job';
import type { StepExecutor } from '../../workflows/engine/executors/types';
import type { DataImportActivities } from '../../workflows/jobs/data-import-contracts';
import type { DemoActivities } from '../../workflows/jobs/demo-contracts';
import { exampleSubJobDefinition } from '../../workflows/jobs/example';

const job = jobBuilder<DemoActivities>();
const input = z.object({ n: z.number().int().default(3) });

/** What compiles: typed args, typed results by key, typed sub-job input, batches of both kinds. */
export const valid = job({ name: 'typeTestValid', description: 'type test', input })
  .activity('first', { name: 'First', activity: 'simulateWork', args: ({ input }) => ({ items: input.n }) })
  .activity('second', {
    name: 'Second',
    activity: 'simulateWork',
    // `results.first` is simulateWork's result (its stats and logs are folded into the job).
    args: ({ results }) => ({ items: results.first.items, label: results.first.label ?? undefined }),
    endJob: (result) => (result.attempt > 1 ? 'retried' : null),
  })
  .subJob('sub', {
    name: 'Sub-job',
    job: exampleSubJobDefinition,
    input: ({ results }) => ({ durationMs: results.second.items }),
  })
  .batch('counted', { name: 'Count', items: () => [1, 2, 3], run: { activity: 'countItems' } })
  .batch('fanOut', {
    name: 'Fan out',
    items: ({ input }) => Array.from({ length: input.n }, (_, i) => i),
    run: { job: exampleSubJobDefinition },
    chunkInput: (chunk) => ({ durationMs: chunk.items.length }),
    dependsOn: ['sub', 'counted'],
  })
  .activity('last', {
    name: 'Last',
    activity: 'simulateWork',
    args: ({ results }) => ({ items: results.fanOut.chunks + results.sub.summary.itemsProcessed }),
  })
  .onCancel({ activity: 'simulateWork', args: ({ input }) => ({ items: input.n }) })
  .build();

export const wrongActivityName = job({ name: 'typeTestName', description: 'type test', input })
  // @ts-expect-error 'importIndex' is not an activity of DemoActivities
  .activity('a', { name: 'A', activity: 'importIndex' })
  .build();

export const misspelledActivity = job({ name: 'typeTestSpelling', description: 'type test', input })
  // @ts-expect-error no activity is called 'simulatework'
  .activity('a', { name: 'A', activity: 'simulatework' })
  .build();

export const wrongActivityArgs = job({ name: 'typeTestArgs', description: 'type test', input })
  // @ts-expect-error simulateWork's `items` is a number
  .activity('a', { name: 'A', activity: 'simulateWork', args: () => ({ items: 'many' }) })
  .build();

export const missingActivityArgs = jobBuilder<DataImportActivities>()({
  name: 'typeTestMissingArgs',
  description: 'type test',
  input,
})
  // @ts-expect-error importIndex needs `{ importId }`: its args cannot be left out
  .activity('index', { name: 'Index', activity: 'importIndex' })
  .build();

export const wrongSubJobInput = job({ name: 'typeTestSubJob', description: 'type test', input })
  // @ts-expect-error exampleSubJob's `durationMs` is a number
  .subJob('s', { name: 'S', job: exampleSubJobDefinition, input: () => ({ durationMs: '1s' }) })
  .build();

export const unknownSubJobField = job({ name: 'typeTestSubJobKey', description: 'type test', input })
  // @ts-expect-error exampleSubJob's input has no `duration`
  .subJob('s', { name: 'S', job: exampleSubJobDefinition, input: () => ({ duration: 1 }) })
  .build();

export const wrongChunkInput = job({ name: 'typeTestChunk', description: 'type test', input })
  // @ts-expect-error a sub-job batch must build each chunk's input: `{items, offset}` is not it
  .batch('b', { name: 'B', items: () => [1, 2], run: { job: exampleSubJobDefinition } })
  .build();

export const unknownResult = job({ name: 'typeTestResults', description: 'type test', input })
  .activity('a', { name: 'A', activity: 'simulateWork' })
  // @ts-expect-error no earlier step is called 'b'
  .activity('c', { name: 'C', activity: 'simulateWork', args: ({ results }) => ({ items: results.b.items }) })
  .build();

export const unknownDependency = job({ name: 'typeTestDeps', description: 'type test', input })
  .activity('a', { name: 'A', activity: 'simulateWork' })
  // @ts-expect-error dependsOn names earlier steps only
  .activity('c', { name: 'C', activity: 'simulateWork', dependsOn: ['b'] })
  .build();

export const duplicateKey = job({ name: 'typeTestDuplicate', description: 'type test', input })
  .activity('a', { name: 'A', activity: 'simulateWork' })
  // @ts-expect-error the key 'a' is taken
  .activity('a', { name: 'A again', activity: 'simulateWork' })
  .build();

/** A cleanup's `args` sees the results that exist when the job is cancelled, each possibly absent. */
export const cleanupReadsResults = job({ name: 'typeTestCleanup', description: 'type test', input })
  .activity('first', { name: 'First', activity: 'simulateWork', args: () => ({ items: 1 }) })
  .subJob('sub', { name: 'Sub-job', job: exampleSubJobDefinition })
  .onCancel({
    activity: 'simulateWork',
    args: ({ results }) => ({
      items: results.first?.items ?? 0,
      label: results.sub ? `clean up after ${results.sub.jobId}` : undefined,
    }),
  })
  .build();

export const cleanupAssumesResult = job({ name: 'typeTestCleanupAbsent', description: 'type test', input })
  .activity('first', { name: 'First', activity: 'simulateWork', args: () => ({ items: 1 }) })
  // @ts-expect-error `results.first` may be absent: the job may be cancelled before it completed
  .onCancel({ activity: 'simulateWork', args: ({ results }) => ({ items: results.first.items }) })
  .build();

export const cleanupUnknownResult = job({ name: 'typeTestCleanupUnknown', description: 'type test', input })
  .activity('first', { name: 'First', activity: 'simulateWork', args: () => ({ items: 1 }) })
  // @ts-expect-error no step is called 'second'
  .onCancel({ activity: 'simulateWork', args: ({ results }) => ({ items: results.second?.items }) })
  .build();

export const executorsComplete: { readonly [K in StepKind]: StepExecutor<K> } = {
  activity: runActivityStep,
  job: runSubJobStep,
  batch: runBatchStep,
  sleep: runSleepStep,
  approval: runApprovalStep,
};

export const sleepResult = job({ name: 'typeTestSleep', description: 'type test', input })
  .sleep('wait', { name: 'Wait', durationMs: 10 })
  .activity('after', {
    name: 'After',
    activity: 'simulateWork',
    // A sleep step's result is typed: when it was due and when it woke.
    args: ({ results }) => ({ label: `${results.wait.wakeAt} ${results.wait.wokeAt}`, items: 1 }),
  })
  .build();

// @ts-expect-error a sleep step takes exactly one of durationMs and until
export const sleepBoth = job({ name: 'typeTestSleepBoth', description: 'type test', input }).sleep('wait', {
  name: 'Wait',
  durationMs: 10,
  until: () => new Date(),
});

export const approvalResult = job({ name: 'typeTestApproval', description: 'type test', input })
  .approval('signOff', { name: 'Sign-off', role: 'admin', timeoutMs: 60_000, onReject: 'continue' })
  .activity('after', {
    name: 'After',
    activity: 'simulateWork',
    // An approval step's result is typed: the decision, who, their comment, when.
    when: ({ results }) => results.signOff.decision === 'approved',
    args: ({ results }) => ({
      label: `${results.signOff.by ?? 'nobody'}: ${results.signOff.comment}`,
      items: 1,
    }),
  })
  .build();

export const approvalBadRole = job({ name: 'typeTestApprovalRole', description: 'type test', input })
  // @ts-expect-error a viewer never decides an approval
  .approval('signOff', { name: 'Sign-off', role: 'viewer' })
  .build();

export const approvalBadDecision = job({ name: 'typeTestApprovalDecision', description: 'type test', input })
  .approval('signOff', { name: 'Sign-off', onTimeout: 'continue' })
  .activity('after', {
    name: 'After',
    activity: 'simulateWork',
    // @ts-expect-error the decisions are approved, rejected and timed_out
    when: ({ results }) => results.signOff.decision === 'approve',
  })
  .build();

export const approvalRetry = job({ name: 'typeTestApprovalRetry', description: 'type test', input })
  // @ts-expect-error an approval is not retried
  .approval('signOff', { name: 'Sign-off', retry: { maxAttempts: 3 } })
  .build();

// @ts-expect-error the step-kind map needs an executor for every kind ('batch', 'sleep' and 'approval' are missing)
export const executorsIncomplete: { readonly [K in StepKind]: StepExecutor<K> } = {
  activity: runActivityStep,
  job: runSubJobStep,
};

export const executorsMismatched: { readonly [K in StepKind]: StepExecutor<K> } = {
  activity: runActivityStep,
  // @ts-expect-error each kind's executor takes steps of that kind
  job: runBatchStep,
  batch: runBatchStep,
};
