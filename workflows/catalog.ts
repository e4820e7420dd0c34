/**
 * Every job type, as data. The API reads this to validate input and describe types; the
 * workflow entry (`index.ts`) turns each into a workflow function of the same name.
 */
import type { JobDefinition } from './engine/definition';
import { demoPipelineDefinition, demoTaskDefinition } from './jobs/demo-pipeline';
import { dataImportDefinition, importBatchDefinition } from './jobs/data-import';
import { datasetBuildDefinition } from './jobs/dataset-build';
import { exampleDefinition, exampleSubJobDefinition } from './jobs/example';
import { itemBatchDefinition } from './jobs/item-batch';
import { sceneProcessingDefinition, sceneTaskDefinition } from './jobs/scene-processing';

export const jobDefinitions: readonly JobDefinition[] = [
  exampleDefinition,
  exampleSubJobDefinition,
  sceneProcessingDefinition,
  sceneTaskDefinition,
  itemBatchDefinition,
  demoPipelineDefinition,
  demoTaskDefinition,
  dataImportDefinition,
  importBatchDefinition,
  datasetBuildDefinition,
];

export function findJobDefinition(type: string): JobDefinition | undefined {
  return jobDefinitions.find((d) => d.name === type);
}
