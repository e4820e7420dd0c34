/**
 * dataImport's activities on real files and a real SQLite index, in a mock activity context
 * (no Temporal server needed: they only heartbeat; progress signals are off).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { cleanupWorkDir } from '../../activities/cleanup';
import {
  MAX_ROW_ERROR_LOGS,
  importIndex,
  importNormalize,
  importValidate,
} from '../../activities/import/activities';
import { ImportIndex } from '../../activities/import/index-db';
import { jobWorkDir } from '../../activities/paths';
import type { PipelineConfig } from '../../activities/pipeline-config';
import type { ImportValidateResult } from '../../workflows/jobs/data-import-contracts';
import { activityJob, runActivity, unusedClient } from '../activity-env';
import { testPipelineConfig, uniqueId } from '../helpers';
import { writeImportFolder } from '../pipeline-fixtures';

const noClient = unusedClient;
const job = (stepKey: string, attempt = 1) => activityJob('dataImport', stepKey, attempt);
const run = runActivity;

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** Validate, normalize in batches of `batchSize` files, index: the three steps of a dataImport. */
async function importAll(cfg: PipelineConfig, sourceDir: string, importId: string, batchSize = 5) {
  const v = await run(importValidate, cfg, noClient, job('validate'), { sourceDir });
  const files = v.files.filter((f) => !f.error && f.valid > 0).map((f) => f.file);
  for (let b = 0; b * batchSize < files.length; b++) {
    await run(importNormalize, cfg, noClient, job('normalize'), {
      importId,
      sourceDir: v.sourceDir,
      files: files.slice(b * batchSize, (b + 1) * batchSize),
      batch: b,
    });
  }
  const batches = Math.ceil(files.length / batchSize);
  const ix = await run(importIndex, cfg, noClient, job('index'), { importId, batches });
  return { v, ix, batches };
}

describe('importValidate', () => {
  it('counts valid and invalid rows per file and logs row errors tagged file:line', async () => {
    const cfg = testPipelineConfig();
    const data = writeImportFolder(join(cfg.importRoot, 'batch1'), {
      prefix: 'v1',
      files: 4,
      rowsPerFile: 50,
    });
    const v: ImportValidateResult = await run(importValidate, cfg, noClient, job('validate'), {
      sourceDir: 'batch1',
    });
    expect(v.totals).toEqual({
      files: 4,
      validFiles: 4,
      invalidFiles: 0,
      rows: 200,
      validRows: data.validRows,
      invalidRows: data.invalidRows,
    });
    expect(data.invalidRows).toBe(20);
    expect(v.files.map((f) => [f.file, f.format, f.valid, f.invalid])).toEqual([
      ['part-00.csv', 'csv', 45, 5],
      ['part-01.jsonl', 'jsonl', 45, 5],
      ['part-02.csv', 'csv', 45, 5],
      ['part-03.jsonl', 'jsonl', 45, 5],
    ]);
    const rowLogs = v.logs!.filter((l) => l.message.startsWith('Invalid row'));
    expect(rowLogs).toHaveLength(20);
    // part-00.csv, row 9 (line 11: header + 0-based row 9 + 1): (9 + 0) % 4 = 1 → bad amount
    expect(rowLogs[0]).toMatchObject({ level: 'warn', entity: { tag: 'part-00.csv:11' } });
    expect(rowLogs[0].message).toMatch(/amount/);
    // part-01.jsonl row 9 is line 10: (9 + 1) % 4 = 2 → bad id
    expect(rowLogs.find((l) => l.entity?.tag === 'part-01.jsonl:10')?.message).toMatch(/id: must be/);
    expect(v.stats).toEqual({ itemsFailed: 20 });
  });

  it('bounds the row error log lines and says how many more there are', async () => {
    const cfg = testPipelineConfig();
    writeImportFolder(join(cfg.importRoot, 'many'), {
      prefix: 'v2',
      files: 2,
      rowsPerFile: 300,
      invalidEvery: 2,
    });
    const v = await run(importValidate, cfg, noClient, job('validate'), { sourceDir: 'many' });
    expect(v.totals.invalidRows).toBe(300);
    expect(v.logs!.filter((l) => l.message.startsWith('Invalid row'))).toHaveLength(MAX_ROW_ERROR_LOGS);
    expect(v.logs!.at(-1)?.message).toBe(
      `200 more invalid rows not listed (the first ${MAX_ROW_ERROR_LOGS} are)`,
    );
  });

  it('refuses a sourceDir outside the import root: traversal, an absolute path, a symbolic link', async () => {
    const cfg = testPipelineConfig();
    const outside = join(cfg.importRoot, '..', 'outside');
    writeImportFolder(outside, { prefix: 'v3', files: 1, rowsPerFile: 5 });
    symlinkSync(outside, join(cfg.importRoot, 'escape'));
    for (const [sourceDir, msg] of [
      ['../outside', /sourceDir "..\/outside" is outside the allowed root/],
      [outside, /is outside the allowed root/],
      ['escape', /sourceDir "escape" resolves outside the allowed root .* \(through a symbolic link\)/],
      ['missing', /sourceDir "missing" does not exist/],
    ] as const) {
      const err = await failure(run(importValidate, cfg, noClient, job('validate'), { sourceDir }));
      expect(err).toMatchObject({ type: 'PathRefused', nonRetryable: true });
      expect(err.message).toMatch(msg);
    }
  });

  it('rejects an oversize file and a file linked from outside the root, each with a clear error', async () => {
    const cfg = testPipelineConfig({ importMaxFileBytes: 4096 });
    const dir = join(cfg.importRoot, 'mixed');
    writeImportFolder(dir, { prefix: 'v4', files: 1, rowsPerFile: 10 });
    writeFileSync(join(dir, 'big.csv'), 'id,title\n' + 'x1,' + 'y'.repeat(5000) + '\n');
    const secret = join(cfg.importRoot, '..', 'secret.csv');
    writeFileSync(secret, 'id,title\ns1,secret\n');
    symlinkSync(secret, join(dir, 'linked.csv'));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const v = await run(importValidate, cfg, noClient, job('validate'), { sourceDir: 'mixed' });
    const byName = Object.fromEntries(v.files.map((f) => [f.file, f]));
    expect(byName['big.csv'].error).toMatch(
      /^is 4\.9 KiB \(5013 bytes\), over the 4\.0 KiB limit \(STEPWISE_IMPORT_MAX_FILE_BYTES\); not imported$/,
    );
    expect(byName['linked.csv'].error).toBe(
      'is a symbolic link that resolves outside the import root; refused',
    );
    expect(byName['part-00.csv']).toMatchObject({ error: null, valid: 9, invalid: 1 });
    expect(v.totals).toMatchObject({ files: 3, validFiles: 1, invalidFiles: 2 });
    expect(v.ignored).toBe(1);
    expect(v.logs!.filter((l) => l.level === 'error').map((l) => l.entity?.tag)).toEqual([
      'big.csv',
      'linked.csv',
    ]);
  });

  it('rejects a CSV file whose header lacks a required column', async () => {
    const cfg = testPipelineConfig();
    mkdirSync(join(cfg.importRoot, 'hdr'));
    writeFileSync(join(cfg.importRoot, 'hdr', 'a.csv'), 'id,name\n1,x\n');
    const v = await run(importValidate, cfg, noClient, job('validate'), { sourceDir: 'hdr' });
    expect(v.files[0]).toMatchObject({ error: 'CSV header has no "title" column', rows: 0, valid: 0 });
    expect(v.totals.validFiles).toBe(0);
  });
});

describe('importNormalize + importIndex', () => {
  it('indexes exactly the valid rows; full-text search finds a known row', async () => {
    const cfg = testPipelineConfig();
    const data = writeImportFolder(join(cfg.importRoot, 'src'), {
      prefix: uniqueId('n1'),
      files: 6,
      rowsPerFile: 40,
    });
    const { ix } = await importAll(cfg, 'src', 'import-n1', 4);
    expect(readdirSync(jobWorkDir(cfg.workDir, 'import', 'import-n1')).sort()).toEqual([
      'batch-000000.jsonl',
      'batch-000001.jsonl',
    ]);
    expect(ix).toMatchObject({
      files: 6,
      rows: data.validRows,
      inserted: data.validRows,
      updated: 0,
      unchanged: 0,
    });
    const index = new ImportIndex(cfg.indexDbPath);
    try {
      expect(index.count()).toBe(data.validRows);
      expect(index.search(data.known.word)).toEqual([
        expect.objectContaining({
          key: data.known.id,
          source: `${data.known.file}:${data.known.line}`,
          importId: 'import-n1',
        }),
      ]);
      index.checkIntegrity();
    } finally {
      index.close();
    }
  });

  it('is idempotent: indexing the same rows again (a retried step) adds no row', async () => {
    const cfg = testPipelineConfig();
    const data = writeImportFolder(join(cfg.importRoot, 'src'), {
      prefix: uniqueId('n2'),
      files: 3,
      rowsPerFile: 30,
    });
    const first = await importAll(cfg, 'src', 'import-n2');
    const again = await run(importIndex, cfg, noClient, job('index', 2), {
      importId: 'import-n2',
      batches: first.batches,
    });
    expect(first.ix.inserted).toBe(data.validRows);
    expect(again).toMatchObject({ rows: data.validRows, inserted: 0, updated: 0, unchanged: data.validRows });
    const index = new ImportIndex(cfg.indexDbPath);
    try {
      expect(index.count()).toBe(data.validRows);
      expect(index.search(data.known.word).map((h) => h.key)).toEqual([data.known.id]);
      index.checkIntegrity();
    } finally {
      index.close();
    }
  });

  it('updates a changed row in place and keeps the full-text index in sync', async () => {
    const cfg = testPipelineConfig();
    mkdirSync(join(cfg.importRoot, 'u'));
    const file = join(cfg.importRoot, 'u', 'rows.jsonl');
    writeFileSync(file, JSON.stringify({ id: 'u-1', title: 'original marmalade' }) + '\n');
    await importAll(cfg, 'u', 'import-u1');
    writeFileSync(file, JSON.stringify({ id: 'u-1', title: 'changed pumpernickel' }) + '\n');
    const { ix } = await importAll(cfg, 'u', 'import-u2');
    expect(ix).toMatchObject({ inserted: 0, updated: 1, unchanged: 0 });
    const index = new ImportIndex(cfg.indexDbPath);
    try {
      expect(index.count()).toBe(1);
      expect(index.search('marmalade')).toEqual([]);
      expect(index.search('pumpernickel').map((h) => h.key)).toEqual(['u-1']);
      index.checkIntegrity();
    } finally {
      index.close();
    }
  });

  it('normalizes rows: trimmed text, lower-case category, sorted unique tags, ISO dates, rounded amounts', async () => {
    const cfg = testPipelineConfig();
    mkdirSync(join(cfg.importRoot, 'norm'));
    writeFileSync(
      join(cfg.importRoot, 'norm', 'a.csv'),
      'id,title,category,tags,amount,updatedAt,ignored\r\n' +
        'n-1,"  Hello,   ""quoted""\n world ", Books ,"b; a;B",12.345,2026-01-02,zzz\r\n',
    );
    await run(importNormalize, cfg, noClient, job('normalize'), {
      importId: 'import-norm',
      sourceDir: 'norm',
      files: ['a.csv'],
      batch: 3,
    });
    const out = readFileSync(
      join(jobWorkDir(cfg.workDir, 'import', 'import-norm'), 'batch-000003.jsonl'),
      'utf8',
    );
    expect(JSON.parse(out.trim())).toMatchObject({
      key: 'n-1',
      title: 'Hello, "quoted" world',
      category: 'books',
      tags: ['a', 'b'],
      amount: 12.35,
      updatedAt: '2026-01-02T00:00:00.000Z',
      body: null,
      source: 'a.csv:2',
    });
  });

  it('refuses a file path that leaves the root, and an index run with nothing normalized', async () => {
    const cfg = testPipelineConfig();
    mkdirSync(join(cfg.importRoot, 'ok'));
    const err = await failure(
      run(importNormalize, cfg, noClient, job('normalize'), {
        importId: 'x',
        sourceDir: 'ok',
        files: ['../../outside.csv'],
        batch: 0,
      }),
    );
    expect(err).toMatchObject({ type: 'PathRefused', nonRetryable: true });
    const none = await failure(
      run(importIndex, cfg, noClient, job('index'), { importId: 'never-normalized', batches: 1 }),
    );
    expect(none).toMatchObject({ type: 'NothingToIndex', nonRetryable: true });
  });

  it("reads exactly this run's batches: a stray batch file is ignored, a missing one is a retryable error", async () => {
    const cfg = testPipelineConfig();
    const data = writeImportFolder(join(cfg.importRoot, 'src'), {
      prefix: uniqueId('n3'),
      files: 4,
      rowsPerFile: 20,
    });
    const importId = 'import-n3';
    const v = await run(importValidate, cfg, noClient, job('validate'), { sourceDir: 'src' });
    const files = v.files.map((f) => f.file);
    for (const b of [0, 1]) {
      await run(importNormalize, cfg, noClient, job('normalize'), {
        importId,
        sourceDir: v.sourceDir,
        files: files.slice(b * 2, b * 2 + 2),
        batch: b,
      });
    }
    // Left by something else (an earlier run with other files): not this run's.
    const work = jobWorkDir(cfg.workDir, 'import', importId);
    const stray = { key: 'stray-1', title: 'stray quokka', body: null, category: null, tags: [] };
    writeFileSync(
      join(work, 'batch-000002.jsonl'),
      JSON.stringify({ ...stray, amount: null, updatedAt: null, source: 'old.csv:2', hash: 'x' }) + '\n',
    );
    const ix = await run(importIndex, cfg, noClient, job('index'), { importId, batches: 2 });
    expect(ix).toMatchObject({ files: 4, rows: data.validRows, inserted: data.validRows });
    const index = new ImportIndex(cfg.indexDbPath);
    try {
      expect(index.search('quokka')).toEqual([]);
      expect(index.count()).toBe(data.validRows);
    } finally {
      index.close();
    }

    const missing = await failure(run(importIndex, cfg, noClient, job('index'), { importId, batches: 4 }));
    expect(missing).toMatchObject({ type: 'BatchMissing', nonRetryable: false });
    expect(missing.message).toMatch(
      /^Normalized batch 3 of 4 \(batch-000003\.jsonl\) is missing from the scratch folder/,
    );
  });
});

describe('cleanupWorkDir', () => {
  it('removes the job scratch folder, echoes the summary, and succeeds again when it is gone', async () => {
    const cfg = testPipelineConfig();
    const dir = jobWorkDir(cfg.workDir, 'import', 'job/with:odd-chars');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'batch-000000.jsonl'), '{}\n');
    const summary = {
      files: { total: 1, valid: 1, invalid: 0, processed: 1, indexed: 1 },
      rows: { total: 1, valid: 1, invalid: 0, processed: 1, indexed: 1 },
    };
    const first = await run(cleanupWorkDir, cfg, job('cleanup'), {
      scope: 'import',
      jobId: 'job/with:odd-chars',
      summary,
    });
    expect(first).toMatchObject({ removed: true, summary });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(cfg.workDir)).toBe(true);
    const again = await run(cleanupWorkDir, cfg, job('cleanup'), {
      scope: 'import',
      jobId: 'job/with:odd-chars',
      summary: null,
    });
    expect(again).toMatchObject({ removed: false, summary: null });
  });
});
