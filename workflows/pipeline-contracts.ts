/**
 * Arguments and results of the data pipeline activities. Results stay
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
  summary: ImportSummary | null;
};

export type CleanupWorkDirResult = StepResultExtras & {
  removed: boolean;
  summary: ImportSummary | null;
};
