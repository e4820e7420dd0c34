/**
 * datasetBuild activities: download sources into the job's scratch folder, validate them as
 * images from their headers, find identical files by content hash, read structural metadata,
 * label, and store the dataset folder with its `manifest.json`. An item that fails a stage is
 * rejected with a reason and the build goes on; only a problem with the job itself fails a step.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { RE2JS } from 're2js';
import type { ActivityJobRef } from '../../workflows/engine/step-io';
import type { JobLogLine } from '../../workflows/contracts';
import type {
  DatasetActivities,
  DatasetCounts,
  DatasetDedupeArgs,
  DatasetDedupeResult,
  DatasetDownloadArgs,
  DatasetDownloadResult,
  DatasetLabelArgs,
  DatasetLabelResult,
  DatasetMetadataArgs,
  DatasetMetadataResult,
  DatasetStoreArgs,
  DatasetStoreResult,
  DatasetValidateArgs,
  DatasetValidateResult,
  DownloadedItem,
  ImageItem,
  LabelRule,
  RejectedItem,
} from '../../workflows/jobs/dataset-build-contracts';
import { jobLog } from '../log';
import { jobWorkDir, resolveExistingInside, resolveFolderTarget, type FolderTarget } from '../paths';
import type { PipelineConfig } from '../pipeline-config';
import { ProgressReporter } from '../progress';
import { DownloadError, downloadWithRetries } from './download';
import { readImageHeader, readImageMetadata } from './image-header';
import { acquireLock, publish, refuseLinks, stagingPath } from './store';

type Log = Omit<JobLogLine, 'at' | 'step'>;
/** Rejection log lines returned per step; the manifest lists every rejection. */
const MAX_REJECT_LOGS = 50;

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);
const downloadsDir = (cfg: PipelineConfig, workId: string): string =>
  join(jobWorkDir(cfg.workDir, 'dataset', workId), 'downloads');

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
  await mkdir(dir, { recursive: true });
  const reporter = new ProgressReporter(client, job);
  const log = jobLog(job);
  const limits = { ...cfg.download };
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
        if (previous && previous.source === source) return { ok: previous };
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
          const st = await stat(real);
          if (!st.isFile()) return reject('is not a file');
          if (st.size > cfg.download.maxBytes) {
            return reject(`is ${st.size} bytes, over the ${cfg.download.maxBytes}-byte limit`);
          }
          await copyFile(real, dest);
          item = { index, source, file, bytes: st.size, contentType: null };
        }
        await writeFile(metaPath, JSON.stringify(item));
        return { ok: item };
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        if (err instanceof DownloadError || (err as { type?: string }).type === 'PathRefused') {
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
  const dir = downloadsDir(cfg, args.workId);
  const images: ImageItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const item of args.items) {
    Context.current().heartbeat();
    const reject = (reason: string) =>
      rejected.push({ index: item.index, source: item.source, stage: 'validate', reason });
    const buf = await readFile(join(dir, item.file));
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

function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

export async function datasetDedupe(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetDedupeArgs,
): Promise<DatasetDedupeResult> {
  const dir = downloadsDir(cfg, args.workId);
  const firstByHash = new Map<string, ImageItem>();
  const unique: DatasetDedupeResult['unique'] = [];
  const duplicates: RejectedItem[] = [];
  for (const img of [...args.images].sort((a, b) => a.index - b.index)) {
    Context.current().heartbeat();
    const sha256 = await sha256File(join(dir, img.file));
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
  const dir = downloadsDir(cfg, args.workId);
  const metadata: DatasetMetadataResult['metadata'] = [];
  for (const img of args.images) {
    Context.current().heartbeat();
    const buf = await readFile(join(dir, img.file));
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
  const labels = args.items.map((item) => ({ index: item.index, label: label(item) }));
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
): Promise<DatasetStoreResult> {
  const ctx = Context.current();
  const target = await resolveFolderTarget(cfg.datasetRoot, args.outputDir, 'outputDir');
  const release = await acquireLock(target, job.jobId, args.outputDir);
  try {
    if (target.exists) await refuseLinks(target.path, args.outputDir);
    const staging = stagingPath(target, job.jobId);
    await rm(staging, { recursive: true, force: true }); // an earlier attempt's leftovers
    await mkdir(staging);
    try {
      const result = await stageAndPublish(cfg, job, args, target, staging, () => ctx.heartbeat());
      return result;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await release();
  }
}

async function stageAndPublish(
  cfg: PipelineConfig,
  job: ActivityJobRef,
  args: DatasetStoreArgs,
  target: FolderTarget,
  staging: string,
  heartbeat: () => void,
): Promise<DatasetStoreResult> {
  const out = target.path;
  const dir = downloadsDir(cfg, args.workId);
  const items = [...args.items].sort((a, b) => a.index - b.index);
  const entries = [];
  for (const item of items) {
    heartbeat();
    // Named by content: storing again (a retried step) writes the same files.
    const file = `images/${item.label}/${item.sha256.slice(0, 16)}.${EXT[item.format]}`;
    await mkdir(join(staging, 'images', item.label), { recursive: true });
    await copyFile(join(dir, item.file), join(staging, file));
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
  await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const { removed } = await publish(target, staging, entries, args.outputDir, heartbeat);
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
