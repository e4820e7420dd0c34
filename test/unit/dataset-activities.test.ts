/**
 * datasetBuild's activities on real files, against a local HTTP server on 127.0.0.1, in a mock
 * activity context (no Temporal server needed).
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyLabelRule,
  datasetDedupe,
  datasetDownload,
  datasetMetadata,
  datasetStore,
  datasetValidate,
} from '../../activities/dataset/activities';
import { contentTypeAllowed } from '../../activities/dataset/download';
import { activityJob, runActivity, unusedClient } from '../activity-env';
import { testPipelineConfig } from '../helpers';
import { gifImage, jpegImage, pngImage, serveFixtures, type FixtureServer } from '../pipeline-fixtures';

const job = (step: string) => activityJob('datasetBuild', step);
let server: FixtureServer;
const png = pngImage(40, 30, 1);

beforeAll(async () => {
  server = await serveFixtures({
    '/a.png': { body: png, type: 'image/png' },
    '/same-as-a.png': { body: png, type: 'image/png' },
    '/b.jpg': { body: jpegImage(320, 640), type: 'image/jpeg' },
    '/flaky.gif': { body: gifImage(16, 16), type: 'image/gif', failFirst: 2 },
    '/down.gif': { body: gifImage(16, 16), type: 'image/gif', failFirst: 99 },
    '/page.html': { body: '<!doctype html><p>not an image</p>', type: 'text/html; charset=utf-8' },
    '/fake.png': { body: 'plain text pretending', type: 'image/png' },
    '/huge.png': { body: Buffer.alloc(300 * 1024, 1), type: 'image/png', chunked: true },
    '/huge-declared.png': { body: Buffer.alloc(300 * 1024, 1), type: 'image/png' },
  });
});
afterAll(() => server?.close());

describe('contentTypeAllowed', () => {
  it('matches exact types and type/* wildcards', () => {
    expect(contentTypeAllowed('image/png', ['image/*'])).toBe(true);
    expect(contentTypeAllowed('text/html', ['image/*', 'application/octet-stream'])).toBe(false);
    expect(contentTypeAllowed('application/octet-stream', ['image/*', 'application/octet-stream'])).toBe(
      true,
    );
  });
});

describe('datasetDownload', () => {
  it('downloads with retries and limits, rejecting each failing item with its reason', async () => {
    const cfg = testPipelineConfig({
      download: {
        maxBytes: 200 * 1024,
        concurrency: 3,
        attempts: 3,
        timeoutMs: 5000,
        contentTypes: ['image/*'],
      },
    });
    mkdirSync(join(cfg.importRoot, 'local'));
    writeFileSync(join(cfg.importRoot, 'local', 'c.gif'), gifImage(8, 4));
    writeFileSync(join(cfg.importRoot, '..', 'outside.png'), png);
    symlinkSync(join(cfg.importRoot, '..', 'outside.png'), join(cfg.importRoot, 'local', 'link.png'));
    const sources = [
      server.url('/a.png'),
      server.url('/flaky.gif'),
      server.url('/down.gif'),
      server.url('/page.html'),
      server.url('/missing.png'),
      server.url('/huge.png'),
      server.url('/huge-declared.png'),
      'local/c.gif',
      'local/link.png',
      'local/none.png',
    ];
    const r = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
      workId: 'w1',
      sources,
    });
    expect(r.downloaded.map((d) => [d.index, d.bytes, d.contentType])).toEqual([
      [0, png.length, 'image/png'],
      [1, gifImage(16, 16).length, 'image/gif'],
      [7, gifImage(8, 4).length, null],
    ]);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.index, x.reason]));
    expect(reasons).toEqual({
      2: 'HTTP 503 Service Unavailable (after 3 attempts)',
      3: 'content type "text/html" is not accepted (accepted: image/*)',
      4: 'HTTP 404 Not Found',
      5: `exceeded the ${200 * 1024}-byte limit; transfer aborted`,
      6: `is ${300 * 1024} bytes (Content-Length), over the ${200 * 1024}-byte limit`,
      8: expect.stringMatching(/^source "local\/link.png" resolves outside the allowed root/),
      9: 'source "local/none.png" does not exist',
    });
    expect(r.rejected.every((x) => x.stage === 'download')).toBe(true);
    expect(server.hits.get('/flaky.gif')).toBe(3); // two 503s, then success
    expect(server.hits.get('/down.gif')).toBe(3);
    expect(server.hits.get('/missing.png')).toBe(1); // a 404 is not retried
    expect(r.logs!.filter((l) => l.level === 'warn')).toHaveLength(7);

    // A retried step reuses what was downloaded.
    const before = server.hits.get('/a.png');
    const again = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
      workId: 'w1',
      sources,
    });
    expect(again.downloaded).toEqual(r.downloaded);
    expect(server.hits.get('/a.png')).toBe(before);
  });
});

describe('validate → dedupe / metadata → store', () => {
  it('rejects non-images, finds identical files and writes a dataset with its manifest', async () => {
    const cfg = testPipelineConfig();
    const sources = [
      server.url('/a.png'),
      server.url('/b.jpg'),
      server.url('/same-as-a.png'),
      server.url('/fake.png'),
    ];
    const dl = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
      workId: 'w2',
      sources,
    });
    expect(dl.downloaded).toHaveLength(4);
    const v = await runActivity(datasetValidate, cfg, job('validate'), {
      workId: 'w2',
      items: dl.downloaded,
    });
    expect(v.images.map((i) => [i.index, i.format, i.width, i.height])).toEqual([
      [0, 'png', 40, 30],
      [1, 'jpeg', 320, 640],
      [2, 'png', 40, 30],
    ]);
    expect(v.rejected).toEqual([
      {
        index: 3,
        source: sources[3],
        stage: 'validate',
        reason: 'not a PNG, JPEG, GIF or WebP image (starts with 70 6c 61 69 6e 20 74 65)',
      },
    ]);
    const d = await runActivity(datasetDedupe, cfg, job('dedupe'), { workId: 'w2', images: v.images });
    expect(d.unique.map((u) => u.index)).toEqual([0, 1]);
    expect(d.duplicates).toEqual([
      expect.objectContaining({
        index: 2,
        stage: 'deduplicate',
        reason: expect.stringMatching(/^duplicate of .*\/a\.png/),
      }),
    ]);
    const m = await runActivity(datasetMetadata, cfg, job('metadata'), { workId: 'w2', images: v.images });
    expect(m.metadata.find((x) => x.index === 1)?.meta).toMatchObject({
      aspectRatio: '1:2',
      progressive: false,
    });
    const sha = new Map(d.unique.map((u) => [u.index, u.sha256]));
    const items = v.images
      .filter((i) => sha.has(i.index))
      .map((i) => ({
        ...i,
        sha256: sha.get(i.index)!,
        label: applyLabelRule({ by: 'orientation' }, i),
        meta: m.metadata.find((x) => x.index === i.index)!.meta,
      }));
    const stored = await runActivity(datasetStore, cfg, job('store'), {
      workId: 'w2',
      outputDir: 'sets/one',
      items,
      rejected: [...v.rejected, ...d.duplicates],
      labelRule: { by: 'orientation' },
      sources: sources.length,
    });
    expect(stored.counts).toEqual({
      sources: 4,
      downloaded: 4,
      valid: 3,
      duplicates: 1,
      stored: 2,
      rejected: 2,
    });
    const manifest = JSON.parse(readFileSync(stored.manifest, 'utf8'));
    expect(manifest.items.map((i: { file: string; label: string }) => i.label)).toEqual([
      'landscape',
      'portrait',
    ]);
    expect(manifest.rejected.map((r: { stage: string }) => r.stage)).toEqual(['deduplicate', 'validate']);
    expect(readdirSync(join(stored.outputDir, 'images')).sort()).toEqual(['landscape', 'portrait']);
    expect(readFileSync(join(stored.outputDir, manifest.items[0].file)).equals(png)).toBe(true);
  });

  it('rejects images over the pixel limit, and an outputDir that escapes the dataset root', async () => {
    const cfg = testPipelineConfig({ imageMaxPixels: 1000 });
    const dl = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
      workId: 'w3',
      sources: [server.url('/a.png'), server.url('/b.jpg')],
    });
    const v = await runActivity(datasetValidate, cfg, job('validate'), {
      workId: 'w3',
      items: dl.downloaded,
    });
    expect(v.rejected.map((r) => r.reason)).toEqual([
      'png of 40×30 has more than 1000 pixels (STEPWISE_IMAGE_MAX_PIXELS)',
      'jpeg of 320×640 has more than 1000 pixels (STEPWISE_IMAGE_MAX_PIXELS)',
    ]);
    mkdirSync(cfg.datasetRoot, { recursive: true });
    symlinkSync(join(cfg.datasetRoot, '..'), join(cfg.datasetRoot, 'up'));
    const args = { workId: 'w3', items: [], rejected: [], labelRule: { by: 'format' as const }, sources: 0 };
    await expect(
      runActivity(datasetStore, cfg, job('store'), { ...args, outputDir: '../x' }),
    ).rejects.toMatchObject({
      type: 'PathRefused',
      nonRetryable: true,
    });
    await expect(
      runActivity(datasetStore, cfg, job('store'), { ...args, outputDir: 'up/escaped' }),
    ).rejects.toThrow(/outputDir "up\/escaped" resolves outside the allowed root/);
  });
});

describe('applyLabelRule', () => {
  const item = {
    index: 0,
    source: 'https://x.test/cats/1.png',
    format: 'png' as const,
    width: 10,
    height: 10,
  };
  it('labels by format, orientation, a fixed label or the first matching source rule', () => {
    expect(applyLabelRule({ by: 'format' }, item)).toBe('png');
    expect(applyLabelRule({ by: 'orientation' }, item)).toBe('square');
    expect(applyLabelRule({ by: 'fixed', label: 'all' }, item)).toBe('all');
    const rule = {
      by: 'source' as const,
      rules: [
        { pattern: '/dogs/', label: 'dog' },
        { pattern: '/cats/', label: 'cat' },
      ],
      default: 'other',
    };
    expect(applyLabelRule(rule, item)).toBe('cat');
    expect(applyLabelRule(rule, { ...item, source: 'local/bird.png' })).toBe('other');
  });
});
