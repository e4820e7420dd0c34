/**
 * The example app Stepwise ships and tests with: this repository's own job types, in the one list
 * the framework takes. The sub-job types their steps run (exampleSubJob, sceneTask, demoTask,
 * importBatch) come with their parents. This module is the workflow bundle's entry: its default
 * export is the workflow the worker runs for every job type.
 */
import { defineApp } from './engine/app';
import { demoPipelineDefinition } from './jobs/demo-pipeline';
import { demoHoldDefinition } from './jobs/demo-hold';
import { demoWaitDefinition } from './jobs/demo-wait';
import { demoQueueDefinition } from './jobs/demo-queue';
import { demoApprovalDefinition } from './jobs/demo-approval';
import { dataImportDefinition } from './jobs/data-import';
import { datasetBuildDefinition } from './jobs/dataset-build';
import { exampleDefinition } from './jobs/example';
import { itemBatchDefinition } from './jobs/item-batch';
import { sceneProcessingDefinition } from './jobs/scene-processing';

export default defineApp({
  jobs: [
    exampleDefinition,
    sceneProcessingDefinition,
    itemBatchDefinition,
    demoPipelineDefinition,
    demoHoldDefinition,
    demoWaitDefinition,
    demoQueueDefinition,
    demoApprovalDefinition,
    dataImportDefinition,
    datasetBuildDefinition,
  ],
});
