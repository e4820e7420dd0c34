/**
 * Arguments and results of the `datasetBuild` activities. Results carry per-image facts, never
 * the bytes, which live in files under the job's scratch folder. Type aliases, not interfaces, so
 * they are assignable to `Json`.
 */
import { z } from 'zod';
import type { ActivityJobRef, StepResultExtras } from '../engine/step-io';
import { labelPatternProblem } from './label-pattern';

export const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** A label: the name of the image's folder in the dataset, so a safe path segment. */
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** How the label step names each image's class (its folder in the dataset). */
export const labelRuleSchema = z.discriminatedUnion('by', [
  z
    .object({ by: z.literal('format') })
    .strict()
    .describe('The image format: png, jpeg, gif or webp.'),
  z
    .object({ by: z.literal('orientation') })
    .strict()
    .describe('landscape, portrait or square, from the dimensions.'),
  z
    .object({ by: z.literal('fixed'), label: z.string().regex(LABEL_PATTERN) })
    .strict()
    .describe('The same label for every image.'),
  z
    .object({
      by: z.literal('source'),
      /** First match wins; `pattern` is an RE2 regular expression (see `label-pattern.ts`) tested against the source. */
      rules: z
        .array(
          z
            .object({
              pattern: z
                .string()
                .min(1)
                .max(200)
                .superRefine((p, ctx) => {
                  const problem = labelPatternProblem(p);
                  if (problem) ctx.addIssue({ code: 'custom', message: problem });
                })
                .describe(
                  'A regular expression in RE2 syntax (linear-time matching: no lookaround, no backreferences, ' +
                    'repeat counts up to 1000), tested against the source URL or path.',
                ),
              label: z.string().regex(LABEL_PATTERN),
            })
            .strict(),
        )
        .min(1)
        .max(50),
      default: z.string().regex(LABEL_PATTERN).default('unlabelled'),
    })
    .strict()
    .describe('The label of the first rule whose pattern matches the source URL or path.'),
]);
export type LabelRule = z.infer<typeof labelRuleSchema>;

export type DatasetStage = 'download' | 'validate' | 'deduplicate';

export type RejectedItem = {
  /** Position in the job's `sources`. */
  index: number;
  source: string;
  stage: DatasetStage;
  reason: string;
};

export type DownloadedItem = {
  index: number;
  source: string;
  /** File name in the job's scratch folder. */
  file: string;
  bytes: number;
  /** As the server sent it; null for local files. */
  contentType: string | null;
};

export type ImageItem = DownloadedItem & {
  format: ImageFormat;
  mimeType: string;
  width: number;
  height: number;
};

export type DatasetDownloadArgs = {
  workId: string;
  sources: string[];
};
export type DatasetDownloadResult = StepResultExtras & {
  downloaded: DownloadedItem[];
  rejected: RejectedItem[];
};

export type DatasetValidateArgs = {
  workId: string;
  items: DownloadedItem[];
};
export type DatasetValidateResult = StepResultExtras & {
  images: ImageItem[];
  rejected: RejectedItem[];
};

export type DatasetDedupeArgs = {
  workId: string;
  images: ImageItem[];
};
export type DatasetDedupeResult = StepResultExtras & {
  /** Kept images (the first of each identical group, by source order) with their SHA-256. */
  unique: { index: number; sha256: string }[];
  duplicates: RejectedItem[];
};

/** Facts read from an image file's structure (no pixels decoded). */
export type ImageMetadata = Record<string, string | number | boolean | null>;

export type DatasetMetadataArgs = {
  workId: string;
  images: ImageItem[];
};
export type DatasetMetadataResult = StepResultExtras & {
  metadata: { index: number; meta: ImageMetadata }[];
};

export type LabelInput = {
  index: number;
  source: string;
  format: ImageFormat;
  width: number;
  height: number;
};
export type DatasetLabelArgs = {
  items: LabelInput[];
  rule: LabelRule;
};
export type DatasetLabelResult = StepResultExtras & {
  labels: { index: number; label: string }[];
  /** Images per label. */
  counts: Record<string, number>;
};

export type StoreItem = ImageItem & {
  sha256: string;
  label: string;
  meta: ImageMetadata;
};

export type DatasetCounts = {
  sources: number;
  downloaded: number;
  valid: number;
  duplicates: number;
  stored: number;
  rejected: number;
};

export type DatasetStoreArgs = {
  workId: string;
  /** As in the job input: relative to the dataset root. */
  outputDir: string;
  items: StoreItem[];
  rejected: RejectedItem[];
  labelRule: LabelRule;
  sources: number;
};
export type DatasetStoreResult = StepResultExtras & {
  /** Real path of the dataset folder and of its manifest. */
  outputDir: string;
  manifest: string;
  counts: DatasetCounts;
};

/** The activities of `datasetBuild`. */
export interface DatasetActivities {
  datasetDownload(job: ActivityJobRef, args: DatasetDownloadArgs): Promise<DatasetDownloadResult>;
  datasetValidate(job: ActivityJobRef, args: DatasetValidateArgs): Promise<DatasetValidateResult>;
  datasetDedupe(job: ActivityJobRef, args: DatasetDedupeArgs): Promise<DatasetDedupeResult>;
  datasetMetadata(job: ActivityJobRef, args: DatasetMetadataArgs): Promise<DatasetMetadataResult>;
  datasetLabel(job: ActivityJobRef, args: DatasetLabelArgs): Promise<DatasetLabelResult>;
  datasetStore(job: ActivityJobRef, args: DatasetStoreArgs): Promise<DatasetStoreResult>;
}
