/**
 * dataImport activities: validate the files of a source folder inside the import root, normalize
 * the valid rows of a batch of files into the job's scratch folder, and upsert them into the
 * SQLite full-text index. Results carry file names and counts only; rows travel through files.
 */
import { createReadStream, existsSync } from 'node:fs';
import { lstat, readdir, realpath, rename, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ActivityJobRef } from '../../workflows/engine/step-io';
import type { JobLogLine } from '../../workflows/contracts';
import type {
  DataImportActivities,
  ImportFileReport,
  ImportFormat,
  ImportIndexArgs,
  ImportIndexResult,
  ImportNormalizeArgs,
  ImportNormalizeResult,
  ImportValidateArgs,
  ImportValidateResult,
} from '../../workflows/jobs/data-import-contracts';
import { jobLog } from '../../src/activity/log';
import {
  isInside,
  jobWorkDir,
  mkdirPrivate,
  PATH_REFUSED,
  pathRefused,
  resolveExistingInside,
} from '../paths';
import type { PipelineConfig } from '../pipeline-config';
import { ProgressReporter } from '../../src/activity/progress';
import { createPrivateFile, identityOf, openInside, readBounded, type FileIdentity } from '../safe-open';
import { ImportIndex } from './index-db';
import { formatOf, normalizeRow, readRows, type NormalizedRow } from './rows';

/** Most importable files one job takes: its per-file report must stay a small payload. */
export const MAX_IMPORT_FILES = 1000;
/** Row errors returned as log lines (with a `file:line` tag); the rest are counted. */
export const MAX_ROW_ERROR_LOGS = 100;
/** Per-file summary log lines. */
export const MAX_FILE_LOGS = 50;
/** Rows per index transaction. */
export const INDEX_BATCH_ROWS = 500;
/**
 * Rows checked between two heartbeats while a file is validated or normalized: a large file
 * (STEPWISE_IMPORT_MAX_FILE_BYTES, 50 MiB by default) takes far longer than the step's
 * heartbeat timeout, so the activity must show it is alive within the file, not only after it.
 */
export const HEARTBEAT_EVERY_ROWS = 2000;

type Log = Omit<JobLogLine, 'at' | 'step'>;

interface FoundFile {
  rel: string;
  real: string | null;
  /** The file the scan saw: reading it later must find the same one. */
  id: FileIdentity | null;
  format: ImportFormat;
  error: string | null;
}

const human = (n: number): string =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/** Importable files below `dir` (recursively, dot-files skipped), sorted; links are followed only inside the root. */
async function findFiles(realRoot: string, dir: string): Promise<{ files: FoundFile[]; ignored: number }> {
  const files: FoundFile[] = [];
  let ignored = 0;
  const seen = new Set<string>([dir]);
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(folder, e.name);
      const rel = relative(dir, path).split(sep).join('/');
      const format = formatOf(e.name);
      let real = path;
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        try {
          real = await realpath(path);
          isDir = (await stat(real)).isDirectory();
        } catch {
          if (format) files.push({ rel, real: null, id: null, format, error: 'is a broken symbolic link' });
          else ignored++;
          continue;
        }
        if (!isInside(realRoot, real)) {
          if (format && !isDir) {
            files.push({
              rel,
              real: null,
              id: null,
              format,
              error: 'is a symbolic link that resolves outside the import root; refused',
            });
          } else {
            ignored++;
          }
          continue;
        }
      }
      if (isDir) {
        if (!seen.has(real)) {
          seen.add(real);
          await walk(path);
        }
      } else if (format && (e.isFile() || e.isSymbolicLink())) {
        const st = await lstat(real);
        if (st.isFile()) files.push({ rel, real, id: identityOf(st), format, error: null });
        else files.push({ rel, real: null, id: null, format, error: 'is not a regular file' });
      } else {
        ignored++;
      }
    }
  };
  await walk(dir);
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, ignored };
}

/** The activities of `dataImport` and its `importBatch` sub-jobs. */
export function createDataImportActivities(cfg: PipelineConfig, client: Client): DataImportActivities {
  return {
    importValidate: (job, args) => importValidate(cfg, client, job, args),
    importNormalize: (job, args) => importNormalize(cfg, client, job, args),
    importIndex: (job, args) => importIndex(cfg, client, job, args),
  };
}

async function resolveSourceDir(cfg: PipelineConfig, sourceDir: string): Promise<string> {
  const dir = await resolveExistingInside(cfg.importRoot, sourceDir, 'sourceDir');
  if (!(await stat(dir)).isDirectory()) throw pathRefused(`sourceDir "${sourceDir}" is not a folder`);
  return dir;
}

/** A heartbeat for long work inside one file (throttled by the SDK, so cheap to call often). */
const heartbeat = (): void => Context.current().heartbeat();

/**
 * The text of one source file, read through {@link openInside}: never through a link swapped in
 * after the check, never a file outside the import root, the scanned file itself when `expect`
 * is given. Too large: `tooLarge` says why and nothing is read.
 */
async function readSource(
  cfg: PipelineConfig,
  realRoot: string,
  path: string,
  expect?: FileIdentity,
): Promise<{ bytes: number; text: string | null; tooLarge: string | null }> {
  const { fh, stat: st } = await openInside(realRoot, path, 'file', expect);
  try {
    const tooLarge = oversize(st.size, cfg);
    if (tooLarge) return { bytes: st.size, text: null, tooLarge };
    const { data, truncated } = await readBounded(fh, cfg.importMaxFileBytes, heartbeat);
    if (truncated) return { bytes: st.size, text: null, tooLarge: oversize(cfg.importMaxFileBytes + 1, cfg) };
    return { bytes: data.length, text: data.toString('utf8'), tooLarge: null };
  } finally {
    await fh.close();
  }
}

function oversize(bytes: number, cfg: PipelineConfig): string | null {
  return bytes > cfg.importMaxFileBytes
    ? `is ${human(bytes)} (${bytes} bytes), over the ${human(cfg.importMaxFileBytes)} limit (STEPWISE_IMPORT_MAX_FILE_BYTES); not imported`
    : null;
}

export async function importValidate(
  cfg: PipelineConfig,
  client: Client,
  job: ActivityJobRef,
  args: ImportValidateArgs,
): Promise<ImportValidateResult> {
  const log = jobLog(job);
  const dir = await resolveSourceDir(cfg, args.sourceDir);
  const realRoot = await realpath(cfg.importRoot);
  const { files: found, ignored } = await findFiles(realRoot, dir);
  if (found.length > MAX_IMPORT_FILES) {
    throw ApplicationFailure.nonRetryable(
      `sourceDir "${args.sourceDir}" holds ${found.length} CSV / JSON Lines files; one import takes at most ${MAX_IMPORT_FILES}`,
      'TooManyFiles',
    );
  }
  const reporter = new ProgressReporter(client, job);
  const files: ImportFileReport[] = [];
  const logs: Log[] = [];
  let rowErrorsShown = 0;
  let rowErrorsHidden = 0;
  let fileLogs = 0;
  for (const [i, f] of found.entries()) {
    const report: ImportFileReport = {
      file: f.rel,
      format: f.format,
      bytes: 0,
      rows: 0,
      valid: 0,
      invalid: 0,
      error: f.error,
    };
    const rowLogs: Log[] = [];
    if (f.real && !report.error) {
      let source: Awaited<ReturnType<typeof readSource>> | null = null;
      try {
        source = await readSource(cfg, realRoot, f.real, f.id ?? undefined);
      } catch (err) {
        if ((err as { type?: string }).type !== PATH_REFUSED) throw err;
        report.error = `could not be read safely: ${(err as Error).message}`;
      }
      if (source) {
        report.bytes = source.bytes;
        report.error = source.tooLarge;
      }
      if (source?.text != null) {
        const parsed = readRows(source.text, f.format);
        report.error = parsed.fileError;
        for (const r of parsed.rows) {
          report.rows++;
          if (report.rows % HEARTBEAT_EVERY_ROWS === 0) heartbeat();
          if ('row' in r) {
            report.valid++;
          } else {
            report.invalid++;
            if (rowErrorsShown < MAX_ROW_ERROR_LOGS) {
              rowErrorsShown++;
              rowLogs.push({
                level: 'warn',
                message: `Invalid row ${f.rel}:${r.line}: ${r.error}`,
                entity: { tag: `${f.rel}:${r.line}` },
              });
            } else {
              rowErrorsHidden++;
            }
          }
        }
      }
    }
    if (report.error) {
      report.valid = 0;
      report.invalid = report.rows;
    }
    files.push(report);
    if (fileLogs < MAX_FILE_LOGS || report.error) {
      fileLogs++;
      logs.push(
        report.error
          ? { level: 'error', message: `File ${f.rel} rejected: it ${report.error}`, entity: { tag: f.rel } }
          : {
              level: report.invalid > 0 ? 'warn' : 'info',
              message: `File ${f.rel}: ${report.valid} valid, ${report.invalid} invalid of ${report.rows} rows`,
              entity: { tag: f.rel },
            },
      );
    }
    logs.push(...rowLogs);
    heartbeat();
    await reporter.report(((i + 1) / found.length) * 100, `Validated ${i + 1}/${found.length} files`);
  }
  if (rowErrorsHidden > 0) {
    logs.push({
      level: 'warn',
      message: `${rowErrorsHidden} more invalid rows not listed (the first ${MAX_ROW_ERROR_LOGS} are)`,
    });
  }
  const validFiles = files.filter((f) => !f.error && f.valid > 0).length;
  const totals = {
    files: files.length,
    validFiles,
    invalidFiles: files.length - validFiles,
    rows: files.reduce((n, f) => n + f.rows, 0),
    validRows: files.reduce((n, f) => n + f.valid, 0),
    invalidRows: files.reduce((n, f) => n + f.invalid, 0),
  };
  log.info('import files validated', { sourceDir: dir, ...totals, ignored });
  return reporter.finish({
    sourceDir: dir,
    files,
    ignored,
    totals,
    logs,
    stats: { itemsFailed: totals.invalidRows },
  });
}

/** Name of batch `n`'s normalized file: sortable, so the index reads batches in order. */
export const batchFileName = (n: number): string => `batch-${String(n).padStart(6, '0')}.jsonl`;

export async function importNormalize(
  cfg: PipelineConfig,
  client: Client,
  job: ActivityJobRef,
  args: ImportNormalizeArgs,
): Promise<ImportNormalizeResult> {
  const dir = await resolveSourceDir(cfg, args.sourceDir);
  if (!Number.isInteger(args.batch) || args.batch < 0) {
    throw ApplicationFailure.nonRetryable(
      `batch must be an integer >= 0, not ${String(args.batch)}`,
      'BadBatch',
    );
  }
  const realRoot = await realpath(cfg.importRoot);
  const work = jobWorkDir(cfg.workDir, 'import', args.importId);
  await mkdirPrivate(work);
  const output = batchFileName(args.batch);
  // Written under a temporary name and renamed when complete: a crashed attempt leaves no half batch.
  const tmp = join(work, `.${output}.${job.attempt}-${process.pid}.tmp`);
  const reporter = new ProgressReporter(client, job);
  const fh = await createPrivateFile(tmp);
  let rows = 0;
  try {
    for (const [i, file] of args.files.entries()) {
      // Checked again: the folder may have changed since validation; then read as opened, not by name.
      const real = await resolveExistingInside(cfg.importRoot, resolve(dir, file), 'file');
      const format = formatOf(file);
      if (!format) throw ApplicationFailure.nonRetryable(`File ${file} is not CSV or JSON Lines`, 'BadFile');
      const source = await readSource(cfg, realRoot, real);
      if (source.tooLarge || source.text === null) {
        throw ApplicationFailure.nonRetryable(`File ${file} ${source.tooLarge}`, 'FileTooLarge');
      }
      const parsed = readRows(source.text, format);
      if (parsed.fileError) {
        throw ApplicationFailure.nonRetryable(`File ${file}: ${parsed.fileError}`, 'BadFile');
      }
      let buf: string[] = [];
      let seen = 0;
      for (const r of parsed.rows) {
        if (++seen % HEARTBEAT_EVERY_ROWS === 0) heartbeat();
        if (!('row' in r)) continue; // counted and reported by validation
        buf.push(JSON.stringify(normalizeRow(r.row, `${file}:${r.line}`)));
        rows++;
        if (buf.length >= 1000) {
          await fh.write(buf.join('\n') + '\n');
          buf = [];
        }
      }
      if (buf.length) await fh.write(buf.join('\n') + '\n');
      await reporter.report(
        ((i + 1) / args.files.length) * 100,
        `Normalized ${i + 1}/${args.files.length} files`,
      );
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(work, output));
  jobLog(job).info('import batch normalized', { batch: args.batch, files: args.files.length, rows });
  return reporter.finish({
    batch: args.batch,
    files: args.files.length,
    rows,
    output,
    stats: { itemsProcessed: rows },
  });
}

export async function importIndex(
  cfg: PipelineConfig,
  client: Client,
  job: ActivityJobRef,
  args: ImportIndexArgs,
): Promise<ImportIndexResult> {
  const work = jobWorkDir(cfg.workDir, 'import', args.importId);
  if (!Number.isInteger(args.batches) || args.batches < 1 || !existsSync(work)) {
    throw ApplicationFailure.nonRetryable(
      'No normalized rows to index (the scratch folder is empty or gone): run the job again from the Process step',
      'NothingToIndex',
    );
  }
  // Exactly this run's batches, whatever else the folder holds.
  const names = Array.from({ length: args.batches }, (_, n) => batchFileName(n));
  const sizes: number[] = [];
  for (const [n, name] of names.entries()) {
    try {
      sizes.push((await stat(join(work, name))).size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw ApplicationFailure.retryable(
        `Normalized batch ${n} of ${args.batches} (${name}) is missing from the scratch folder ${work}; ` +
          'if retries do not find it, run the job again from the Process step',
        'BatchMissing',
      );
    }
  }
  const totalBytes = sizes.reduce((a, b) => a + b, 0) || 1;
  const reporter = new ProgressReporter(client, job);
  const index = new ImportIndex(cfg.indexDbPath);
  const counts = { inserted: 0, updated: 0, unchanged: 0 };
  const sources = new Set<string>();
  let rows = 0;
  let bytesDone = 0;
  try {
    const flush = async (batch: NormalizedRow[]): Promise<void> => {
      const c = index.upsert(batch, args.importId);
      counts.inserted += c.inserted;
      counts.updated += c.updated;
      counts.unchanged += c.unchanged;
      await reporter.report((bytesDone / totalBytes) * 100, `Indexed ${rows} rows`);
    };
    for (const [i, name] of names.entries()) {
      const lines = createInterface({
        input: createReadStream(join(work, name), 'utf8'),
        crlfDelay: Infinity,
      });
      let batch: NormalizedRow[] = [];
      for await (const line of lines) {
        if (!line) continue;
        const row = JSON.parse(line) as NormalizedRow;
        batch.push(row);
        sources.add(row.source.slice(0, row.source.lastIndexOf(':')));
        rows++;
        if (batch.length >= INDEX_BATCH_ROWS) {
          await flush(batch);
          batch = [];
        }
      }
      bytesDone += sizes[i];
      if (batch.length) await flush(batch);
    }
  } finally {
    index.close();
  }
  jobLog(job).info('import indexed', { rows, ...counts, db: cfg.indexDbPath });
  return reporter.finish({
    files: sources.size,
    rows,
    ...counts,
    stats: { itemsCreated: counts.inserted },
    logs: [
      {
        level: 'info',
        message: `Indexed ${rows} rows from ${sources.size} files: ${counts.inserted} new, ${counts.updated} updated, ${counts.unchanged} unchanged`,
      },
    ],
  });
}
