/**
 * The catalog (what the API offers and starts) and the workflow bundle (what a worker can run) are
 * two lists today; a job type in the first but not the second is accepted by `POST /api/jobs` and
 * then never runs. So the worker and the API check, when they start, that every type of the
 * catalog is a workflow of the bundle, and refuse to start otherwise, naming the type.
 *
 * A prebuilt bundle is a webpack file for the workflow sandbox; what it exports is written beside
 * it, when it is built, as `<bundle>.manifest.json` (see `scripts/build-workflow-bundle.ts`).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { JobDefinition } from '../workflows/engine/definition';

/** Path of the workflow entry file (the bundle's source), compiled or not. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** What the bundle build writes beside a bundle. */
export interface BundleManifest {
  /** The workflow entry the bundle was built from. */
  entry: string;
  /** The names of the workflow functions it exports. */
  workflows: string[];
}

/** A catalog and a bundle that disagree: the message names each type and where to add it. */
export class RegistrationError extends Error {
  constructor(
    readonly missing: string[],
    where: string,
  ) {
    super(
      `${missing.length === 1 ? 'Job type' : 'Job types'} ${missing.map((m) => `"${m}"`).join(', ')} ` +
        `${missing.length === 1 ? 'is' : 'are'} in the catalog (workflows/catalog.ts) but not exported by ` +
        `the workflow bundle (${where}): export ${missing.length === 1 ? 'it' : 'them'} from workflows/index.ts ` +
        '(jobWorkflow(definition)) and rebuild, or remove the type from the catalog',
    );
    this.name = 'RegistrationError';
  }
}

/** The manifest's path for a bundle file. */
export const manifestPath = (bundlePath: string): string =>
  `${bundlePath.replace(/\.js$/, '')}.manifest.json`;

/** The workflow functions a workflow entry module exports (loaded in Node: it is plain code). */
export function exportedWorkflows(entryPath: string): string[] {
  // A synchronous load of a path known only at run time: `import()` would make every caller async.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(entryPath) as Record<string, unknown>;
  return Object.keys(mod).filter((k) => typeof mod[k] === 'function');
}

/** The workflows a prebuilt bundle exports, from its manifest; throws when there is none. */
export function bundledWorkflows(bundlePath: string): string[] {
  const path = manifestPath(bundlePath);
  if (!existsSync(path)) {
    throw new Error(
      `The workflow bundle ${bundlePath} has no manifest (${path}), so what it can run is unknown: ` +
        'rebuild it with "npm run build:workflows" (scripts/build-workflow-bundle.ts writes both)',
    );
  }
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Partial<BundleManifest>;
  if (!Array.isArray(manifest.workflows)) throw new Error(`${path} is not a workflow bundle manifest`);
  return manifest.workflows;
}

/** Throws a {@link RegistrationError} when a type of `catalog` is not among `workflows`. */
export function checkRegistration(
  catalog: readonly JobDefinition[],
  workflows: readonly string[],
  where: string,
): void {
  const have = new Set(workflows);
  const missing = catalog.map((d) => d.name).filter((name) => !have.has(name));
  if (missing.length > 0) throw new RegistrationError(missing, where);
}
