/**
 * Worker Deployment Versioning for Stepwise workers (opt-in, `STEPWISE_WORKER_VERSIONING=true`):
 * which deployment a worker belongs to and which build it is. Each build of the app is a
 * deployment version; jobs of `pinned` types finish on the build they started on, new jobs go to
 * the deployment's current version (set with `stepwise deployment set-current`). See
 * docs/production.md, "Versioned deploys".
 *
 * The defaults are read once, when a worker starts, from files (no process is spawned): the build
 * id from the app's package version and the git commit of its checkout, when there is one.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { WorkerDeploymentVersion } from '@temporalio/common';

/** A worker's place in Worker Deployment Versioning: its deployment and its build. */
export interface WorkerVersioning {
  /** The worker deployment (all the builds of one app on one task queue). */
  deploymentName: string;
  /** This build of it. */
  buildId: string;
}

/** The longest build id Stepwise accepts (Temporal keeps build ids short too). */
export const MAX_BUILD_ID_LENGTH = 255;

/**
 * Why `name` cannot be a deployment name, or null. Temporal refuses `.` and `:` in one (they
 * separate the deployment from the build id in a version's name).
 */
export function deploymentNameProblem(name: string): string | null {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_BUILD_ID_LENGTH) return `it is longer than ${MAX_BUILD_ID_LENGTH} characters`;
  if (/[.:]/.test(name)) return 'it contains "." or ":", which Temporal refuses in a deployment name';
  if (/\s/.test(name)) return 'it contains white space';
  return null;
}

/** Why `id` cannot be a build id, or null. */
export function buildIdProblem(id: string): string | null {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_BUILD_ID_LENGTH) return `it is longer than ${MAX_BUILD_ID_LENGTH} characters`;
  if (/\s/.test(id)) return 'it contains white space';
  return null;
}

/** The default deployment name of a task queue's workers: the queue's name, `.` and `:` made `-`. */
export function defaultDeploymentName(taskQueue: string): string {
  return taskQueue.replace(/[.:]/g, '-');
}

/** The nearest folder at or above `from` that holds a `package.json`, or null. */
function packageRoot(from: string): string | null {
  let dir = resolve(from);
  try {
    if (!statSync(dir).isDirectory()) dir = dirname(dir);
  } catch {
    dir = dirname(dir);
  }
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/**
 * The commit checked out in the git repository holding `dir`, read from its files (`.git/HEAD`,
 * the branch's ref or `packed-refs`; a worktree's `.git` file is followed), or null.
 */
export function gitCommit(dir: string): string | null {
  for (let at = resolve(dir); ;) {
    const dotGit = join(at, '.git');
    if (existsSync(dotGit)) {
      let gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        // A worktree or submodule: "gitdir: <path>".
        const m = /^gitdir:\s*(.+)$/m.exec(readText(dotGit) ?? '');
        if (!m) return null;
        gitDir = isAbsolute(m[1].trim()) ? m[1].trim() : resolve(at, m[1].trim());
      }
      // A worktree's refs live in the main repository's folder (`commondir`).
      const common = readText(join(gitDir, 'commondir'))?.trim();
      const commonDir = common ? resolve(gitDir, common) : gitDir;
      const head = readText(join(gitDir, 'HEAD'))?.trim();
      if (!head) return null;
      const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
      if (!ref) return /^[0-9a-f]{40,64}$/.test(head) ? head : null;
      for (const base of [gitDir, commonDir]) {
        const sha = readText(join(base, ref))?.trim();
        if (sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
      }
      const packed = readText(join(commonDir, 'packed-refs')) ?? '';
      for (const line of packed.split('\n')) {
        const [sha, name] = line.trim().split(' ');
        if (name === ref && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
      }
      return null;
    }
    const up = dirname(at);
    if (up === at) return null;
    at = up;
  }
}

/**
 * The default build id of the app whose module is `appModule`: its package's version, plus the
 * short git commit when the package sits in a git checkout (`0.1.0+abc1234`), else the version
 * alone. A deploy from an image without `.git` should set `STEPWISE_WORKER_BUILD_ID` (e.g. to the
 * image's commit), or two builds of one version would share an id.
 */
export function defaultBuildId(appModule: string): string {
  const root = packageRoot(appModule);
  let version = '0.0.0';
  if (root) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string' && pkg.version) version = pkg.version;
    } catch {
      // no readable version: 0.0.0
    }
  }
  const commit = gitCommit(root ?? dirname(resolve(appModule)));
  return commit ? `${version}+${commit.slice(0, 7)}` : version;
}

/** The versioning settings of the environment (docs/configuration.md), already checked by the config schema. */
export interface WorkerVersioningEnv {
  STEPWISE_WORKER_VERSIONING: boolean;
  STEPWISE_WORKER_DEPLOYMENT?: string;
  STEPWISE_WORKER_BUILD_ID?: string;
}

/**
 * A worker's deployment and build from the environment, or null when versioning is off: the
 * deployment defaults to the task queue's name, the build id to {@link defaultBuildId}.
 */
export function workerVersioningFromEnv(
  env: WorkerVersioningEnv,
  taskQueue: string,
  appModule: string,
): WorkerVersioning | null {
  if (!env.STEPWISE_WORKER_VERSIONING) return null;
  return {
    deploymentName: env.STEPWISE_WORKER_DEPLOYMENT ?? defaultDeploymentName(taskQueue),
    buildId: env.STEPWISE_WORKER_BUILD_ID ?? defaultBuildId(appModule),
  };
}

/** The SDK's name for a version. */
export function toDeploymentVersion(v: WorkerVersioning): WorkerDeploymentVersion {
  return { deploymentName: v.deploymentName, buildId: v.buildId };
}
