/**
 * `dataImport`: CSV and JSON Lines files from a folder inside the import root into the SQLite
 * full-text index.
 *
 *   validate → process (batch of `importBatch` sub-jobs) → index → cleanup
 *
 * Validation counts valid and invalid rows per file and logs row errors tagged `file:line`; no
 * valid file ends the job early ("No valid files to import"), and `validateOnly` stops there.
 * Rows travel between steps as files in the job's scratch folder, never through the history.
 * The index upserts by row key, so a retried or recovered step creates no duplicates. The
 * scratch folder is removed by the last step, and on cancel; a failed job keeps it, so it can be
 * recovered from the Index step.
 */
import { z } from 'zod';
import { defineJob } from '../engine/definition';
import {
  resultOf,
  rootedPathSchema,
  type CleanupWorkDirArgs,
  type ImportIndexArgs,
  type ImportIndexResult,
  type ImportNormalizeArgs,
  type ImportSummary,
  type ImportValidateArgs,
  type ImportValidateResult,
} from '../pipeline-contracts';

/** Input of `importBatch`, the sub-job that normalises one batch of files. */
export const importBatchInput = z
  .object({
    /** The import job's id: names its scratch folder. */
    importId: z.string().min(1).max(500),
    sourceDir: rootedPathSchema,
    files: z.array(rootedPathSchema).min(1).max(1000),
    batch: z.number().int().min(0),
  })
  .strict();

export const importBatchDefinition = defineJob({
  name: 'importBatch',
  description:
    'Sub-job of dataImport: normalises the valid rows of one batch of files into the scratch folder.',
  input: importBatchInput,
  steps: [
    {
      key: 'normalize',
      name: 'Normalise rows',
      kind: 'activity',
      activity: 'importNormalize',
      heartbeatTimeoutMs: 60_000,
      retry: { maxAttempts: 3, initialIntervalMs: 500 },
      args: ({ input }) => ({ ...input }) satisfies ImportNormalizeArgs,
    },
  ],
});

export const dataImportInput = z
  .object({
    sourceDir: rootedPathSchema.describe(
      'Folder of .csv / .jsonl files, relative to the import root (STEPWISE_IMPORT_ROOT) or absolute inside it.',
    ),
    validateOnly: z.boolean().default(false).describe('Stop after validation: nothing is indexed.'),
    batchSize: z.number().int().min(1).max(100).default(5).describe('Files per Process sub-job.'),
  })
  .strict();

/** Files worth processing: readable, within limits, with at least one valid row. */
const importable = (v: ImportValidateResult): string[] =>
  v.files.filter((f) => !f.error && f.valid > 0).map((f) => f.file);

export function importSummary(results: Readonly<Record<string, unknown>>): ImportSummary {
  const v = resultOf<ImportValidateResult>(results, 'validate');
  const ix = resultOf<ImportIndexResult>(results, 'index');
  return {
    files: {
      total: v.totals.files,
      valid: v.totals.validFiles,
      invalid: v.totals.invalidFiles,
      processed: importable(v).length,
      indexed: ix.files,
    },
    rows: {
      total: v.totals.rows,
      valid: v.totals.validRows,
      invalid: v.totals.invalidRows,
      processed: ix.rows,
      indexed: ix.inserted + ix.updated + ix.unchanged,
    },
  };
}

export const dataImportDefinition = defineJob({
  name: 'dataImport',
  description:
    'Import CSV and JSON Lines files from a folder inside the import root into the SQLite full-text index: ' +
    'validate rows, normalise them in batch sub-jobs, upsert them by row key, clean up.',
  input: dataImportInput,
  steps: [
    {
      key: 'validate',
      name: 'Validate files',
      kind: 'activity',
      activity: 'importValidate',
      weight: 2,
      heartbeatTimeoutMs: 60_000,
      args: ({ input }) => ({ sourceDir: input.sourceDir }) satisfies ImportValidateArgs,
      endJob: (result, { input }) => {
        const v = result as unknown as ImportValidateResult;
        if (v.totals.validFiles === 0) return 'No valid files to import';
        if (input.validateOnly) {
          return `Validation only: ${v.totals.validRows} valid and ${v.totals.invalidRows} invalid rows in ${v.totals.files} files`;
        }
        return null;
      },
    },
    {
      key: 'process',
      name: 'Process files',
      kind: 'batch',
      weight: 3,
      items: ({ results }) => importable(resultOf<ImportValidateResult>(results, 'validate')),
      chunkSize: ({ input }) => input.batchSize,
      window: 4,
      run: { jobType: 'importBatch' },
      // Each importBatch sub-job retries its own activity; the chunk is not re-run on top of that.
      retry: { maxAttempts: 1 },
      chunkInput: (chunk, ctx) =>
        ({
          importId: ctx.jobId,
          // The real path validation resolved: every batch reads the same folder.
          sourceDir: resultOf<ImportValidateResult>(ctx.results, 'validate').sourceDir,
          files: chunk.items as string[],
          batch: Math.floor(chunk.offset / ctx.input.batchSize),
        }) satisfies ImportNormalizeArgs,
    },
    {
      key: 'index',
      name: 'Index rows',
      kind: 'activity',
      activity: 'importIndex',
      weight: 3,
      heartbeatTimeoutMs: 60_000,
      args: ({ jobId }) => ({ importId: jobId }) satisfies ImportIndexArgs,
    },
    {
      key: 'cleanup',
      name: 'Clean up',
      kind: 'activity',
      activity: 'cleanupWorkDir',
      weight: 0.5,
      args: ({ jobId, results }) =>
        ({ scope: 'import', jobId, summary: importSummary(results) }) satisfies CleanupWorkDirArgs,
    },
  ],
  onCancel: {
    activity: 'cleanupWorkDir',
    args: ({ jobId }) => ({ scope: 'import', jobId, summary: null }) satisfies CleanupWorkDirArgs,
  },
});
