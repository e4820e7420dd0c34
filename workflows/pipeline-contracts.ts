/**
 * Arguments and results of the data pipeline activities (dataImport, datasetBuild). Results stay
 * small — file names, counts, per-item facts — never the rows or bytes themselves, which live in
 * files under the job's scratch folder: Temporal payloads and histories are bounded.
 *
 * They are type aliases, not interfaces, so step `args` functions can return them as `Json`.
 */
import { z } from 'zod';
import type { StepResultExtras } from './activity-contracts';

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

/** A helper for pure step functions: a completed step's result, typed. */
export function resultOf<T>(results: Readonly<Record<string, unknown>>, key: string): T {
  return results[key] as T;
}

/** Which scratch folder family a job's temporary files live in. */
export type WorkScope = 'import' | 'dataset';

// ---- dataImport ---------------------------------------------------------------------------------

export type ImportFormat = 'csv' | 'jsonl';

/** Validation outcome of one source file. */
export type ImportFileReport = {
  /** Path relative to the source folder, `/`-separated. */
  file: string;
  format: ImportFormat;
  bytes: number;
  /** Data rows seen (CSV: after the header; JSON Lines: non-blank lines). */
  rows: number;
  valid: number;
  invalid: number;
  /** Set when the whole file is rejected (too large, unreadable, outside the root, bad header). */
  error: string | null;
};

export type ImportTotals = {
  files: number;
  validFiles: number;
  invalidFiles: number;
  rows: number;
  validRows: number;
  invalidRows: number;
};

export type ImportValidateArgs = {
  /** As in the job input: relative to the import root, or absolute inside it. */
  sourceDir: string;
};

export type ImportValidateResult = StepResultExtras & {
  /** Real path of the source folder. */
  sourceDir: string;
  files: ImportFileReport[];
  /** Files ignored because they are neither `.csv` nor `.jsonl`/`.ndjson`. */
  ignored: number;
  totals: ImportTotals;
};

export type ImportNormalizeArgs = {
  /** The import job's id: names its scratch folder. */
  importId: string;
  sourceDir: string;
  /** Paths relative to the source folder, as the validate step reported them. */
  files: string[];
  /** Batch number: names the normalised output file. */
  batch: number;
};

export type ImportNormalizeResult = StepResultExtras & {
  batch: number;
  files: number;
  rows: number;
  /** Name of the normalised JSON Lines file in the job's scratch folder. */
  output: string;
};

export type ImportIndexArgs = {
  importId: string;
};

export type ImportIndexResult = StepResultExtras & {
  /** Source files and rows read from the normalised batches. */
  files: number;
  rows: number;
  /** New keys, changed rows, and rows already indexed with the same content. */
  inserted: number;
  updated: number;
  unchanged: number;
};

/** The import summary: the job's output. */
export type ImportSummary = {
  files: { total: number; valid: number; invalid: number; processed: number; indexed: number };
  rows: { total: number; valid: number; invalid: number; processed: number; indexed: number };
};

export type CleanupWorkDirArgs = {
  scope: WorkScope;
  jobId: string;
  /** Echoed into the result, so a job whose last step is the cleanup keeps its summary as output. */
  summary: ImportSummary | DatasetCounts | null;
};

export type CleanupWorkDirResult = StepResultExtras & {
  removed: boolean;
  summary: ImportSummary | DatasetCounts | null;
};

// ---- datasetBuild -------------------------------------------------------------------------------

export const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

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
    .object({ by: z.literal('fixed'), label: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/) })
    .strict()
    .describe('The same label for every image.'),
  z
    .object({
      by: z.literal('source'),
      /** First match wins; `pattern` is a regular expression tested against the source. */
      rules: z
        .array(
          z
            .object({
              pattern: z
                .string()
                .min(1)
                .max(200)
                .refine(
                  (p) => {
                    try {
                      new RegExp(p);
                      return true;
                    } catch {
                      return false;
                    }
                  },
                  { message: 'not a valid regular expression' },
                ),
              label: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
            })
            .strict(),
        )
        .min(1)
        .max(50),
      default: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
        .default('unlabelled'),
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
