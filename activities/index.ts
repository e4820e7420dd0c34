/**
 * Activity implementations, built by a factory that receives their dependencies, so the worker
 * wires real ones and tests can pass their own.
 */
import type { Client } from '@temporalio/client';
import type { StepActivities } from '../workflows/activity-contracts';
import type { PipelineConfig } from './pipeline-config';
import { countItems, simulateWork } from './simulate';

export type { PipelineConfig } from './pipeline-config';

export interface ActivityDeps {
  /** Used to report step progress to the job (a signal to its workflow). */
  client: Client;
  /** Folders and limits of the data pipelines (dataImport, datasetBuild). */
  pipelines: PipelineConfig;
}

export function createActivities(deps: ActivityDeps): StepActivities {
  return {
    simulateWork: (job, args) => simulateWork(deps.client, job, args),
    countItems: (job, args) => countItems(job, args),
  };
}
