import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityJobRef } from '../workflows/engine/step-io';
import type {
  CleanupWorkDirArgs,
  CleanupWorkDirResult,
  WorkspaceActivities,
} from '../workflows/jobs/workspace-contracts';
import { jobLog } from '../src/activity/log';
import { jobWorkDir } from './paths';
import type { PipelineConfig } from './pipeline-config';

/** The activities every pipeline shares. */
export function createWorkspaceActivities(cfg: PipelineConfig): WorkspaceActivities {
  return { cleanupWorkDir: (job, args) => cleanupWorkDir(cfg, job, args) };
}

/**
 * Removes one job's scratch folder. Idempotent: a folder that is already gone is success, so it
 * can run as the last step, again on cancel, and again on a retry.
 */
export async function cleanupWorkDir(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: CleanupWorkDirArgs,
): Promise<CleanupWorkDirResult> {
  // The scope names a folder: only the two the pipelines use, whatever the argument says.
  if (args.scope !== 'import' && args.scope !== 'dataset') {
    throw ApplicationFailure.nonRetryable(
      `scope must be "import" or "dataset", not ${JSON.stringify(String(args.scope).slice(0, 50))}`,
      'InvalidActivityArgument',
    );
  }
  const dir = jobWorkDir(cfg.workDir, args.scope, args.jobId);
  const existed = await stat(dir).then(
    () => true,
    () => false,
  );
  if (existed) await removeHeartbeating(dir);
  jobLog(job).info('scratch folder cleaned up', { dir, existed });
  return {
    removed: existed,
    summary: args.summary ?? null,
    logs: [{ level: 'info', message: existed ? 'Removed temporary files' : 'No temporary files to remove' }],
  };
}

/**
 * `rm -r` one entry at a time with a heartbeat after each, so removing a large scratch folder
 * (hundreds of downloads) shows the step is alive within its heartbeat timeout. Links are removed,
 * never followed.
 */
async function removeHeartbeating(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await removeHeartbeating(p);
    else await rm(p, { force: true });
    Context.current().heartbeat();
  }
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
