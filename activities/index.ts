/**
 * Activity implementations, built by a factory that receives their dependencies, so the worker
 * wires real ones and tests can pass their own.
 */
import type { Client } from '@temporalio/client';
import type { StepActivities } from '../workflows/activity-contracts';
import { cleanupWorkDir } from './cleanup';
import {
  datasetDedupe,
  datasetDownload,
  datasetLabel,
  datasetMetadata,
  datasetStore,
  datasetValidate,
} from './dataset/activities';
import { importIndex, importNormalize, importValidate } from './import/activities';
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
  const { client, pipelines: cfg } = deps;
  return {
    simulateWork: (job, args) => simulateWork(client, job, args),
    countItems: (job, args) => countItems(job, args),
    requestCancellation: async (job, args) => {
      await deps.client.workflow.getHandle(job.jobId, args.runId).cancel();
    },
    importValidate: (job, args) => importValidate(cfg, client, job, args),
    importNormalize: (job, args) => importNormalize(cfg, client, job, args),
    importIndex: (job, args) => importIndex(cfg, client, job, args),
    cleanupWorkDir: (job, args) => cleanupWorkDir(cfg, job, args),
    datasetDownload: (job, args) => datasetDownload(cfg, client, job, args),
    datasetValidate: (job, args) => datasetValidate(cfg, job, args),
    datasetDedupe: (job, args) => datasetDedupe(cfg, job, args),
    datasetMetadata: (job, args) => datasetMetadata(cfg, job, args),
    datasetLabel: (job, args) => datasetLabel(job, args),
    datasetStore: (job, args) => datasetStore(cfg, job, args),
  };
}
