/**
 * datasetBuild activities: download sources into the job's scratch folder, validate them as
 * images from their headers, find identical files by content hash, read structural metadata,
 * label, and store the dataset folder with its `manifest.json`. An item that fails a stage is
 * rejected with a reason and the build goes on; only a problem with the job itself fails a step.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { RE2JS } from 're2js';
import type { ActivityJobRef } from '../../workflows/engine/step-io';
import type { JobLogLine } from '../../workflows/contracts';
import {
  IMAGE_FORMATS,
  LABEL_PATTERN,
  type DatasetActivities,
  type DatasetCounts,
  type DatasetDedupeArgs,
  type DatasetDedupeResult,
  type DatasetDownloadArgs,
  type DatasetDownloadResult,
  type DatasetLabelArgs,
  type DatasetLabelResult,
  type DatasetMetadataArgs,
  type DatasetMetadataResult,
  type DatasetStoreArgs,
  type DatasetStoreResult,
  type DatasetValidateArgs,
  type DatasetValidateResult,
  type DownloadedItem,
  type ImageItem,
  type LabelRule,
  type RejectedItem,
  type StoreItem,
} from '../../workflows/jobs/dataset-build-contracts';
import { jobLog } from '../../src/activity/log';
import {
  DIR_MODE,
  jobWorkDir,
  mkdirPrivate,
  PATH_REFUSED,
  pathRefused,
  resolveExistingInside,
  resolveFolderTarget,
  type FolderTarget,
} from '../paths';
import type { PipelineConfig } from '../pipeline-config';
import { ProgressReporter } from '../../src/activity/progress';
import { createPrivateFile, openInside, readBounded, writePrivateFile, type OpenedFile } from '../safe-open';
import { DownloadError, downloadWithRetries } from './download';
import { readImageHeader, readImageMetadata } from './image-header';
import {
  acquireLock,
  DATASET_FILE,
  DEFAULT_LEASE,
  publish,
  refuseLinks,
  stagingPath,
  type HeldLock,
  type LeaseOptions,
} from './store';

type Log = Omit<JobLogLine, 'at' | 'step'>;
/** Rejection log lines returned per step; the manifest lists every rejection. */
const MAX_REJECT_LOGS = 50;

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);
const downloadsDir = (cfg: PipelineConfig, workId: string): string =>
  join(jobWorkDir(cfg.workDir, 'dataset', workId), 'downloads');

/**
 * What `datasetDownload` names the files it writes into the job's scratch folder. A later step's
 * argument comes from an earlier step's result, which anyone who can reach Temporal can forge
 * (`temporal activity complete --result …`, a recovery run's carried results): every name it
 * carries is checked against this before it is joined to a path.
 */
export const ITEM_FILE = /^item-\d{1,9}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** Error type of a step argument no step of this job could have produced. */
export const INVALID_STEP_RESULT = 'InvalidStepResult';

function invalidItem(what: string, i: number, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${what}[${i}] ${why}; refused (not a result this job's earlier steps produce)`,
    INVALID_STEP_RESULT,
  );
}

/** Checks what every step after the download reads from an item: its index and its file name. */
function checkDownloaded(what: string, items: DownloadedItem[]): void {
  items.forEach((item, i) => {
    if (!Number.isInteger(item.index) || item.index < 0) throw invalidItem(what, i, 'has no valid index');
    if (typeof item.file !== 'string' || !ITEM_FILE.test(item.file)) {
      throw pathRefused(
        `${what}[${i}].file ${JSON.stringify(String(item.file).slice(0, 100))} is not a file name the download step writes (item-<n>); refused`,
      );
    }
  });
}

function checkImages(what: string, items: ImageItem[]): void {
  checkDownloaded(what, items);
  items.forEach((item, i) => {
    if (!(IMAGE_FORMATS as readonly string[]).includes(item.format)) {
      throw invalidItem(what, i, `has an unknown format ${JSON.stringify(String(item.format).slice(0, 20))}`);
    }
    if (
      !Number.isInteger(item.width) ||
      !Number.isInteger(item.height) ||
      item.width < 1 ||
      item.height < 1
    ) {
      throw invalidItem(what, i, 'has invalid dimensions');
    }
  });
}

/** The job's downloads folder as a real path (it must exist: the download step made it). */
async function realDownloads(cfg: PipelineConfig, workId: string): Promise<string> {
  return realpath(downloadsDir(cfg, workId));
}

/**
 * Opens an item's file in the downloads folder `realDir` through {@link openInside}: a regular
 * file inside the folder, never through a link, and no larger than the worker's own download
 * limit (STEPWISE_DOWNLOAD_MAX_BYTES) whatever the argument says about it.
 */
async function openItem(cfg: PipelineConfig, realDir: string, item: DownloadedItem): Promise<OpenedFile> {
  const opened = await openInside(realDir, join(realDir, item.file), 'item file');
  if (opened.stat.size > cfg.download.maxBytes) {
    await opened.fh.close();
    throw pathRefused(
      `item file ${item.file} is ${opened.stat.size} bytes, over the ${cfg.download.maxBytes}-byte limit (STEPWISE_DOWNLOAD_MAX_BYTES): not a file the download step wrote`,
    );
  }
  return opened;
}

async function readItem(cfg: PipelineConfig, realDir: string, item: DownloadedItem): Promise<Buffer> {
  const { fh } = await openItem(cfg, realDir, item);
  try {
    return (await readBounded(fh, cfg.download.maxBytes, () => Context.current().heartbeat())).data;
  } finally {
    await fh.close();
  }
}

function rejectLogs(rejected: RejectedItem[]): Log[] {
  const logs: Log[] = rejected.slice(0, MAX_REJECT_LOGS).map((r) => ({
    level: 'warn',
    message: `Rejected ${r.source} at ${r.stage}: ${r.reason}`,
    entity: { tag: `source#${r.index + 1}`, route: r.source },
  }));
  if (rejected.length > MAX_REJECT_LOGS) {
    logs.push({ level: 'warn', message: `${rejected.length - MAX_REJECT_LOGS} more rejections not listed` });
  }
  return logs;
}

/** The activities of `datasetBuild`. */
export function createDatasetActivities(cfg: PipelineConfig, client: Client): DatasetActivities {
  return {
    datasetDownload: (job, args) => datasetDownload(cfg, client, job, args),
    datasetValidate: (job, args) => datasetValidate(cfg, job, args),
    datasetDedupe: (job, args) => datasetDedupe(cfg, job, args),
    datasetMetadata: (job, args) => datasetMetadata(cfg, job, args),
    datasetLabel: (job, args) => datasetLabel(job, args),
    datasetStore: (job, args) => datasetStore(cfg, job, args),
  };
}

/** Runs `fn` over `items` with at most `limit` at once, preserving order in the result. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export async function datasetDownload(
  cfg: PipelineConfig,
  client: Client,
  job: ActivityJobRef,
  args: DatasetDownloadArgs,
): Promise<DatasetDownloadResult> {
  const ctx = Context.current();
  const dir = downloadsDir(cfg, args.workId);
  await mkdirPrivate(dir);
  const realImportRoot = await realpath(cfg.importRoot).catch(() => null);
  const reporter = new ProgressReporter(client, job);
  const log = jobLog(job);
  const limits = { ...cfg.download };
  // Its own bound, from this worker's settings and this job's sources: every item ends within its
  // deadline, so the step ends within ceil(sources / concurrency) deadlines.
  const lanes = Math.max(1, Math.min(cfg.download.concurrency, args.sources.length));
  const worstMs = Math.ceil(args.sources.length / lanes) * cfg.download.timeoutMs;
  const stepMs = ctx.info.startToCloseTimeoutMs;
  if (stepMs > 0 && worstMs > stepMs) {
    log.warn(
      `${args.sources.length} sources may take up to ${worstMs} ms (STEPWISE_DOWNLOAD_TIMEOUT_MS × sources / ` +
        `STEPWISE_DOWNLOAD_CONCURRENCY), longer than the step's ${stepMs} ms timeout; a retry keeps finished items`,
      { worstMs, stepMs },
    );
  }
  let done = 0;
  type Outcome = { ok: DownloadedItem } | { rejected: RejectedItem };
  const outcomes = await pool(
    args.sources,
    cfg.download.concurrency,
    async (source, index): Promise<Outcome> => {
      const file = `item-${String(index).padStart(5, '0')}`;
      const dest = join(dir, file);
      const metaPath = `${dest}.json`;
      const reject = (reason: string): Outcome => ({
        rejected: { index, source, stage: 'download', reason },
      });
      try {
        // A retried or recovered step keeps what an earlier attempt finished.
        const previous = await readFile(metaPath, 'utf8').then(
          (t) => JSON.parse(t) as DownloadedItem,
          () => null,
        );
        if (previous && previous.source === source && previous.file === file && previous.index === index) {
          return { ok: previous };
        }
        let item: DownloadedItem;
        if (isUrl(source)) {
          const got = await downloadWithRetries(source, dest, limits, (ms) => ctx.sleep(ms), {
            cancel: ctx.cancellationSignal,
            // A temporary file per step attempt and item attempt: `<item>.part-<step>-<n>`.
            attemptTag: `${job.attempt}-`,
            onData: () => reporter.heartbeat(),
            onRetry: (attempt, err) =>
              log.warn('download attempt failed; retrying', { source, attempt, error: err.message }),
          });
          item = { index, source, file, bytes: got.bytes, contentType: got.contentType };
        } else {
          const real = await resolveExistingInside(cfg.importRoot, source, 'source');
          // Read as opened, not by name: a link swapped in after the check is not followed.
          const { fh, stat: st } = await openInside(realImportRoot ?? cfg.importRoot, real, 'source');
          try {
            if (st.size > cfg.download.maxBytes) {
              return reject(`is ${st.size} bytes, over the ${cfg.download.maxBytes}-byte limit`);
            }
            const { data, truncated } = await readBounded(fh, cfg.download.maxBytes, () =>
              reporter.heartbeat(),
            );
            if (truncated) return reject(`grew over the ${cfg.download.maxBytes}-byte limit while read`);
            await writePrivateFile(dest, data);
            item = { index, source, file, bytes: data.length, contentType: null };
          } finally {
            await fh.close();
          }
        }
        await writePrivateFile(metaPath, JSON.stringify(item));
        return { ok: item };
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        if (err instanceof DownloadError || (err as { type?: string }).type === PATH_REFUSED) {
          return reject((err as Error).message);
        }
        throw err;
      } finally {
        done++;
        await reporter.report(
          (done / args.sources.length) * 100,
          `Downloaded ${done}/${args.sources.length}`,
        );
      }
    },
  );
  const downloaded = outcomes.flatMap((o) => ('ok' in o ? [o.ok] : []));
  const rejected = outcomes.flatMap((o) => ('rejected' in o ? [o.rejected] : []));
  log.info('dataset sources downloaded', { downloaded: downloaded.length, rejected: rejected.length });
  return reporter.finish({
    downloaded,
    rejected,
    stats: { itemsProcessed: downloaded.length, itemsFailed: rejected.length },
    logs: [
      { level: 'info', message: `Downloaded ${downloaded.length} of ${args.sources.length} sources` },
      ...rejectLogs(rejected),
    ],
  });
}

export async function datasetValidate(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetValidateArgs,
): Promise<DatasetValidateResult> {
  checkDownloaded('items', args.items);
  const dir = await realDownloads(cfg, args.workId);
  const images: ImageItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const item of args.items) {
    Context.current().heartbeat();
    const reject = (reason: string) =>
      rejected.push({ index: item.index, source: item.source, stage: 'validate', reason });
    const buf = await readItem(cfg, dir, item);
    const info = readImageHeader(buf);
    if (!info) {
      // Never quote the content: it is whatever a remote server sent.
      reject(
        `not a PNG, JPEG, GIF or WebP image (${buf.length === 0 ? 'empty file' : 'unrecognized header'})`,
      );
    } else if (info.width < 1 || info.height < 1) {
      reject(`${info.format} with invalid dimensions ${info.width}×${info.height}`);
    } else if (info.width * info.height > cfg.imageMaxPixels) {
      reject(
        `${info.format} of ${info.width}×${info.height} has more than ${cfg.imageMaxPixels} pixels (STEPWISE_IMAGE_MAX_PIXELS)`,
      );
    } else {
      images.push({ ...item, ...info });
    }
  }
  jobLog(job).info('dataset images validated', { valid: images.length, rejected: rejected.length });
  return {
    images,
    rejected,
    stats: { itemsFailed: rejected.length },
    logs: [
      { level: 'info', message: `${images.length} valid images, ${rejected.length} rejected` },
      ...rejectLogs(rejected),
    ],
  };
}

/** SHA-256 of an item's file, read as {@link openItem} opens it. */
async function sha256Item(cfg: PipelineConfig, realDir: string, item: DownloadedItem): Promise<string> {
  const { fh } = await openItem(cfg, realDir, item);
  const h = createHash('sha256');
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

export async function datasetDedupe(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetDedupeArgs,
): Promise<DatasetDedupeResult> {
  checkImages('images', args.images);
  const dir = await realDownloads(cfg, args.workId);
  const firstByHash = new Map<string, ImageItem>();
  const unique: DatasetDedupeResult['unique'] = [];
  const duplicates: RejectedItem[] = [];
  for (const img of [...args.images].sort((a, b) => a.index - b.index)) {
    Context.current().heartbeat();
    const sha256 = await sha256Item(cfg, dir, img);
    const first = firstByHash.get(sha256);
    if (first) {
      duplicates.push({
        index: img.index,
        source: img.source,
        stage: 'deduplicate',
        reason: `duplicate of ${first.source} (sha256 ${sha256.slice(0, 16)}…)`,
      });
    } else {
      firstByHash.set(sha256, img);
      unique.push({ index: img.index, sha256 });
    }
  }
  jobLog(job).info('dataset images deduplicated', { unique: unique.length, duplicates: duplicates.length });
  return {
    unique,
    duplicates,
    stats: { itemsFailed: duplicates.length },
    logs: [
      { level: 'info', message: `${unique.length} unique images, ${duplicates.length} duplicates removed` },
      ...rejectLogs(duplicates),
    ],
  };
}

export async function datasetMetadata(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetMetadataArgs,
): Promise<DatasetMetadataResult> {
  checkImages('images', args.images);
  const dir = await realDownloads(cfg, args.workId);
  const metadata: DatasetMetadataResult['metadata'] = [];
  for (const img of args.images) {
    Context.current().heartbeat();
    const buf = await readItem(cfg, dir, img);
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    const g = gcd(img.width, img.height);
    metadata.push({
      index: img.index,
      meta: {
        ...readImageMetadata(buf, img.format),
        aspectRatio: `${img.width / g}:${img.height / g}`,
        megapixels: Math.round((img.width * img.height) / 10_000) / 100,
      },
    });
  }
  jobLog(job).info('dataset metadata extracted', { images: metadata.length });
  return { metadata };
}

type LabelItem = DatasetLabelArgs['items'][number];

/**
 * The labelling function of `rule`. Source patterns run on RE2 (`re2js`): matching takes time
 * linear in the source's length whatever the pattern, so no pattern can stall the worker. The
 * input schema already refused patterns RE2 cannot compile; one that slips through (an input
 * validated by an older schema) fails the step with a non-retryable `InvalidLabelRule`.
 */
export function compileLabelRule(rule: LabelRule): (item: LabelItem) => string {
  switch (rule.by) {
    case 'format':
      return (item) => item.format;
    case 'orientation':
      return (item) =>
        item.width > item.height ? 'landscape' : item.width < item.height ? 'portrait' : 'square';
    case 'fixed':
      return () => rule.label;
    case 'source': {
      const rules = rule.rules.map((r, i) => {
        try {
          return { re: RE2JS.compile(r.pattern), label: r.label };
        } catch (err) {
          throw ApplicationFailure.nonRetryable(
            `labelRule.rules[${i}].pattern is not a supported RE2 regular expression: ${(err as Error).message}`,
            'InvalidLabelRule',
          );
        }
      });
      return (item) => rules.find((r) => r.re.test(item.source))?.label ?? rule.default;
    }
  }
}

export function applyLabelRule(rule: LabelRule, item: LabelItem): string {
  return compileLabelRule(rule)(item);
}

export async function datasetLabel(job: ActivityJobRef, args: DatasetLabelArgs): Promise<DatasetLabelResult> {
  const label = compileLabelRule(args.rule);
  const labels = args.items.map((item, i) => {
    if (i % 100 === 0) Context.current().heartbeat();
    return { index: item.index, label: label(item) };
  });
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l.label] = (counts[l.label] ?? 0) + 1;
  jobLog(job).info('dataset images labelled', { rule: args.rule.by, counts });
  return { labels, counts };
}

const EXT = { png: 'png', jpeg: 'jpg', gif: 'gif', webp: 'webp' } as const;

/**
 * Writes the dataset folder: locked against other builds, built in a staging folder and moved
 * into place by renames, replacing only what the previous manifest owned (see `store.ts`).
 */
export async function datasetStore(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetStoreArgs,
  lease: Partial<LeaseOptions> = {},
): Promise<DatasetStoreResult> {
  const ctx = Context.current();
  checkStoreItems(args.items);
  const target = await resolveFolderTarget(cfg.datasetRoot, args.outputDir, 'outputDir');
  const lock = await acquireLock(target, job.jobId, job.attempt, args.outputDir, {
    ...DEFAULT_LEASE,
    wait: (ms) => ctx.sleep(ms),
    heartbeat: () => ctx.heartbeat(),
    ...lease,
  });
  try {
    if (target.exists) await refuseLinks(target.path, args.outputDir);
    const staging = stagingPath(target, job.jobId, lock.token);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { mode: DIR_MODE });
    try {
      return await stageAndPublish(cfg, job, args, target, staging, lock, () => ctx.heartbeat());
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await lock.release();
  }
}

/** The store's items: downloaded images, with a label that is a safe folder name and a SHA-256. */
function checkStoreItems(items: DatasetStoreArgs['items']): void {
  checkImages('items', items);
  items.forEach((item, i) => {
    if (typeof item.label !== 'string' || !LABEL_PATTERN.test(item.label)) {
      throw pathRefused(
        `items[${i}].label ${JSON.stringify(String(item.label).slice(0, 100))} is not a label (${LABEL_PATTERN.source}); refused`,
      );
    }
    if (typeof item.sha256 !== 'string' || !SHA256.test(item.sha256)) {
      throw invalidItem('items', i, 'has no valid sha256');
    }
  });
}

/**
 * Copies an item's file into the staging folder (mode 0600), checking on the way that its content
 * is the SHA-256 the deduplicate step recorded: the dataset's file names are that hash.
 */
async function stageItem(cfg: PipelineConfig, realDir: string, item: StoreItem, dest: string): Promise<void> {
  const { fh } = await openItem(cfg, realDir, item);
  const out = await createPrivateFile(dest);
  const h = createHash('sha256');
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) {
      h.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
  } finally {
    await out.close();
    await fh.close();
  }
  if (h.digest('hex') !== item.sha256) {
    throw ApplicationFailure.nonRetryable(
      `item file ${item.file} does not have the content its sha256 says; refused`,
      INVALID_STEP_RESULT,
    );
  }
}

async function stageAndPublish(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetStoreArgs,
  target: FolderTarget,
  staging: string,
  lock: HeldLock,
  heartbeat: () => void,
): Promise<DatasetStoreResult> {
  const out = target.path;
  const dir = await realDownloads(cfg, args.workId);
  const items = [...args.items].sort((a, b) => a.index - b.index);
  const entries = [];
  for (const item of items) {
    heartbeat();
    // Named by content: storing again (a retried step) writes the same files.
    const file = `images/${item.label}/${item.sha256.slice(0, 16)}.${EXT[item.format]}`;
    if (!DATASET_FILE.test(file)) throw pathRefused(`dataset file ${file} is not a dataset path; refused`);
    await mkdirPrivate(join(staging, 'images', item.label));
    await stageItem(cfg, dir, item, join(staging, file));
    entries.push({
      file,
      source: item.source,
      sha256: item.sha256,
      format: item.format,
      mimeType: item.mimeType,
      width: item.width,
      height: item.height,
      bytes: item.bytes,
      label: item.label,
      metadata: item.meta,
    });
  }
  const rejected = [...args.rejected].sort((a, b) => a.index - b.index);
  const counts: DatasetCounts = {
    sources: args.sources,
    downloaded: args.sources - rejected.filter((r) => r.stage === 'download').length,
    valid: args.sources - rejected.filter((r) => r.stage === 'download' || r.stage === 'validate').length,
    duplicates: rejected.filter((r) => r.stage === 'deduplicate').length,
    stored: entries.length,
    rejected: rejected.length,
  };
  const labels: Record<string, number> = {};
  for (const e of entries) labels[e.label] = (labels[e.label] ?? 0) + 1;
  const manifest = {
    version: 1,
    jobId: job.jobId,
    createdAt: new Date().toISOString(),
    labelRule: args.labelRule,
    counts,
    labels,
    items: entries,
    rejected: rejected.map(({ source, stage, reason }) => ({ source, stage, reason })),
  };
  await writePrivateFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const { removed } = await publish(target, staging, entries, args.outputDir, heartbeat, lock);
  jobLog(job).info('dataset stored', { outputDir: out, ...counts, removed });
  return {
    outputDir: out,
    manifest: join(out, 'manifest.json'),
    counts,
    stats: { itemsCreated: entries.length },
    logs: [
      {
        level: 'info',
        message:
          `Stored ${entries.length} images and manifest.json in ${out}` +
          (removed > 0 ? `; removed ${removed} images of the previous build` : ''),
      },
    ],
  };
}
