/**
 * The app a worker or the API is given, and the app a worker's workflow code holds, must be the
 * same list of job types: a type the API offers but the bundle lacks would be accepted and never
 * run. With one `defineApp` list there is one place a type can be; what can still disagree is a
 * prebuilt bundle (built from an older app) or a module path that names another app. The worker
 * checks both when it starts and refuses to start otherwise, naming the types.
 *
 * A prebuilt bundle is a webpack file for the workflow sandbox; the job types of the app it was
 * built from are written beside it as `<bundle>.manifest.json` (see `src/bundle.ts`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isStepwiseApp, type StepwiseApp } from '../workflows/engine/app';

/** What the bundle build writes beside a bundle. */
export interface BundleManifest {
  /** The app module the bundle was built from. */
  entry: string;
  /** The names of the app's job types. */
  jobTypes: string[];
}

/** Two apps that disagree: the message names each type and what to do. */
export class RegistrationError extends Error {
  constructor(
    readonly missing: string[],
    where: string,
  ) {
    const one = missing.length === 1;
    super(
      `${one ? 'Job type' : 'Job types'} ${missing.map((m) => `"${m}"`).join(', ')} ${one ? 'is' : 'are'} ` +
        `in the app the worker was given but not in the app of its workflow bundle (${where}): ` +
        'rebuild the bundle from the same app (stepwise bundle), or start the worker with the app the bundle was built from',
    );
    this.name = 'RegistrationError';
  }
}

/** The manifest's path for a bundle file. */
export const manifestPath = (bundlePath: string): string =>
  `${bundlePath.replace(/\.js$/, '')}.manifest.json`;

/**
 * Loads the app a module exports as its default export (`export default defineApp(...)`), or as
 * the module itself (`module.exports = defineApp(...)`). Throws an error that says what to export.
 */
export function loadApp(modulePath: string): StepwiseApp {
  const path = isAbsolute(modulePath) ? modulePath : resolve(modulePath);
  // A synchronous load of a path known only at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as { default?: unknown } | undefined;
  const app = isStepwiseApp(mod) ? mod : mod?.default;
  if (!isStepwiseApp(app)) {
    throw new Error(
      `${modulePath} does not export a Stepwise app: make its default export the value of defineApp({ jobs: [...] })`,
    );
  }
  return app;
}

/** The job types of the app a prebuilt bundle was built from, from its manifest; throws when there is none. */
export function bundledJobTypes(bundlePath: string): string[] {
  const path = manifestPath(bundlePath);
  if (!existsSync(path)) {
    throw new Error(
      `The workflow bundle ${bundlePath} has no manifest (${path}), so what it can run is unknown: ` +
        'rebuild it with "stepwise bundle" (npm run build:workflows here), which writes both',
    );
  }
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Partial<BundleManifest>;
  if (!Array.isArray(manifest.jobTypes)) throw new Error(`${path} is not a workflow bundle manifest`);
  return manifest.jobTypes;
}

/** Throws a {@link RegistrationError} when a job type of `app` is not among `jobTypes`. */
export function checkRegistration(app: StepwiseApp, jobTypes: readonly string[], where: string): void {
  const have = new Set(jobTypes);
  const missing = app.jobs.map((d) => d.name).filter((name) => !have.has(name));
  if (missing.length > 0) throw new RegistrationError(missing, where);
}

/**
 * The module a CommonJS process loaded `app` from (the one whose default export is `app`), so a
 * worker can bundle it without being told its path; undefined when none is found (ESM, jest).
 */
export function findAppModule(app: StepwiseApp): string | undefined {
  for (const mod of Object.values(require.cache)) {
    const exp = mod?.exports as { default?: unknown } | undefined;
    if (mod && (exp === app || exp?.default === app)) return mod.filename;
  }
  return undefined;
}
