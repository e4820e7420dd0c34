/**
 * Workflow bundle entry: every workflow the worker registers. Each job type is its own exported
 * workflow function, so the Temporal Web UI shows the job type as the workflow type.
 */
import { jobDefinitions } from './catalog';
import { registerJobTypes } from './engine/registry';
import { jobWorkflow } from './engine/workflow';
import { demoPipelineDefinition, demoTaskDefinition } from './jobs/demo-pipeline';
import { dataImportDefinition, importBatchDefinition } from './jobs/data-import';
import { datasetBuildDefinition } from './jobs/dataset-build';
import { exampleDefinition, exampleSubJobDefinition } from './jobs/example';
import { itemBatchDefinition } from './jobs/item-batch';
import { sceneProcessingDefinition, sceneTaskDefinition } from './jobs/scene-processing';

export { batchCoordinator } from './engine/batch';

// Batch coordinators look their step up here (see engine/registry.ts).
registerJobTypes(jobDefinitions);

/** {@inheritDoc exampleDefinition} */
export const example = jobWorkflow(exampleDefinition);
/** {@inheritDoc exampleSubJobDefinition} */
export const exampleSubJob = jobWorkflow(exampleSubJobDefinition);
/** {@inheritDoc sceneProcessingDefinition} */
export const sceneProcessing = jobWorkflow(sceneProcessingDefinition);
/** {@inheritDoc sceneTaskDefinition} */
export const sceneTask = jobWorkflow(sceneTaskDefinition);
/** {@inheritDoc itemBatchDefinition} */
export const itemBatch = jobWorkflow(itemBatchDefinition);
/** {@inheritDoc demoPipelineDefinition} */
export const demoPipeline = jobWorkflow(demoPipelineDefinition);
/** {@inheritDoc demoTaskDefinition} */
export const demoTask = jobWorkflow(demoTaskDefinition);
/** {@inheritDoc dataImportDefinition} */
export const dataImport = jobWorkflow(dataImportDefinition);
/** {@inheritDoc importBatchDefinition} */
export const importBatch = jobWorkflow(importBatchDefinition);
/** {@inheritDoc datasetBuildDefinition} */
export const datasetBuild = jobWorkflow(datasetBuildDefinition);
