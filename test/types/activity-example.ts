/**
 * The complete example of docs/activities.md, compiled by `npm run typecheck` and run by
 * `test/unit/activity-example.test.ts`, which also checks that each `#region` below appears in the
 * guide word for word. In an app the three regions live in three places: the contract next to
 * the job types (`workflows/jobs/<area>-contracts.ts`), the implementation in `activities/`, the
 * job type in `workflows/jobs/`.
 */
// #region contract
import type { ActivityJobRef, StepResultExtras } from 'stepwise';

export interface ThumbnailArgs {
  /** Image paths, relative to the worker's image folder. */
  images: string[];
  /** Width of each thumbnail, in pixels. */
  width: number;
}

/** What the step keeps is `{ written, skipped }`; `stats`, `logs` and `message` are folded into the job. */
export type ThumbnailResult = StepResultExtras & { written: string[]; skipped: string[] };

/** Workflow code sees this interface only (types), never the implementation. */
export interface ThumbnailActivities {
  makeThumbnails(job: ActivityJobRef, args: ThumbnailArgs): Promise<ThumbnailResult>;
}
// #endregion contract

// #region implementation
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { jobLog, ProgressReporter } from 'stepwise/worker';

/** What the activity needs from the outside, handed in by the worker (tests pass their own). */
export interface ThumbnailDeps {
  client: Client;
  /** Writes one thumbnail and returns its path; null when the image cannot be read. */
  render(image: string, width: number, signal: AbortSignal): Promise<string | null>;
}

export function createThumbnailActivities(deps: ThumbnailDeps): ThumbnailActivities {
  return { makeThumbnails: (job, args) => makeThumbnails(deps, job, args) };
}

export async function makeThumbnails(
  deps: ThumbnailDeps,
  job: ActivityJobRef,
  args: ThumbnailArgs,
): Promise<ThumbnailResult> {
  if (args.width < 1) {
    // Retrying cannot fix the arguments: fail the step now.
    throw ApplicationFailure.nonRetryable(`width must be at least 1, not ${args.width}`, 'InvalidArgs');
  }
  const log = jobLog(job); // every line carries jobId, jobType, parentJobId and step
  const reporter = new ProgressReporter(deps.client, job);
  const { cancellationSignal } = Context.current();
  const written: string[] = [];
  const skipped: string[] = [];
  for (const [i, image] of args.images.entries()) {
    // Cancellation arrives with the answer to a heartbeat (report() heartbeats): stop here.
    cancellationSignal.throwIfAborted();
    const out = await deps.render(image, args.width, cancellationSignal);
    if (out) written.push(out);
    else skipped.push(image);
    await reporter.report(((i + 1) / args.images.length) * 100, `${i + 1}/${args.images.length} images`);
  }
  log.info('thumbnails written', { written: written.length, skipped: skipped.length });
  // finish() adds the final report's message ("12/12 images"): the completed step shows it.
  return reporter.finish({
    written,
    skipped,
    stats: { itemsProcessed: written.length, itemsCreated: written.length, itemsFailed: skipped.length },
    logs: skipped.map((image) => ({
      level: 'warn' as const,
      message: `Skipped ${image}: not a readable image`,
      entity: { tag: image },
    })),
  });
}
// #endregion implementation

// #region job-type
import { z } from 'zod';
import { jobBuilder } from 'stepwise';

const job = jobBuilder<ThumbnailActivities>();

export const thumbnailsDefinition = job({
  name: 'thumbnails',
  description: 'Writes a thumbnail of each image.',
  input: z.object({
    // `.describe()` is the help text of the field in the dashboard's new-job form.
    images: z
      .array(z.string().min(1))
      .min(1)
      .max(1000)
      .describe('Image paths, relative to the image folder.'),
    width: z.number().int().min(16).max(1024).default(128).describe('Thumbnail width in pixels.'),
  }),
})
  .activity('thumbnails', {
    name: 'Make thumbnails',
    activity: 'makeThumbnails',
    // Each report() heartbeats; no heartbeat for 10 s (a lost worker) fails the attempt, which is retried.
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ images: input.images, width: input.width }),
  })
  .build();
// #endregion job-type
