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
import { defineJob, type StepContext } from '../engine/definition';
import {
  labelRuleSchema,
  resultOf,
  rootedPathSchema,
  urlOrRootedPathSchema,
  type CleanupWorkDirArgs,
  type DatasetDedupeArgs,
  type DatasetDedupeResult,
  type DatasetDownloadArgs,
  type DatasetDownloadResult,
  type DatasetLabelArgs,
  type DatasetLabelResult,
  type DatasetMetadataArgs,
  type DatasetMetadataResult,
  type DatasetStoreArgs,
  type DatasetStoreResult,
  type DatasetValidateArgs,
  type DatasetValidateResult,
  type StoreItem,
} from '../pipeline-contracts';

export const datasetBuildInput = z
  .object({
    sources: z
      .array(urlOrRootedPathSchema)
      .min(1)
      .max(500)
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
  .strict();

const r = resultOf;

/** What dedupe and metadata both take: the images validation accepted. */
const validatedImages = ({
  jobId,
  results,
}: StepContext<unknown>): DatasetDedupeArgs & DatasetMetadataArgs => ({
  workId: jobId,
  images: r<DatasetValidateResult>(results, 'validate').images,
});

export const datasetBuildDefinition = defineJob({
  name: 'datasetBuild',
  description:
    'Build an image dataset from URLs and local files: download with limits, validate image headers, ' +
    'deduplicate by content hash while reading metadata, label, and store with a manifest.json.',
  input: datasetBuildInput,
  steps: [
    {
      key: 'download',
      name: 'Download',
      kind: 'activity',
      activity: 'datasetDownload',
      weight: 4,
      heartbeatTimeoutMs: 60_000,
      args: ({ input, jobId }) => ({ workId: jobId, sources: input.sources }) satisfies DatasetDownloadArgs,
    },
    {
      key: 'validate',
      name: 'Validate images',
      kind: 'activity',
      activity: 'datasetValidate',
      weight: 1,
      heartbeatTimeoutMs: 60_000,
      args: ({ jobId, results }) =>
        ({
          workId: jobId,
          items: r<DatasetDownloadResult>(results, 'download').downloaded,
        }) satisfies DatasetValidateArgs,
    },
    {
      key: 'dedupe',
      name: 'Deduplicate',
      kind: 'activity',
      activity: 'datasetDedupe',
      weight: 1,
      dependsOn: ['validate'],
      heartbeatTimeoutMs: 60_000,
      args: validatedImages,
    },
    {
      key: 'metadata',
      name: 'Extract metadata',
      kind: 'activity',
      activity: 'datasetMetadata',
      weight: 1,
      dependsOn: ['validate'],
      heartbeatTimeoutMs: 60_000,
      args: validatedImages,
    },
    {
      key: 'label',
      name: 'Label',
      kind: 'activity',
      activity: 'datasetLabel',
      weight: 0.5,
      dependsOn: ['dedupe', 'metadata'],
      args: ({ input, results }) => {
        const keep = new Set(r<DatasetDedupeResult>(results, 'dedupe').unique.map((u) => u.index));
        const items = r<DatasetValidateResult>(results, 'validate')
          .images.filter((i) => keep.has(i.index))
          .map(({ index, source, format, width, height }) => ({ index, source, format, width, height }));
        return { items, rule: input.labelRule } satisfies DatasetLabelArgs;
      },
    },
    {
      key: 'store',
      name: 'Store dataset',
      kind: 'activity',
      activity: 'datasetStore',
      weight: 2,
      heartbeatTimeoutMs: 60_000,
      args: ({ input, jobId, results }) => {
        const download = r<DatasetDownloadResult>(results, 'download');
        const validate = r<DatasetValidateResult>(results, 'validate');
        const dedupe = r<DatasetDedupeResult>(results, 'dedupe');
        const meta = new Map(
          r<DatasetMetadataResult>(results, 'metadata').metadata.map((m) => [m.index, m.meta]),
        );
        const sha = new Map(dedupe.unique.map((u) => [u.index, u.sha256]));
        const labels = new Map(r<DatasetLabelResult>(results, 'label').labels.map((l) => [l.index, l.label]));
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
        } satisfies DatasetStoreArgs;
      },
    },
    {
      key: 'cleanup',
      name: 'Clean up',
      kind: 'activity',
      activity: 'cleanupWorkDir',
      weight: 0.5,
      args: ({ jobId, results }) =>
        ({
          scope: 'dataset',
          jobId,
          summary: r<DatasetStoreResult>(results, 'store').counts,
        }) satisfies CleanupWorkDirArgs,
    },
  ],
  onCancel: {
    activity: 'cleanupWorkDir',
    args: ({ jobId }) => ({ scope: 'dataset', jobId, summary: null }) satisfies CleanupWorkDirArgs,
  },
});
