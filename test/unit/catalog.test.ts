import * as workflows from '../../workflows';
import { jobDefinitions } from '../../workflows/catalog';

describe('job catalog', () => {
  it('exports every job type as a workflow function of the same name', () => {
    for (const def of jobDefinitions) {
      const fn = (workflows as Record<string, unknown>)[def.name];
      expect(typeof fn).toBe('function');
      expect((fn as { name: string }).name).toBe(def.name);
    }
  });

  it('refers only to job types that exist', () => {
    const names = new Set(jobDefinitions.map((d) => d.name));
    for (const def of jobDefinitions) {
      for (const step of def.steps) {
        if (step.kind === 'job') expect(names).toContain(step.jobType);
        if (step.kind === 'batch' && 'jobType' in step.run) expect(names).toContain(step.run.jobType);
      }
    }
  });
});
