/**
 * Type tests of `stepwise/client`, checked by `npm run typecheck` (never run): each
 * `@ts-expect-error` line must fail to compile, or the typecheck fails with "Unused
 * '@ts-expect-error' directive". They prove that `StepwiseClient.start` takes the app's own job
 * definitions only, each with its own input type, and that its answers are typed.
 */
import type { Client } from '@temporalio/client';
import { defineApp } from 'stepwise';
import { StepwiseClient, type JobState, type StartedJob } from 'stepwise/client';
import exampleApp from '../../workflows/app';
import { dataImportDefinition } from '../../workflows/jobs/data-import';
import { exampleDefinition, exampleSubJobDefinition } from '../../workflows/jobs/example';

declare const temporal: Client;
const jobs = new StepwiseClient({ app: exampleApp, client: temporal });

/** What compiles: a listed definition with its input (defaults may be left out), a name with any input. */
export async function valid(): Promise<[StartedJob, StartedJob, StartedJob, JobState]> {
  const imported = await jobs.start(dataImportDefinition, { sourceDir: 'incoming' }, { jobId: 'import-1' });
  const example = await jobs.start(exampleDefinition, {});
  // By name the input is checked when the job starts, not by the compiler.
  const byName = await jobs.start('example', { durationMs: 10 });
  const state = await jobs.get(imported.jobId);
  return [imported, example, byName, state];
}

export async function wrongInput(): Promise<void> {
  // @ts-expect-error dataImport's `sourceDir` is a string
  await jobs.start(dataImportDefinition, { sourceDir: 42 });
  // @ts-expect-error dataImport needs `sourceDir`
  await jobs.start(dataImportDefinition, { batchSize: 5 });
  // @ts-expect-error example's input has no `duration`
  await jobs.start(exampleDefinition, { duration: 10 });
  // @ts-expect-error the input of a definition cannot be left out
  await jobs.start(exampleDefinition);
}

export async function notStartable(): Promise<void> {
  // @ts-expect-error an internal sub-job type is not one the app lists: only its parent starts it
  await jobs.start(exampleSubJobDefinition, { durationMs: 1 });
  const otherApp = defineApp({ jobs: [exampleSubJobDefinition] });
  const others = new StepwiseClient({ app: otherApp, client: temporal });
  // @ts-expect-error dataImport is not a job type of that app
  await others.start(dataImportDefinition, { sourceDir: 'incoming' });
}

export async function typedAnswers(): Promise<void> {
  const { jobId, created } = await jobs.start(exampleDefinition, {});
  // @ts-expect-error `created` is a boolean
  const flag: string = created;
  for await (const state of jobs.watch(jobId)) {
    // @ts-expect-error a JobState has no `state` field
    void state.state;
  }
  void flag;
}
