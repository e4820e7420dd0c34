/**
 * The whole activity interface the worker registers: the engine's own activities and one slice
 * per area, each declared next to the job types that call it and implemented by its own factory
 * in `activities/`. Workflows depend on these types only, never on the implementations.
 */
import type { EngineActivities } from './engine/step-io';
import type { DataImportActivities } from './jobs/data-import-contracts';
import type { DatasetActivities } from './jobs/dataset-build-contracts';
import type { DemoActivities } from './jobs/demo-contracts';
import type { WorkspaceActivities } from './jobs/workspace-contracts';

export type StepActivities = EngineActivities &
  DemoActivities &
  WorkspaceActivities &
  DataImportActivities &
  DatasetActivities;

export type ActivityName = keyof StepActivities;
