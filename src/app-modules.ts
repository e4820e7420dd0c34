/**
 * The app and activities modules a Stepwise process is started with: `stepwise dev --app <module>
 * --activities <module>`, or STEPWISE_APP_MODULE / STEPWISE_ACTIVITIES_MODULE, or else the
 * `stepwise` field of the package.json in the working directory
 * (`"stepwise": { "app": "./dist/app.js", "activities": "./dist/activities.js" }`). Loaded by
 * path, so the framework's processes never import an app.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { StepwiseApp } from '../workflows/engine/app';
import type { Config } from './config';
import { loadApp } from './registration';
import type { ActivitiesModule } from './worker-factory';

/** A missing or malformed module setting; the message says which and how to give it. */
export class AppModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppModuleError';
  }
}

const absolute = (p: string): string => (isAbsolute(p) ? p : resolve(p));

/** The `stepwise` field of `./package.json`: module paths relative to the working directory. */
function packageDefaults(): { app?: string; activities?: string } {
  const file = join(process.cwd(), 'package.json');
  if (!existsSync(file)) return {};
  try {
    const field = (JSON.parse(readFileSync(file, 'utf8')) as { stepwise?: unknown }).stepwise;
    if (!field || typeof field !== 'object') return {};
    const { app, activities } = field as Record<string, unknown>;
    return {
      app: typeof app === 'string' ? app : undefined,
      activities: typeof activities === 'string' ? activities : undefined,
    };
  } catch {
    return {};
  }
}

/** The activities module's path, from the configuration or the package.json default; undefined when neither. */
export function activitiesModulePath(config: Config): string | undefined {
  const path = config.env.STEPWISE_ACTIVITIES_MODULE ?? packageDefaults().activities;
  return path ? absolute(path) : undefined;
}

/** The app module's absolute path, from the configuration or the package.json default; throws when neither. */
export function appModulePath(config: Config): string {
  const path = config.env.STEPWISE_APP_MODULE ?? packageDefaults().app;
  if (!path) {
    throw new AppModuleError(
      'No app given: start with "stepwise <command> --app <module>" (or set STEPWISE_APP_MODULE, or "stepwise": { "app": ... } in package.json), a module whose default export is defineApp({ jobs: [...] })',
    );
  }
  return absolute(path);
}

/** The app the configuration names. */
export function loadConfiguredApp(config: Config): StepwiseApp {
  return loadApp(appModulePath(config));
}

/** The activities module the configuration names, checked to be for an app with the same job types. */
export function loadConfiguredActivities(config: Config, app: StepwiseApp): ActivitiesModule {
  const path = activitiesModulePath(config);
  if (!path) {
    throw new AppModuleError(
      'No activities given: start with "stepwise <command> --activities <module>" (or set STEPWISE_ACTIVITIES_MODULE, or "stepwise": { "activities": ... } in package.json), a module whose default export is defineActivities(app, factory)',
    );
  }
  // A synchronous load of a path known only at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as { default?: unknown };
  const value = (mod.default ?? mod) as Partial<ActivitiesModule>;
  if (typeof value?.create !== 'function') {
    throw new AppModuleError(
      `${path} does not export activities: make its default export defineActivities(app, (deps) => ({ ... }))`,
    );
  }
  const names = (a: StepwiseApp | undefined) => (a?.jobs ?? []).map((d) => d.name).join(',');
  if (value.app && names(value.app) !== names(app)) {
    throw new AppModuleError(
      `${path} defines activities for another app (job types ${names(value.app)}) than ${appModulePath(config)} (${names(app)})`,
    );
  }
  return value as ActivitiesModule;
}
