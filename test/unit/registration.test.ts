/** The start-time check that the catalog and the workflow bundle name the same job types. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundledWorkflows,
  checkRegistration,
  exportedWorkflows,
  manifestPath,
  RegistrationError,
  WORKFLOWS_PATH,
} from '../../src/registration';
import { jobDefinitions } from '../../workflows/catalog';

const dir = mkdtempSync(join(tmpdir(), 'stepwise-registration-'));

describe('checkRegistration', () => {
  it('passes for the repository: every catalog type is exported by the workflow entry', () => {
    expect(() => checkRegistration(jobDefinitions, exportedWorkflows(WORKFLOWS_PATH), 'entry')).not.toThrow();
  });

  it('names every type of the catalog the bundle lacks, and where to add it', () => {
    const workflows = exportedWorkflows(WORKFLOWS_PATH).filter((w) => w !== 'example' && w !== 'demoTask');
    let error: unknown;
    try {
      checkRegistration(jobDefinitions, workflows, 'the bundle');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RegistrationError);
    expect((error as RegistrationError).missing).toEqual(['example', 'demoTask']);
    expect((error as Error).message).toBe(
      'Job types "example", "demoTask" are in the catalog (workflows/catalog.ts) but not exported by the ' +
        'workflow bundle (the bundle): export them from workflows/index.ts (jobWorkflow(definition)) and ' +
        'rebuild, or remove the type from the catalog',
    );
  });
});

describe('bundledWorkflows', () => {
  it('reads the manifest written beside a bundle', () => {
    const bundle = join(dir, 'with-manifest.js');
    writeFileSync(bundle, '');
    writeFileSync(manifestPath(bundle), JSON.stringify({ entry: 'x', workflows: ['a', 'b'] }));
    expect(manifestPath(bundle)).toBe(join(dir, 'with-manifest.manifest.json'));
    expect(bundledWorkflows(bundle)).toEqual(['a', 'b']);
  });

  it('refuses a bundle without a manifest, saying how to make one', () => {
    const bundle = join(dir, 'bare.js');
    writeFileSync(bundle, '');
    expect(() => bundledWorkflows(bundle)).toThrow(/has no manifest .*npm run build:workflows/);
  });
});
