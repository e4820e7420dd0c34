/**
 * Activity implementations, built by factories that receive their dependencies, so the worker
 * wires real ones and tests can pass their own. One factory per slice of the activity interface
 * (`workflows/activities.ts`): the engine's own, the demos', and each pipeline's.
 */
import type { Client } from '@temporalio/client';
import type { StepActivities } from '../workflows/activities';
import { createWorkspaceActivities } from './cleanup';
import { createDatasetActivities } from './dataset/activities';
import { createEngineActivities } from './engine';
import { createDataImportActivities } from './import/activities';
import type { PipelineConfig } from './pipeline-config';
import { createDemoActivities } from './simulate';

export type { PipelineConfig } from './pipeline-config';

export interface ActivityDeps {
  /** Used to report step progress to the job (a signal to its workflow) and to cancel a job's run. */
  client: Client;
  /** Folders and limits of the data pipelines (dataImport, datasetBuild). */
  pipelines: PipelineConfig;
}

export function createActivities({ client, pipelines }: ActivityDeps): StepActivities {
  return {
    ...createEngineActivities(client),
    ...createDemoActivities(client),
    ...createWorkspaceActivities(pipelines),
    ...createDataImportActivities(pipelines, client),
    ...createDatasetActivities(pipelines, client),
  };
}
