/** dataImport end to end against the real dev server, on folders the tests generate. */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { ImportIndex } from '../../activities/import/index-db';
import { jobWorkDir } from '../../activities/paths';
import type { ExampleActivities } from '../../activities';
import type { JobParams, JobState } from '../../workflows/contracts';
import { planRecovery } from '../../workflows/engine/recovery';
import { dataImportDefinition } from '../../workflows/jobs/data-import';
import type { ImportSummary, ImportValidateResult } from '../../workflows/jobs/data-import-contracts';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  queryState,
  startJob,
  startUncheckedJob,
  testClient,
  type TestEnv,
  testPipelineConfig,
  uniqueId,
  waitFor,
} from '../helpers';
import { writeImportFolder } from '../pipeline-fixtures';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
const cfg = testPipelineConfig({ importMaxFileBytes: 256 * 1024 });
/** Jobs whose index step fails once right after its transaction committed (a lost worker, simulated). */
const crashAfterIndex = new Set<string>();
/** Jobs whose index step fails permanently once, after its transaction committed. */
const failAfterIndex = new Set<string>();
/** Jobs whose batch sub-jobs hang in normalize (after writing their rows) until cancelled. */
const hangInNormalize = new Set<string>();

beforeAll(async () => {
  env = await connectTestEnv();
  const real = createActivities({ client: env.client, pipelines: cfg });
  const activities: ExampleActivities = {
    ...real,
    importNormalize: async (job, args) => {
      const result = await real.importNormalize(job, args);
      if ([...hangInNormalize].some((id) => job.jobId.startsWith(`${id}/`))) {
        for (;;) {
          await Context.current().sleep(200); // rejects once the cancellation arrives
          Context.current().heartbeat();
        }
      }
      return result;
    },
    importIndex: async (job, args) => {
      const result = await real.importIndex(job, args);
      if (failAfterIndex.delete(job.jobId)) {
        throw ApplicationFailure.nonRetryable(
          'disk full after the index commit (simulated)',
          'SimulatedFailure',
        );
      }
      if (crashAfterIndex.has(job.jobId) && job.attempt === 1) {
        throw ApplicationFailure.retryable(
          'worker lost after the index commit (simulated)',
          'SimulatedCrash',
        );
      }
      return result;
    },
  };
  ({ worker, taskQueue } = await createTestWorker(env, { pipelines: cfg, activities }));
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

/** Runs an import to its end; `unchecked`: started past the client, which refuses what its schema refuses. */
async function runImport(input: unknown, jobId = uniqueId('import'), unchecked = false): Promise<JobState> {
  const start = unchecked ? startUncheckedJob : startJob;
  const handle = await start(env, taskQueue, 'dataImport', input, jobId);
  await handle.result().catch(() => undefined);
  return queryState(env, handle.workflowId);
}
const step = (s: JobState, key: string) => s.steps.find((x) => x.key === key)!;

function withIndex<T>(fn: (index: ImportIndex) => T): T {
  const index = new ImportIndex(cfg.indexDbPath);
  try {
    return fn(index);
  } finally {
    index.close();
  }
}

describe('dataImport', () => {
  it('imports 5,000 rows in 20 files, 10% invalid: indexes exactly the valid rows, and FTS finds a known row', async () => {
    const data = writeImportFolder(join(cfg.importRoot, 'big'), {
      prefix: uniqueId('big'),
      files: 20,
      rowsPerFile: 250,
    });
    expect(data).toMatchObject({ rows: 5000, validRows: 4500, invalidRows: 500 });
    const s = await runImport({ sourceDir: 'big', batchSize: 5 });
    expect(s).toMatchObject({ status: 'completed', progress: 100, currentStep: 4, totalSteps: 4 });
    expect(s.steps.map((x) => [x.key, x.status])).toEqual([
      ['validate', 'completed'],
      ['process', 'completed'],
      ['index', 'completed'],
      ['cleanup', 'completed'],
    ]);
    expect(step(s, 'process').batch).toEqual({ total: 4, completed: 4, failed: 0, running: 0 });
    expect((s.output as { summary: ImportSummary }).summary).toEqual({
      files: { total: 20, valid: 20, invalid: 0, processed: 20, indexed: 20 },
      rows: { total: 5000, valid: 4500, invalid: 500, processed: 4500, indexed: 4500 },
    });
    expect(s.summary).toMatchObject({ itemsProcessed: 4500, itemsCreated: 4500, itemsFailed: 500 });
    // per-file counts, and row errors as log lines tagged file:line
    const validation = step(s, 'validate').result as unknown as ImportValidateResult;
    expect(validation.files.every((f) => f.valid === 225 && f.invalid === 25)).toBe(true);
    const tagged = s.logs.filter((l) => /^part-\d\d\.(csv|jsonl):\d+$/.test(l.entity?.tag ?? ''));
    expect(tagged.length).toBeGreaterThan(50);
    expect(tagged[0].message).toMatch(/^Invalid row part-\d\d\.(csv|jsonl):\d+: /);

    withIndex((index) => {
      expect(index.count(s.jobId)).toBe(4500);
      expect(index.search(data.known.word)).toEqual([
        expect.objectContaining({ key: data.known.id, source: `${data.known.file}:${data.known.line}` }),
      ]);
      index.checkIntegrity();
    });
    expect(existsSync(jobWorkDir(cfg.workDir, 'import', s.jobId))).toBe(false);
  });

  it('a retried index step, and importing the same folder again, leave the row count unchanged', async () => {
    const data = writeImportFolder(join(cfg.importRoot, 'retry'), {
      prefix: uniqueId('retry'),
      files: 4,
      rowsPerFile: 50,
    });
    const jobId = uniqueId('import-retry');
    crashAfterIndex.add(jobId);
    const s = await runImport({ sourceDir: 'retry', batchSize: 2 }, jobId);
    expect(s.status).toBe('completed');
    const index = step(s, 'index');
    expect(index).toMatchObject({ status: 'completed', attempt: 2 });
    // the first attempt wrote every row; the retry found them all already indexed
    expect(index.result).toMatchObject({
      rows: data.validRows,
      inserted: 0,
      updated: 0,
      unchanged: data.validRows,
    });
    expect(
      s.logs.some((l) =>
        /Attempt 1 of "Index rows" failed: worker lost after the index commit/.test(l.message),
      ),
    ).toBe(true);
    const keys = (i: ImportIndex) => i.search(data.known.word).map((h) => h.key);
    withIndex((i) => {
      expect(i.count(jobId)).toBe(data.validRows);
      expect(keys(i)).toEqual([data.known.id]);
    });

    const again = await runImport({ sourceDir: 'retry' });
    expect(step(again, 'index').result).toMatchObject({ inserted: 0, unchanged: data.validRows });
    withIndex((i) => {
      expect(i.count(jobId)).toBe(0); // the rows now belong to the later import…
      expect(i.count(again.jobId)).toBe(data.validRows); // …and there are as many as before
      expect(keys(i)).toEqual([data.known.id]);
      i.checkIntegrity();
    });
  });

  it('refuses path traversal and a symbolic link out of the import root with a clear error, indexing nothing', async () => {
    const outside = join(cfg.importRoot, '..', 'outside-data');
    const secret = writeImportFolder(outside, { prefix: uniqueId('secret'), files: 1, rowsPerFile: 5 });
    symlinkSync(outside, join(cfg.importRoot, 'escape'));

    const absolute = await runImport({ sourceDir: outside });
    expect(absolute).toMatchObject({ status: 'failed', currentStep: 1 });
    expect(absolute.error).toMatchObject({ step: 'validate', type: 'PathRefused', nonRetryable: true });
    expect(absolute.error?.message).toMatch(/sourceDir ".*outside-data" is outside the allowed root/);
    expect(step(absolute, 'validate').attempt).toBe(1); // not retried

    const linked = await runImport({ sourceDir: 'escape' });
    expect(linked.error).toMatchObject({ type: 'PathRefused', nonRetryable: true });
    expect(linked.error?.message).toBe(
      `sourceDir "escape" resolves outside the allowed root ${cfg.importRoot} (through a symbolic link)`,
    );

    // The client refuses it before Temporal; the workflow's own check, for a start that skips the client:
    await expect(
      testClient(env, taskQueue).start('dataImport', { sourceDir: '../outside-data' }),
    ).rejects.toMatchObject({ code: 'InvalidJobInput', issues: [{ path: ['input', 'sourceDir'] }] });
    const dotdot = await runImport({ sourceDir: '../outside-data' }, undefined, true);
    expect(dotdot.error).toMatchObject({ type: 'InvalidJobInput', nonRetryable: true });
    expect(dotdot.error?.message).toMatch(/sourceDir: must be a path without "\.\." segments/);

    withIndex((i) => expect(i.search(secret.known.word)).toEqual([]));
  });

  it('rejects an oversize file and a linked file from outside per file, importing the rest', async () => {
    const dir = join(cfg.importRoot, 'mixed');
    const ok = writeImportFolder(dir, { prefix: uniqueId('mixed'), files: 1, rowsPerFile: 20 });
    const big = writeImportFolder(join(cfg.importRoot, 'big-src'), {
      prefix: uniqueId('oversize'),
      files: 1,
      rowsPerFile: 3000,
    });
    symlinkSync(join(cfg.importRoot, 'big-src', big.files[0]), join(dir, 'z-oversize.csv'));
    const secretFile = join(cfg.importRoot, '..', 'secret-rows.jsonl');
    writeFileSync(secretFile, JSON.stringify({ id: 'secret-1', title: 'classified quasar' }) + '\n');
    symlinkSync(secretFile, join(dir, 'z-secret.jsonl'));

    const s = await runImport({ sourceDir: 'mixed' });
    expect(s.status).toBe('completed');
    const files = (step(s, 'validate').result as unknown as ImportValidateResult).files;
    expect(files.map((f) => [f.file, f.error?.replace(/[\d.]+ KiB \(\d+ bytes\)/, 'N')])).toEqual([
      ['part-00.csv', undefined],
      ['z-oversize.csv', 'is N, over the 256.0 KiB limit (STEPWISE_IMPORT_MAX_FILE_BYTES); not imported'],
      ['z-secret.jsonl', 'is a symbolic link that resolves outside the import root; refused'],
    ]);
    const errors = s.logs.filter((l) => l.level === 'error' && l.entity);
    expect(errors.map((l) => l.entity?.tag)).toEqual(['z-oversize.csv', 'z-secret.jsonl']);
    expect(errors[0].message).toMatch(/^File z-oversize.csv rejected: it is .* over the 256.0 KiB limit/);
    withIndex((i) => {
      expect(i.count(s.jobId)).toBe(ok.validRows);
      expect(i.search('quasar')).toEqual([]);
      expect(i.search(big.known.word)).toEqual([]);
    });
  });

  it('completes early with "No valid files to import" when no file has a valid row', async () => {
    mkdirSync(join(cfg.importRoot, 'none'));
    writeFileSync(join(cfg.importRoot, 'none', 'bad.csv'), 'id,title\nbad id!,x\n,y\n');
    writeFileSync(join(cfg.importRoot, 'none', 'readme.txt'), 'not imported');
    const s = await runImport({ sourceDir: 'none' });
    expect(s).toMatchObject({ status: 'completed', message: 'No valid files to import', progress: 100 });
    expect(s.steps.slice(1).map((x) => x.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect((s.output as unknown as ImportValidateResult).totals).toMatchObject({
      files: 1,
      validFiles: 0,
      invalidRows: 2,
    });
  });

  it('stops after validation with validateOnly, indexing nothing', async () => {
    const data = writeImportFolder(join(cfg.importRoot, 'dry'), {
      prefix: uniqueId('dry'),
      files: 2,
      rowsPerFile: 20,
    });
    const s = await runImport({ sourceDir: 'dry', validateOnly: true });
    expect(s).toMatchObject({
      status: 'completed',
      message: `Validation only: ${data.validRows} valid and ${data.invalidRows} invalid rows in 2 files`,
    });
    expect(step(s, 'index').status).toBe('skipped');
    withIndex((i) => expect(i.search(data.known.word)).toEqual([]));
  });

  it('a recovery from the index step leaves the row count unchanged', async () => {
    const data = writeImportFolder(join(cfg.importRoot, 'recover'), {
      prefix: uniqueId('recover'),
      files: 3,
      rowsPerFile: 40,
    });
    const jobId = uniqueId('import-recover');
    failAfterIndex.add(jobId);
    const failed = await runImport({ sourceDir: 'recover', batchSize: 2 }, jobId);
    expect(failed).toMatchObject({ status: 'failed', error: { step: 'index' } });
    withIndex((i) => expect(i.count(jobId)).toBe(data.validRows)); // the rows were written

    const plan = planRecovery(dataImportDefinition, failed);
    if (!plan.ok) throw new Error(plan.message);
    expect(plan.params.fromStep).toBe(3);
    const params: JobParams = { input: failed.input, recovery: plan.params };
    const handle = await env.client.workflow.start('dataImport', {
      taskQueue,
      workflowId: jobId,
      args: [params],
    });
    const done = (await handle.result()) as JobState;
    expectJobStateInvariants(done);
    expect(done).toMatchObject({ status: 'completed', recovery: { attempt: 1, fromStep: 3 } });
    expect(done.steps.map((x) => x.carriedFrom !== null)).toEqual([true, true, false, false]);
    expect(step(done, 'index').result).toMatchObject({
      rows: data.validRows,
      inserted: 0,
      unchanged: data.validRows,
    });
    withIndex((i) => {
      expect(i.count(jobId)).toBe(data.validRows);
      expect(i.search(data.known.word).map((h) => h.key)).toEqual([data.known.id]);
      i.checkIntegrity();
    });
    expect(existsSync(jobWorkDir(cfg.workDir, 'import', jobId))).toBe(false); // cleaned up at the end
  });

  it('runs its cleanup when cancelled: the scratch folder is removed, nothing is indexed', async () => {
    const data = writeImportFolder(join(cfg.importRoot, 'cancel'), {
      prefix: uniqueId('cancel'),
      files: 2,
      rowsPerFile: 20,
    });
    const jobId = uniqueId('import-cancel');
    hangInNormalize.add(jobId);
    const handle = await startJob(env, taskQueue, 'dataImport', { sourceDir: 'cancel', batchSize: 1 }, jobId);
    const work = jobWorkDir(cfg.workDir, 'import', jobId);
    await waitFor(
      async () => (await queryState(env, jobId)).steps[1].status === 'running' && existsSync(work),
      (ready) => ready,
    );
    await handle.cancel();
    await handle.result().catch(() => undefined);
    const s = await queryState(env, jobId);
    expect(s.status).toBe('cancelled');
    expect(s.cancellation).toMatchObject({ cleanup: 'completed', leftRunning: [] });
    expect(existsSync(work)).toBe(false);
    withIndex((i) => {
      expect(i.count(jobId)).toBe(0);
      expect(i.search(data.known.word)).toEqual([]);
    });
  });
});
