/**
 * `datasetBuild`: an image dataset from http(s) URLs and local files, as a DAG.
 *
 *   download → validate ─┬─ deduplicate ─┬─ label → store → cleanup
 *                        └─ metadata ────┘
 *
 * Downloads run a few at a time with per-item retries and size / content-type limits; images are
 * validated from their headers (type and dimensions); identical files are found by SHA-256 while
 * metadata is read in parallel; each image is labelled by `labelRule`; the dataset folder gets
 * `images/<label>/…` and a `manifest.json` listing every stored image and every rejected source
 * with its reason. An item that fails a stage is rejected, not the job.
 */
import { z } from 'zod';
import { jobBuilder, type ActivityResult } from '../engine/builder';
import type { StepContext } from '../engine/definition';
import {
  labelRuleSchema,
  type DatasetActivities,
  type DatasetDedupeArgs,
  type StoreItem,
} from './dataset-build-contracts';
import { rootedPathSchema, urlOrRootedPathSchema, type WorkspaceActivities } from './workspace-contracts';

const job = jobBuilder<DatasetActivities & WorkspaceActivities>();

/** Most sources one build takes. */
export const MAX_DATASET_SOURCES = 500;
const MINUTE = 60_000;
/**
 * The download step's start-to-close timeout: the largest build (500 sources) at the default
 * settings — 4 at a time (STEPWISE_DOWNLOAD_CONCURRENCY), 30 s per item at most with all its
 * retries (STEPWISE_DOWNLOAD_TIMEOUT_MS) — needs 125 × 30 s = 62.5 min; plus a margin. The step
 * cannot take the input's source count into account (a step's timeout is fixed in its
 * definition), so it is sized for the largest input; a worker that dies is noticed by the 60 s
 * heartbeat timeout, not by this. The activity warns when its own settings need more.
 */
export const DOWNLOAD_STEP_TIMEOUT_MS = 75 * MINUTE;
/** Heartbeat timeout of every datasetBuild step: each heartbeats per item and per MiB read. */
const HEARTBEAT_MS = 60_000;

export const datasetBuildInput = z
  .object({
    sources: z
      .array(urlOrRootedPathSchema)
      .min(1)
      .max(MAX_DATASET_SOURCES)
      .describe(
        'Image sources: http(s) URLs, or paths of local files relative to the import root (STEPWISE_IMPORT_ROOT).',
      ),
    outputDir: rootedPathSchema.describe(
      'Dataset folder, relative to the dataset root (STEPWISE_DATASET_ROOT); created if needed.',
    ),
    labelRule: labelRuleSchema
      .default({ by: 'format' })
      .describe('How images are labelled (default: by format).'),
  })
  .strict()
  // The samples `npm start` writes into the import root (activities/samples.ts): the API's example.
  .meta({
    examples: [
      {
        sources: ['samples/images/red.png', 'samples/images/green.png', 'samples/images/blue.png'],
        outputDir: 'samples',
        labelRule: { by: 'format' },
      },
    ],
  });

/** What dedupe and metadata both take: the images validation accepted. */
const validatedImages = ({
  jobId,
  results,
}: StepContext<
  unknown,
  { validate: ActivityResult<DatasetActivities['datasetValidate']> }
>): DatasetDedupeArgs => ({
  workId: jobId,
  images: results.validate.images,
});

export const datasetBuildDefinition = job({
  name: 'datasetBuild',
  description:
    'Build an image dataset from URLs and local files: download with limits, validate image headers, ' +
    'deduplicate by content hash while reading metadata, label, and store with a manifest.json.',
  input: datasetBuildInput,
})
  .activity('download', {
    name: 'Download',
    activity: 'datasetDownload',
    weight: 4,
    timeoutMs: DOWNLOAD_STEP_TIMEOUT_MS,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ input, jobId }) => ({ workId: jobId, sources: input.sources }),
  })
  .activity('validate', {
    name: 'Validate images',
    activity: 'datasetValidate',
    weight: 1,
    // Up to 500 files of up to STEPWISE_DOWNLOAD_MAX_BYTES read from local disk.
    timeoutMs: 30 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ jobId, results }) => ({ workId: jobId, items: results.download.downloaded }),
  })
  .activity('dedupe', {
    name: 'Deduplicate',
    activity: 'datasetDedupe',
    weight: 1,
    dependsOn: ['validate'],
    timeoutMs: 30 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: validatedImages,
  })
  .activity('metadata', {
    name: 'Extract metadata',
    activity: 'datasetMetadata',
    weight: 1,
    dependsOn: ['validate'],
    timeoutMs: 30 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: validatedImages,
  })
  .activity('label', {
    name: 'Label',
    activity: 'datasetLabel',
    weight: 0.5,
    dependsOn: ['dedupe', 'metadata'],
    timeoutMs: 5 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ input, results }) => {
      const keep = new Set(results.dedupe.unique.map((u) => u.index));
      const items = results.validate.images
        .filter((i) => keep.has(i.index))
        .map(({ index, source, format, width, height }) => ({ index, source, format, width, height }));
      return { items, rule: input.labelRule };
    },
  })
  .activity('store', {
    name: 'Store dataset',
    activity: 'datasetStore',
    weight: 2,
    timeoutMs: 30 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ input, jobId, results }) => {
      const { download, validate, dedupe } = results;
      const meta = new Map(results.metadata.metadata.map((m) => [m.index, m.meta]));
      const sha = new Map(dedupe.unique.map((u) => [u.index, u.sha256]));
      const labels = new Map(results.label.labels.map((l) => [l.index, l.label]));
      const items: StoreItem[] = validate.images
        .filter((i) => sha.has(i.index))
        .map((i) => ({
          ...i,
          sha256: sha.get(i.index)!,
          label: labels.get(i.index) ?? 'unlabelled',
          meta: meta.get(i.index) ?? {},
        }));
      return {
        workId: jobId,
        outputDir: input.outputDir,
        items,
        rejected: [...download.rejected, ...validate.rejected, ...dedupe.duplicates],
        labelRule: input.labelRule,
        sources: input.sources.length,
      };
    },
  })
  .activity('cleanup', {
    name: 'Clean up',
    activity: 'cleanupWorkDir',
    weight: 0.5,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ jobId, results }) => ({ scope: 'dataset', jobId, summary: results.store.counts }),
  })
  .onCancel({
    activity: 'cleanupWorkDir',
    args: ({ jobId }) => ({ scope: 'dataset', jobId, summary: null }),
  })
  .build();
