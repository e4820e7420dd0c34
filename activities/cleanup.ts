import { rm, stat } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityJobRef } from '../workflows/engine/step-io';
import type {
  CleanupWorkDirArgs,
  CleanupWorkDirResult,
  WorkspaceActivities,
} from '../workflows/jobs/workspace-contracts';
import { jobLog } from './log';
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
  await rm(dir, { recursive: true, force: true });
  jobLog(job).info('scratch folder cleaned up', { dir, existed });
  return {
    removed: existed,
    summary: args.summary ?? null,
    logs: [{ level: 'info', message: existed ? 'Removed temporary files' : 'No temporary files to remove' }],
  };
}
