/**
 * Arguments and results of the `dataImport` activities. Results stay small — file names, counts —
 * never the rows themselves, which live in files under the job's scratch folder: Temporal payloads
 * and histories are bounded. Type aliases, not interfaces, so they are assignable to `Json`.
 */
import type { ActivityJobRef, StepResultExtras } from '../engine/step-io';

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
  /** Batch number: names the normalized output file. */
  batch: number;
};

export type ImportNormalizeResult = StepResultExtras & {
  batch: number;
  files: number;
  rows: number;
  /** Name of the normalized JSON Lines file in the job's scratch folder. */
  output: string;
};

export type ImportIndexArgs = {
  importId: string;
  /**
   * How many batches this run's Process step wrote: the index reads exactly `batch-000000.jsonl`
   * … `batch-<batches - 1>.jsonl` from the scratch folder, nothing left there by anything else.
   */
  batches: number;
};

export type ImportIndexResult = StepResultExtras & {
  /** Source files and rows read from the normalized batches. */
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

/** The activities of `dataImport` and its `importBatch` sub-jobs. */
export interface DataImportActivities {
  /** Checks the source folder is inside the import root and validates every CSV / JSON Lines row. */
  importValidate(job: ActivityJobRef, args: ImportValidateArgs): Promise<ImportValidateResult>;
  /** Normalizes the valid rows of a batch of files into one JSON Lines file in the scratch folder. */
  importNormalize(job: ActivityJobRef, args: ImportNormalizeArgs): Promise<ImportNormalizeResult>;
  /** Upserts the normalized rows into the SQLite full-text index; idempotent by row key. */
  importIndex(job: ActivityJobRef, args: ImportIndexArgs): Promise<ImportIndexResult>;
}
