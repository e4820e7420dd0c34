/** `defineApp`: the one list of job types, what it derives, and the mistakes it refuses. */
import { z } from 'zod';
import exampleApp from '../../workflows/app';
import { AppDefinitionError, defineApp, isStepwiseApp } from '../../workflows/engine/app';
import { jobBuilder } from '../../workflows/engine/builder';
import { defineJob } from '../../workflows/engine/definition';
import type { DemoActivities } from '../../workflows/jobs/demo-contracts';
import { activityNames } from '../../src/worker-factory';

const job = jobBuilder<DemoActivities>();
const input = z.object({});
const child = job({ name: 'childType', description: 'c', input, internal: true })
  .activity('work', { name: 'Work', activity: 'simulateWork', args: () => ({ durationMs: 1 }) })
  .build();
const parent = job({ name: 'parentType', description: 'p', input })
  .subJob('sub', { name: 'Sub', job: child })
  .build();

describe('defineApp', () => {
  it('lists the example app: the listed types, each followed by the sub-job types it reaches', () => {
    expect(isStepwiseApp(exampleApp)).toBe(true);
    expect(exampleApp.jobs.map((d) => d.name)).toEqual([
      'example',
      'exampleSubJob',
      'sceneProcessing',
      'sceneTask',
      'itemBatch',
      'demoPipeline',
      'demoTask',
      'demoHold',
      'demoWait',
      'demoQueue',
      'demoApproval',
      'dataImport',
      'importBatch',
      'datasetBuild',
      // Every app has the framework's bulk-action type (POST /api/bulk).
      'stepwiseBulk',
    ]);
    expect(exampleApp.find('importBatch')?.internal).toBe(true);
    expect(exampleApp.find('nope')).toBeUndefined();
  });

  it('brings a sub-job type with its parent, so the list cannot forget it', () => {
    const app = defineApp({ jobs: [parent] });
    expect(app.jobs.map((d) => d.name)).toEqual(['parentType', 'childType', 'stepwiseBulk']);
    expect(activityNames(app)).toEqual(['simulateWork']);
  });

  it('every step of the example app runs a job type the app has', () => {
    const names = new Set(exampleApp.jobs.map((d) => d.name));
    for (const def of exampleApp.jobs) {
      for (const step of def.steps) {
        if (step.kind === 'job') expect(names).toContain(step.jobType);
        if (step.kind === 'batch' && 'jobType' in step.run) expect(names).toContain(step.run.jobType);
      }
    }
  });

  it('refuses a step that names a job type the app lacks, saying what to add', () => {
    const byName = defineJob({
      name: 'byName',
      description: 'x',
      input,
      steps: [{ kind: 'job', key: 'sub', name: 'Sub', jobType: 'missingType' }],
    });
    expect(() => defineApp({ jobs: [byName] })).toThrow(
      new AppDefinitionError(
        'step "sub" of "byName" runs job type "missingType", which is not in the app: add its definition to `jobs` (or build the step with the definition, not its name)',
      ),
    );
  });

  it('refuses two types of one name, the engine type name, an empty list and a non-definition', () => {
    const twin = job({ name: 'parentType', description: 'other', input })
      .activity('a', { name: 'A', activity: 'simulateWork' })
      .build();
    expect(() => defineApp({ jobs: [parent, twin] })).toThrow(
      /two different job types are named "parentType"/,
    );
    const coordinator = job({ name: 'batchCoordinator', description: 'x', input })
      .activity('a', { name: 'A', activity: 'simulateWork' })
      .build();
    expect(() => defineApp({ jobs: [coordinator] })).toThrow(/engine's own workflow type/);
    const bulk = job({ name: 'stepwiseBulk', description: 'x', input })
      .activity('a', { name: 'A', activity: 'simulateWork' })
      .build();
    expect(() => defineApp({ jobs: [bulk] })).toThrow(
      new AppDefinitionError('"stepwiseBulk" is the framework\'s own bulk-action job type'),
    );
    expect(() => defineApp({ jobs: [] })).toThrow(/at least one job type/);
    expect(() => defineApp({ jobs: [{} as never] })).toThrow(/is not a job definition/);
  });
});
