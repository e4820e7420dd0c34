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
import { jobBuilder, type ActivityResult } from '../engine/builder';
import type { DataImportActivities, ImportSummary } from './data-import-contracts';
import { rootedPathSchema, type WorkspaceActivities } from './workspace-contracts';

const job = jobBuilder<DataImportActivities & WorkspaceActivities>();
const MINUTE = 60_000;
/**
 * Every dataImport activity heartbeats within each file (per MiB read, per 2000 rows), so a lost
 * worker is noticed after this long, however large the files.
 */
const HEARTBEAT_MS = 60_000;
type Results = {
  validate: ActivityResult<DataImportActivities['importValidate']>;
  index: ActivityResult<DataImportActivities['importIndex']>;
};

/** Input of `importBatch`, the sub-job that normalizes one batch of files. */
export const importBatchInput = z
  .object({
    /** The import job's id: names its scratch folder. */
    importId: z.string().min(1).max(500),
    sourceDir: rootedPathSchema,
    files: z.array(rootedPathSchema).min(1).max(1000),
    batch: z.number().int().min(0),
  })
  .strict();

export const importBatchDefinition = job({
  name: 'importBatch',
  description:
    'Sub-job of dataImport: normalizes the valid rows of one batch of files into the scratch folder.',
  internal: true,
  input: importBatchInput,
})
  .activity('normalize', {
    name: 'Normalize rows',
    activity: 'importNormalize',
    // A batch: up to 100 files of up to STEPWISE_IMPORT_MAX_FILE_BYTES (50 MiB by default).
    timeoutMs: 60 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    retry: { maxAttempts: 3, initialIntervalMs: 500 },
    args: ({ input }) => ({ ...input }),
  })
  .build();

export const dataImportInput = z
  .object({
    sourceDir: rootedPathSchema.describe(
      'Folder of .csv / .jsonl files, relative to the import root (STEPWISE_IMPORT_ROOT) or absolute inside it.',
    ),
    validateOnly: z.boolean().default(false).describe('Stop after validation: nothing is indexed.'),
    batchSize: z.number().int().min(1).max(100).default(5).describe('Files per Process sub-job.'),
  })
  .strict()
  // The samples `npm start` writes into the import root (activities/samples.ts): the API's example.
  .meta({ examples: [{ sourceDir: 'samples/import', validateOnly: false, batchSize: 5 }] });

/** Files worth processing: readable, within limits, with at least one valid row. */
const importable = (v: Results['validate']): string[] =>
  v.files.filter((f) => !f.error && f.valid > 0).map((f) => f.file);

/** The import's summary from the validate and index results: the job's output. */
export function importSummary({ validate: v, index: ix }: Results): ImportSummary {
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

export const dataImportDefinition = job({
  name: 'dataImport',
  description:
    'Import CSV and JSON Lines files from a folder inside the import root into the SQLite full-text index: ' +
    'validate rows, normalize them in batch sub-jobs, upsert them by row key, clean up.',
  input: dataImportInput,
})
  .activity('validate', {
    name: 'Validate files',
    activity: 'importValidate',
    weight: 2,
    // Up to 1000 files of up to STEPWISE_IMPORT_MAX_FILE_BYTES, every row parsed.
    timeoutMs: 120 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ input }) => ({ sourceDir: input.sourceDir }),
    endJob: (v, { input }) => {
      if (v.totals.validFiles === 0) return 'No valid files to import';
      if (input.validateOnly) {
        return `Validation only: ${v.totals.validRows} valid and ${v.totals.invalidRows} invalid rows in ${v.totals.files} files`;
      }
      return null;
    },
  })
  .batch('process', {
    name: 'Process files',
    weight: 3,
    items: ({ results }) => importable(results.validate),
    chunkSize: ({ input }) => input.batchSize,
    window: 4,
    run: { job: importBatchDefinition },
    // Each importBatch sub-job retries its own activity; the chunk is not re-run on top of that.
    retry: { maxAttempts: 1 },
    chunkInput: (chunk, { jobId, input, results }) => ({
      importId: jobId,
      // The real path validation resolved: every batch reads the same folder.
      sourceDir: results.validate.sourceDir,
      files: chunk.items,
      batch: Math.floor(chunk.offset / input.batchSize),
    }),
  })
  .activity('index', {
    name: 'Index rows',
    activity: 'importIndex',
    weight: 3,
    timeoutMs: 120 * MINUTE,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    // The Process step's batches are numbered floor(offset / batchSize) over the same files.
    args: ({ jobId, input, results }) => ({
      importId: jobId,
      batches: Math.ceil(importable(results.validate).length / input.batchSize),
    }),
  })
  .activity('cleanup', {
    name: 'Clean up',
    activity: 'cleanupWorkDir',
    weight: 0.5,
    heartbeatTimeoutMs: HEARTBEAT_MS,
    args: ({ jobId, results }) => ({ scope: 'import', jobId, summary: importSummary(results) }),
  })
  .onCancel({
    activity: 'cleanupWorkDir',
    args: ({ jobId }) => ({ scope: 'import', jobId, summary: null }),
  })
  .build();
