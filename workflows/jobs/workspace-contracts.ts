/**
 * Shared by the data pipelines: paths under a configured root, and the scratch folder every
 * pipeline job works in (removed by its last step and on cancel).
 */
import { z } from 'zod';
import type { Json } from '../contracts';
import type { ActivityJobRef, StepResultExtras } from '../engine/step-io';

/**
 * A path under a configured root: relative to it, or absolute inside it. Only its shape is checked
 * here (no `..` segment, no NUL); the activity that opens it checks, by real path, that it stays
 * inside the root — symbolic links included.
 */
export const rootedPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(
    // eslint-disable-next-line no-control-regex -- a NUL byte in a path is refused on purpose
    /^(?!(?:.*[\\/])?\.\.(?:[\\/]|$))[^\u0000]+$/,
    'must be a path without ".." segments or NUL characters',
  );

/** An http(s) URL, or a rooted path (see {@link rootedPathSchema}) that does not start like a URL scheme. */
export const urlOrRootedPathSchema = z.union(
  [
    z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .regex(/^https?:\/\//i),
    z
      .string()
      .min(1)
      .max(1024)
      .regex(
        // eslint-disable-next-line no-control-regex -- as above
        /^(?![A-Za-z][A-Za-z0-9+.-]*:)(?!(?:.*[\\/])?\.\.(?:[\\/]|$))[^\u0000]+$/,
        'must be an http(s) URL or a path without ".." segments',
      ),
  ],
  { error: 'must be an http(s) URL or a local path without ".." segments' },
);

/** Which scratch folder family a job's temporary files live in. */
export type WorkScope = 'import' | 'dataset';

export type CleanupWorkDirArgs = {
  scope: WorkScope;
  jobId: string;
  /** Echoed into the result, so a job whose last step is the cleanup keeps its summary as output. */
  summary: Json | null;
};

export type CleanupWorkDirResult = StepResultExtras & {
  removed: boolean;
  summary: Json | null;
};

/** Activities every pipeline shares. */
export interface WorkspaceActivities {
  /** Removes a job's scratch folder (also on cancel); succeeds when there is nothing to remove. */
  cleanupWorkDir(job: ActivityJobRef, args: CleanupWorkDirArgs): Promise<CleanupWorkDirResult>;
}
