/** The start-time checks that a worker's app, its workflow bundle and its activities agree. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundledJobTypes,
  checkRegistration,
  loadApp,
  manifestPath,
  RegistrationError,
} from '../../src/registration';
import exampleApp from '../../workflows/app';

const dir = mkdtempSync(join(tmpdir(), 'stepwise-registration-'));

describe('checkRegistration', () => {
  it('passes when the bundle holds every type of the app', () => {
    expect(() =>
      checkRegistration(
        exampleApp,
        exampleApp.jobs.map((d) => d.name),
        'entry',
      ),
    ).not.toThrow();
  });

  it('names every type of the app the bundle lacks, and what to do', () => {
    const types = exampleApp.jobs.map((d) => d.name).filter((w) => w !== 'example' && w !== 'demoTask');
    let error: unknown;
    try {
      checkRegistration(exampleApp, types, 'the bundle');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RegistrationError);
    expect((error as RegistrationError).missing).toEqual(['example', 'demoTask']);
    expect((error as Error).message).toBe(
      'Job types "example", "demoTask" are in the app the worker was given but not in the app of its workflow ' +
        'bundle (the bundle): rebuild the bundle from the same app (stepwise bundle), or start the worker with ' +
        'the app the bundle was built from',
    );
  });
});

describe('bundledJobTypes', () => {
  it('reads the manifest written beside a bundle', () => {
    const bundle = join(dir, 'with-manifest.js');
    writeFileSync(bundle, '');
    writeFileSync(manifestPath(bundle), JSON.stringify({ entry: 'x', jobTypes: ['a', 'b'] }));
    expect(manifestPath(bundle)).toBe(join(dir, 'with-manifest.manifest.json'));
    expect(bundledJobTypes(bundle)).toEqual(['a', 'b']);
  });

  it('refuses a bundle without a manifest, saying how to make one', () => {
    const bundle = join(dir, 'bare.js');
    writeFileSync(bundle, '');
    expect(() => bundledJobTypes(bundle)).toThrow(/has no manifest .*stepwise bundle/);
  });
});

describe('loadApp', () => {
  it('refuses a module that does not export an app, saying what to export', () => {
    const mod = join(dir, 'not-an-app.js');
    writeFileSync(mod, 'module.exports = { jobs: [] };');
    expect(() => loadApp(mod)).toThrow(
      /does not export a Stepwise app: make its default export the value of defineApp/,
    );
  });
});
