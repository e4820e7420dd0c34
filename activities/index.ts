/**
 * The example app's activities, built by factories that receive their dependencies, so the worker
 * wires real ones and tests can pass their own. One factory per area (the demos', the workspace
 * cleanup, and each pipeline's); their union must be exactly what the app's steps call
 * (`ActivitiesOf<typeof app>`), which the compiler checks here.
 *
 * The default export is what `stepwise worker --activities <this module>` loads.
 */
import type { Client } from '@temporalio/client';
import { defineActivities } from '../src/worker-factory';
import type { ActivitiesOf } from '../workflows/engine/app';
import app from '../workflows/app';
import { createWorkspaceActivities } from './cleanup';
import { createDatasetActivities } from './dataset/activities';
import { createDataImportActivities } from './import/activities';
import { loadPipelineConfig, type PipelineConfig } from './pipeline-config';
import { writeSamples } from './samples';
import { createDemoActivities } from './simulate';

export type { PipelineConfig } from './pipeline-config';

/** Every activity the example app's job types call. */
export type ExampleActivities = ActivitiesOf<typeof app>;

export interface ActivityDeps {
  /** Used to report step progress to the job (a signal to its workflow). */
  client: Client;
  /** Folders and limits of the data pipelines (dataImport, datasetBuild). */
  pipelines: PipelineConfig;
}

export function createActivities({ client, pipelines }: ActivityDeps): ExampleActivities {
  return {
    ...createDemoActivities(client),
    ...createWorkspaceActivities(pipelines),
    ...createDataImportActivities(pipelines, client),
    ...createDatasetActivities(pipelines, client),
  };
}

export default defineActivities(app, ({ client }) => {
  const pipelines = loadPipelineConfig();
  // The pipelines' examples (POST /api/jobs in /docs) read these: written once, never overwritten.
  writeSamples(pipelines.importRoot);
  return createActivities({ client, pipelines });
});
