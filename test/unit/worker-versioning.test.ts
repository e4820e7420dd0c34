/**
 * Worker Deployment Versioning's pure parts: the default build id (package version + the git
 * commit read from files, a worktree's and packed refs included), the default deployment name and
 * the names Temporal refuses, the environment variables, a job type's `versioning` option and the
 * behaviour each workflow type runs with.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config';
import {
  defaultBuildId,
  defaultDeploymentName,
  deploymentNameProblem,
  gitCommit,
  workerVersioningFromEnv,
} from '../../src/worker-versioning';
import { versioningBehaviorOf } from '../../workflows/engine/app';
import { BATCH_COORDINATOR_TYPE } from '../../workflows/engine/batch-contracts';
import { JobDefinitionError } from '../../workflows/engine/dag';
import { defineJob, type JobDefinition, type JobVersioning } from '../../workflows/engine/definition';
import { jobBuilder } from '../../workflows/engine/builder';
import { LIMITER_TYPE } from '../../workflows/engine/limiter-contracts';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const OTHER = '0123456789abcdef0123456789abcdef01234567';

/** A package folder with `version`, optionally in a repository laid out by `git`. */
function pkg(version: string, git?: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'stepwise-build-id-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', version }));
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'dist', 'app.js'), '');
  git?.(root);
  return root;
}

describe('the default build id', () => {
  it('is the version and the short commit of a branch checkout', () => {
    const root = pkg('1.2.3', (r) => {
      mkdirSync(join(r, '.git', 'refs', 'heads'), { recursive: true });
      writeFileSync(join(r, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      writeFileSync(join(r, '.git', 'refs', 'heads', 'main'), `${SHA}\n`);
    });
    expect(defaultBuildId(join(root, 'dist', 'app.js'))).toBe('1.2.3+abcdef0');
  });

  it('reads a detached HEAD and packed refs', () => {
    const detached = pkg('1.0.0', (r) => {
      mkdirSync(join(r, '.git'));
      writeFileSync(join(r, '.git', 'HEAD'), `${OTHER}\n`);
    });
    expect(gitCommit(detached)).toBe(OTHER);
    const packed = pkg('1.0.0', (r) => {
      mkdirSync(join(r, '.git'));
      writeFileSync(join(r, '.git', 'HEAD'), 'ref: refs/heads/release\n');
      writeFileSync(join(r, '.git', 'packed-refs'), `# pack-refs\n${SHA} refs/heads/release\n`);
    });
    expect(gitCommit(packed)).toBe(SHA);
  });

  it("follows a worktree's .git file to its HEAD and the main repository's refs", () => {
    const main = mkdtempSync(join(tmpdir(), 'stepwise-main-repo-'));
    mkdirSync(join(main, 'worktrees', 'wt'), { recursive: true });
    mkdirSync(join(main, 'refs', 'heads'), { recursive: true });
    writeFileSync(join(main, 'worktrees', 'wt', 'HEAD'), 'ref: refs/heads/feature\n');
    writeFileSync(join(main, 'worktrees', 'wt', 'commondir'), '../..\n');
    writeFileSync(join(main, 'refs', 'heads', 'feature'), `${OTHER}\n`);
    const root = pkg('0.3.0', (r) =>
      writeFileSync(join(r, '.git'), `gitdir: ${join(main, 'worktrees', 'wt')}\n`),
    );
    expect(defaultBuildId(join(root, 'dist', 'app.js'))).toBe('0.3.0+0123456');
  });

  it('is the version alone outside a git checkout (an image without .git)', () => {
    const root = pkg('2.0.0');
    expect(defaultBuildId(join(root, 'dist', 'app.js'))).toBe('2.0.0');
  });
});

describe('deployment names', () => {
  it('default to the task queue, with the separators Temporal refuses replaced', () => {
    expect(defaultDeploymentName('stepwise')).toBe('stepwise');
    expect(defaultDeploymentName('team.jobs:eu')).toBe('team-jobs-eu');
    expect(deploymentNameProblem('stepwise')).toBeNull();
    expect(deploymentNameProblem('a.b')).toMatch(/"\." or ":"/);
  });
});

describe('the environment', () => {
  it('leaves workers unversioned unless STEPWISE_WORKER_VERSIONING is set', () => {
    const off = loadConfig({});
    expect(off.env.STEPWISE_WORKER_VERSIONING).toBe(false);
    expect(off.env.STEPWISE_WORKER_SET_CURRENT).toBe('if-none');
    expect(workerVersioningFromEnv(off.env, 'stepwise', __filename)).toBeNull();
    const on = loadConfig({
      STEPWISE_WORKER_VERSIONING: 'true',
      STEPWISE_WORKER_DEPLOYMENT: 'orders',
      STEPWISE_WORKER_BUILD_ID: '4.5.6+ci-812',
      STEPWISE_WORKER_SET_CURRENT: 'never',
    });
    expect(workerVersioningFromEnv(on.env, 'stepwise', __filename)).toEqual({
      deploymentName: 'orders',
      buildId: '4.5.6+ci-812',
    });
    // Defaults: the queue's name, and this package's version.
    const defaults = workerVersioningFromEnv(
      loadConfig({ STEPWISE_WORKER_VERSIONING: '1' }).env,
      'q.1',
      __filename,
    );
    expect(defaults?.deploymentName).toBe('q-1');
    expect(defaults?.buildId).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('refuses a deployment name or build id Temporal would refuse, naming the variable', () => {
    expect(() => loadConfig({ STEPWISE_WORKER_DEPLOYMENT: 'a.b' })).toThrow(ConfigError);
    expect(() => loadConfig({ STEPWISE_WORKER_DEPLOYMENT: 'a.b' })).toThrow(/STEPWISE_WORKER_DEPLOYMENT/);
    expect(() => loadConfig({ STEPWISE_WORKER_BUILD_ID: 'has space' })).toThrow(/STEPWISE_WORKER_BUILD_ID/);
    expect(() => loadConfig({ STEPWISE_WORKER_SET_CURRENT: 'sometimes' })).toThrow(
      /STEPWISE_WORKER_SET_CURRENT/,
    );
  });
});

describe("a job type's versioning", () => {
  const spec = {
    name: 'versioned',
    description: 'test',
    input: z.object({}),
    steps: [{ kind: 'sleep' as const, key: 'nap', name: 'Nap', durationMs: 1 }],
  };

  it('is pinned unless the type says auto_upgrade, in defineJob and the builder', () => {
    expect(defineJob(spec).versioning).toBe('pinned');
    expect(defineJob({ ...spec, versioning: 'auto_upgrade' }).versioning).toBe('auto_upgrade');
    const built = jobBuilder<object>()({ ...spec, versioning: 'auto_upgrade' })
      .sleep('nap', { name: 'Nap', durationMs: 1 })
      .build();
    expect(built.versioning).toBe('auto_upgrade');
    expect(() => defineJob({ ...spec, versioning: 'sometimes' as JobVersioning })).toThrow(
      JobDefinitionError,
    );
  });

  it('sets the behaviour of its runs; limiters auto-upgrade and batch coordinators are pinned', () => {
    const defs = new Map<string, JobDefinition>([
      ['long', defineJob({ ...spec, name: 'long' })],
      ['short', defineJob({ ...spec, name: 'short', versioning: 'auto_upgrade' })],
    ]);
    const find = (n: string) => defs.get(n);
    expect(versioningBehaviorOf('long', find)).toBe('PINNED');
    expect(versioningBehaviorOf('short', find)).toBe('AUTO_UPGRADE');
    expect(versioningBehaviorOf(LIMITER_TYPE, find)).toBe('AUTO_UPGRADE');
    expect(versioningBehaviorOf(BATCH_COORDINATOR_TYPE, find)).toBe('PINNED');
  });
});
