/**
 * Files outside the roots, by the attack (issue 18, item 5) — on real files, the activities in a
 * mock activity context:
 * - a file swapped for a symbolic link to a secret outside the import root after the scan;
 * - a folder on the way swapped for a link after the path was checked;
 * - step arguments forged to name files outside the job's scratch folder, or labels that climb
 *   out of the dataset folder;
 * - the dataset lock of a live earlier attempt, and an earlier attempt whose lock was taken over;
 * and the data files' modes (item 6): 0600 files in 0700 folders whatever the umask.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { AuditStore } from '../../src/api/audit/audit.store';
import { cleanupWorkDir } from '../../activities/cleanup';
import { datasetDedupe, datasetStore, datasetValidate } from '../../activities/dataset/activities';
import { acquireLock, lockPath, type LeaseOptions } from '../../activities/dataset/store';
import { importIndex, importNormalize, importValidate } from '../../activities/import/activities';
import { jobWorkDir, resolveFolderTarget } from '../../activities/paths';
import { openInside } from '../../activities/safe-open';
import { loadOrCreatePassword } from '../../src/cluster/postgres';
import { writeServerConfig, type ClusterTools } from '../../src/cluster/temporal-server';
import type { DatasetStoreArgs, StoreItem } from '../../workflows/jobs/dataset-build-contracts';
import { activityJob, runActivity, unusedClient } from '../activity-env';
import { testPipelineConfig, uniqueId } from '../helpers';
import { pngImage } from '../pipeline-fixtures';

const SECRET = 'DB_PASSWORD=hunter2';

/** A file outside every root holding the secret (as a `.jsonl` would be read: one bad row). */
function secretOutside(): string {
  const dir = join(testPipelineConfig().workDir, '..', 'outside');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'secrets.env');
  writeFileSync(file, `${SECRET}\n`);
  return file;
}

/** Runs `fn` as an activity, calling `onHeartbeat` on each of its heartbeats (synchronously). */
function runWithHeartbeats<A extends unknown[], R>(
  onHeartbeat: (n: number) => void,
  fn: (...a: A) => Promise<R>,
  ...args: A
): Promise<R> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let n = 0;
  env.on('heartbeat', () => onHeartbeat(++n));
  return env.run(fn, ...args);
}

describe('a file swapped for a symbolic link after the scan', () => {
  it('importValidate reads the scanned file or refuses it: the secret outside the root reaches nothing', async () => {
    const cfg = testPipelineConfig();
    const src = join(cfg.importRoot, 'swap');
    mkdirSync(src);
    writeFileSync(join(src, 'a.jsonl'), '{"id":"a1","title":"first"}\n');
    writeFileSync(join(src, 'b.jsonl'), '{"id":"b1","title":"second"}\n');
    const secret = secretOutside();
    let swapped = false;
    // The first heartbeat comes while a.jsonl is read: the scan is over, b.jsonl not read yet.
    const result = await runWithHeartbeats(
      () => {
        if (swapped) return;
        swapped = true;
        unlinkSync(join(src, 'b.jsonl'));
        symlinkSync(secret, join(src, 'b.jsonl'));
      },
      importValidate,
      cfg,
      unusedClient,
      activityJob('dataImport', 'validate'),
      { sourceDir: 'swap' },
    );
    expect(swapped).toBe(true);
    expect(JSON.stringify(result)).not.toContain('hunter2');
    const b = result.files.find((f) => f.file === 'b.jsonl')!;
    expect(b.error).toMatch(/symbolic link; not followed/);
    expect(b).toMatchObject({ valid: 0, rows: 0 });
    expect(result.files.find((f) => f.file === 'a.jsonl')).toMatchObject({ valid: 1, error: null });
  });

  it('a file replaced by another one (a new inode) after the scan is refused, not read', async () => {
    const cfg = testPipelineConfig();
    const src = join(cfg.importRoot, 'replace');
    mkdirSync(src);
    writeFileSync(join(src, 'a.jsonl'), '{"id":"a1","title":"first"}\n');
    writeFileSync(join(src, 'b.jsonl'), '{"id":"b1","title":"second"}\n');
    let swapped = false;
    const result = await runWithHeartbeats(
      () => {
        if (swapped) return;
        swapped = true;
        writeFileSync(join(src, '.new'), `${SECRET}\n`);
        renameSync(join(src, '.new'), join(src, 'b.jsonl'));
      },
      importValidate,
      cfg,
      unusedClient,
      activityJob('dataImport', 'validate'),
      { sourceDir: 'replace' },
    );
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(result.files.find((f) => f.file === 'b.jsonl')!.error).toMatch(/replaced after it was scanned/);
  });

  it('a folder on the way swapped for a link out of the root after the check: the opened file is refused', async () => {
    const cfg = testPipelineConfig();
    const root = join(cfg.importRoot, 'r');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub', 'data.jsonl'), '{}\n');
    const secret = secretOutside();
    // The name is checked (it is inside), then `sub` becomes a link to the secret's folder.
    renameSync(join(root, 'sub'), join(root, 'sub-old'));
    symlinkSync(dirname(secret), join(root, 'sub'));
    await expect(openInside(cfg.importRoot, join(root, 'sub', 'secrets.env'), 'file')).rejects.toMatchObject({
      type: 'PathRefused',
      message: expect.stringMatching(/resolves outside the allowed root/),
    });
    // and what is not a regular file (a device here, a FIFO alike) is refused without being read
    await expect(openInside(cfg.importRoot, '/dev/null', 'file')).rejects.toMatchObject({
      type: 'PathRefused',
    });
  });
});

/** A datasetBuild job's scratch folder holding `images` as downloaded items. */
function downloaded(cfg = testPipelineConfig(), workId = uniqueId('w')) {
  const dir = join(jobWorkDir(cfg.workDir, 'dataset', workId), 'downloads');
  mkdirSync(dir, { recursive: true });
  const png = pngImage(4, 3, 7);
  writeFileSync(join(dir, 'item-00000'), png);
  const item: StoreItem = {
    index: 0,
    source: 'https://x.test/a.png',
    file: 'item-00000',
    bytes: png.length,
    contentType: 'image/png',
    format: 'png',
    mimeType: 'image/png',
    width: 4,
    height: 3,
    sha256: createHash('sha256').update(png).digest('hex'),
    label: 'png',
    meta: {},
  };
  return { cfg, workId, dir, item, png };
}

const storeArgs = (workId: string, outputDir: string, items: StoreItem[]): DatasetStoreArgs => ({
  workId,
  outputDir,
  items,
  rejected: [],
  labelRule: { by: 'format' },
  sources: items.length,
});

describe('forged step results: every path an argument carries stays inside its root', () => {
  it('datasetValidate and datasetDedupe refuse an item file outside the scratch folder, reading nothing', async () => {
    const { cfg, workId } = downloaded();
    const outside = join(cfg.workDir, '..', 'outside-image.png');
    writeFileSync(outside, pngImage(5, 5, 1));
    const forged = { index: 0, source: 'x', bytes: 1, contentType: null };
    for (const file of [
      '../../../../outside-image.png',
      outside,
      'item-00000/../../../../../outside-image.png',
    ]) {
      await expect(
        runActivity(datasetValidate, cfg, activityJob('datasetBuild', 'validate'), {
          workId,
          items: [{ ...forged, file }],
        }),
      ).rejects.toMatchObject({ type: 'PathRefused', nonRetryable: true });
    }
    await expect(
      runActivity(datasetDedupe, cfg, activityJob('datasetBuild', 'dedupe'), {
        workId,
        images: [
          {
            ...forged,
            file: '../../../../outside-image.png',
            format: 'png',
            mimeType: 'image/png',
            width: 5,
            height: 5,
          },
        ],
      }),
    ).rejects.toMatchObject({ type: 'PathRefused' });
  });

  it('an item file swapped for a link in the scratch folder is not followed', async () => {
    const { cfg, workId, dir, item } = downloaded();
    unlinkSync(join(dir, item.file));
    symlinkSync(secretOutside(), join(dir, item.file));
    await expect(
      runActivity(datasetValidate, cfg, activityJob('datasetBuild', 'validate'), { workId, items: [item] }),
    ).rejects.toMatchObject({ type: 'PathRefused', message: expect.stringMatching(/symbolic link/) });
  });

  it('datasetStore refuses a label that climbs out of the dataset folder: nothing is written outside the root', async () => {
    const { cfg, workId, item } = downloaded();
    const escape = `escape-${uniqueId('l')}`;
    for (const label of [`../../../${escape}`, '..', 'a/b', 'UPPER', '']) {
      await expect(
        runActivity(
          datasetStore,
          cfg,
          activityJob('datasetBuild', 'store'),
          storeArgs(workId, 'sets/forged', [{ ...item, label }]),
        ),
      ).rejects.toMatchObject({ type: 'PathRefused', nonRetryable: true });
    }
    const base = dirname(cfg.datasetRoot);
    expect(
      readdirSync(base, { recursive: true })
        .map(String)
        .some((p) => p.includes(escape)),
    ).toBe(false);
    expect(existsSync(join(cfg.datasetRoot, 'sets', 'forged'))).toBe(false);
  });

  it('datasetStore refuses a sha256 that is not a hash, or not the content of the file', async () => {
    const { cfg, workId, item } = downloaded();
    await expect(
      runActivity(
        datasetStore,
        cfg,
        activityJob('datasetBuild', 'store'),
        storeArgs(workId, 'sets/h1', [{ ...item, sha256: '../../../../../../tmp/x'.padEnd(64, 'a') }]),
      ),
    ).rejects.toMatchObject({ type: 'InvalidStepResult' });
    await expect(
      runActivity(
        datasetStore,
        cfg,
        activityJob('datasetBuild', 'store'),
        storeArgs(workId, 'sets/h2', [{ ...item, sha256: 'a'.repeat(64) }]),
      ),
    ).rejects.toMatchObject({ type: 'InvalidStepResult', message: expect.stringMatching(/content/) });
    expect(existsSync(join(cfg.datasetRoot, 'sets', 'h2'))).toBe(false);
  });

  it('cleanupWorkDir refuses a scope that is not one of the scratch folder families', async () => {
    const cfg = testPipelineConfig();
    const victim = join(cfg.workDir, '..', 'victim');
    mkdirSync(victim, { recursive: true });
    writeFileSync(join(victim, 'keep'), 'x');
    await expect(
      runActivity(cleanupWorkDir, cfg, activityJob('dataImport', 'cleanup'), {
        scope: '..' as 'import',
        jobId: 'j',
        summary: null,
      }),
    ).rejects.toMatchObject({ type: 'InvalidActivityArgument' });
    expect(existsSync(join(victim, 'keep'))).toBe(true);
  });
});

describe('dataset staging: the lock is fenced by attempt', () => {
  const fastLease = (over: Partial<LeaseOptions> = {}): LeaseOptions => ({
    renewMs: 20,
    staleMs: 60_000,
    wait: () => new Promise((r) => setImmediate(r)),
    heartbeat: () => undefined,
    ...over,
  });

  it('a later attempt waits while the earlier attempt of the same job still holds the lock, then takes it', async () => {
    const cfg = testPipelineConfig();
    const target = await resolveFolderTarget(cfg.datasetRoot, 'fence/one', 'outputDir');
    const first = await acquireLock(target, 'job-1', 1, 'fence/one', fastLease());
    let waits = 0;
    let secondHeld = false;
    const second = acquireLock(
      target,
      'job-1',
      2,
      'fence/one',
      fastLease({
        wait: async () => {
          waits++;
          // While attempt 1 holds a live lease, attempt 2 keeps waiting; after 5 looks attempt 1 ends.
          expect(secondHeld).toBe(false);
          if (waits === 5) await first.release();
          await new Promise((r) => setImmediate(r));
        },
      }),
    ).then((l) => {
      secondHeld = true;
      return l;
    });
    const held = await second;
    expect(waits).toBeGreaterThanOrEqual(5);
    await held.assertHeld();
    expect(JSON.parse(readFileSync(lockPath(target), 'utf8'))).toMatchObject({ jobId: 'job-1', attempt: 2 });
    await held.release();
    expect(existsSync(lockPath(target))).toBe(false);
  });

  it('an earlier attempt whose lease went stale is taken over, and then cannot commit into the folder', async () => {
    const { cfg, workId, item } = downloaded();
    const outputDir = 'fence/two';
    const target = await resolveFolderTarget(cfg.datasetRoot, outputDir, 'outputDir');
    // Attempt 1 holds the lock, then freezes (its lease is no longer renewed).
    const frozen = await acquireLock(target, 'job-2', 1, outputDir, fastLease({ renewMs: 3_600_000 }));
    const past = new Date(Date.now() - 120_000);
    utimesSync(lockPath(target), past, past);
    // Attempt 2 takes the stale lock over and builds the dataset.
    const job2 = { ...activityJob('datasetBuild', 'store', 2), jobId: 'job-2' };
    const built = await runActivity(datasetStore, cfg, job2, storeArgs(workId, outputDir, [item]));
    expect(JSON.parse(readFileSync(built.manifest, 'utf8'))).toMatchObject({ jobId: 'job-2' });
    // Attempt 1 wakes up: it must not write into the folder.
    await expect(frozen.assertHeld()).rejects.toMatchObject({ type: 'LockLost' });
    await frozen.release(); // removes nothing that is not its own
    expect(existsSync(built.manifest)).toBe(true);
  });
});

describe('import validation heartbeats within a large file', () => {
  it('a file of many rows heartbeats many times while it is read and parsed, not once after it', async () => {
    const cfg = testPipelineConfig({ importMaxFileBytes: 64 * 1024 * 1024 });
    const src = join(cfg.importRoot, 'big');
    mkdirSync(src);
    const rows = 60_000;
    const line = (i: number) => JSON.stringify({ id: `r${i}`, title: `row ${i} ${'x'.repeat(20)}` });
    writeFileSync(join(src, 'big.jsonl'), Array.from({ length: rows }, (_, i) => line(i)).join('\n') + '\n');
    let beats = 0;
    const result = await runWithHeartbeats(
      (n) => (beats = n),
      importValidate,
      cfg,
      unusedClient,
      activityJob('dataImport', 'validate'),
      { sourceDir: 'big' },
    );
    expect(result.totals.validRows).toBe(rows);
    // One file: at least one heartbeat per HEARTBEAT_EVERY_ROWS (2000) rows, plus the reads.
    expect(beats).toBeGreaterThanOrEqual(rows / 2000);
  });
});

describe('data files are private whatever the umask', () => {
  let umask: number;
  beforeAll(() => {
    umask = process.umask(0);
  });
  afterAll(() => {
    process.umask(umask);
  });
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('the import index, normalized batches, scratch folders and datasets: folders 0700, files 0600', async () => {
    const base = testPipelineConfig();
    const cfg = { ...base, indexDbPath: join(dirname(base.indexDbPath), 'index', 'index.sqlite') };
    mkdirSync(join(cfg.importRoot, 'm'));
    writeFileSync(join(cfg.importRoot, 'm', 'a.jsonl'), '{"id":"m1","title":"one"}\n');
    const v = await runActivity(importValidate, cfg, unusedClient, activityJob('dataImport', 'validate'), {
      sourceDir: 'm',
    });
    await runActivity(importNormalize, cfg, unusedClient, activityJob('dataImport', 'normalize'), {
      importId: 'imp-1',
      sourceDir: v.sourceDir,
      files: ['a.jsonl'],
      batch: 0,
    });
    const work = jobWorkDir(cfg.workDir, 'import', 'imp-1');
    expect(mode(work)).toBe(0o700);
    expect(mode(join(work, 'batch-000000.jsonl'))).toBe(0o600);
    await runActivity(importIndex, cfg, unusedClient, activityJob('dataImport', 'index'), {
      importId: 'imp-1',
      batches: 1,
    });
    expect(mode(dirname(cfg.indexDbPath))).toBe(0o700);
    for (const f of readdirSync(dirname(cfg.indexDbPath)).filter((n) => n.startsWith('index.sqlite'))) {
      expect([f, mode(join(dirname(cfg.indexDbPath), f))]).toEqual([f, 0o600]);
    }

    const d = downloaded(testPipelineConfig());
    const built = await runActivity(
      datasetStore,
      d.cfg,
      activityJob('datasetBuild', 'store'),
      storeArgs(d.workId, 'sets/private', [d.item]),
    );
    expect(mode(d.cfg.datasetRoot)).toBe(0o700);
    expect(mode(built.outputDir)).toBe(0o700);
    expect(mode(built.manifest)).toBe(0o600);
    const image = readdirSync(built.outputDir, { recursive: true })
      .map(String)
      .find((p) => p.endsWith('.png'))!;
    expect(mode(join(built.outputDir, image))).toBe(0o600);
    expect(mode(dirname(join(built.outputDir, image)))).toBe(0o700);
  });

  it('the audit trail: audit.sqlite and its -wal / -shm files 0600 in a 0700 folder', () => {
    const dir = join(testPipelineConfig().workDir, '..', 'audit');
    const store = new AuditStore(join(dir, 'audit.sqlite'));
    try {
      expect(mode(dir)).toBe(0o700);
      const files = readdirSync(dir);
      expect(files).toContain('audit.sqlite');
      for (const f of files) expect([f, mode(join(dir, f))]).toEqual([f, 0o600]);
    } finally {
      store.close();
    }
  });

  it("the cluster's PostgreSQL password: generated per data folder, 0600, reused; the server config 0600", () => {
    const base = join(testPipelineConfig().workDir, '..', 'cluster');
    const file = join(base, 'secrets', 'postgres-temporal-password');
    const password = loadOrCreatePassword(file);
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(password).not.toBe('temporal');
    expect(mode(file)).toBe(0o600);
    expect(mode(dirname(file))).toBe(0o700);
    expect(loadOrCreatePassword(file)).toBe(password); // reused on restart
    const other = join(
      testPipelineConfig().workDir,
      '..',
      'cluster',
      'secrets',
      'postgres-temporal-password',
    );
    expect(loadOrCreatePassword(other)).not.toBe(password); // one per data folder

    const configDir = join(base, 'config', 'temporal');
    const config = writeServerConfig({
      tools: {} as ClusterTools,
      configDir,
      port: 7233,
      postgresPort: 5433,
      postgresPassword: () => password,
      namespace: 'default',
      onLine: () => undefined,
    });
    expect(mode(configDir)).toBe(0o700);
    expect(mode(config)).toBe(0o600);
    const text = readFileSync(config, 'utf8');
    expect(text).toContain(`password: "${password}"`);
    expect(text).not.toMatch(/password: "?temporal"?$/m);
  });
});
