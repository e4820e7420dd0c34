/**
 * datasetBuild's activities on real files, against a local HTTP server on 127.0.0.1, in a mock
 * activity context (no Temporal server needed).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
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
import { jobWorkDir } from '../../activities/paths';
import type { PipelineConfig } from '../../activities/pipeline-config';
import { activityJob, runActivity, unusedClient } from '../activity-env';
import { testPipelineConfig } from '../helpers';
import {
  allowLoopbackDownloads,
  gifImage,
  jpegImage,
  pngImage,
  serveFixtures,
  type FixtureServer,
} from '../pipeline-fixtures';

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
    const cfg = allowLoopbackDownloads(
      testPipelineConfig({
        download: {
          maxBytes: 200 * 1024,
          concurrency: 3,
          attempts: 3,
          timeoutMs: 5000,
          contentTypes: ['image/*'],
        },
      }),
    );
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

describe('datasetDownload and the network', () => {
  it('refuses loopback spellings without the opt-in, with the reason, never reaching the server', async () => {
    const cfg = testPipelineConfig();
    const port = new URL(server.url('/')).port;
    const before = server.hits.get('/a.png') ?? 0;
    const sources = [
      `http://127.0.0.1:${port}/a.png`,
      `http://[::1]:${port}/a.png`,
      `http://0x7f000001:${port}/a.png`,
      `http://2130706433:${port}/a.png`,
    ];
    const r = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
      workId: 'w-refused',
      sources,
    });
    expect(r.downloaded).toEqual([]);
    expect(r.rejected.map((x) => x.reason)).toEqual([
      expect.stringMatching(
        /^refused: 127\.0\.0\.1 is a loopback address, in 127\.0\.0\.0\/8; set STEPWISE_DOWNLOAD_ALLOW_PRIVATE=true/,
      ),
      expect.stringMatching(/^refused: ::1 is a loopback address/),
      expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/),
      expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/),
    ]);
    expect(server.hits.get('/a.png') ?? 0).toBe(before);
  });

  it('with the opt-in, still refuses a redirect into an address that is never allowed', async () => {
    const cfg = allowLoopbackDownloads(testPipelineConfig());
    const port = new URL(server.url('/')).port;
    const redirecting = await serveFixtures({
      // 0.0.0.0 reaches this machine: refused even with the opt-in, and safe if it were not
      '/to-zero.png': { body: '', location: `http://0.0.0.0:${port}/a.png` },
      '/to-a.png': { body: '', location: server.url('/a.png') },
    });
    try {
      const r = await runActivity(datasetDownload, cfg, unusedClient, job('download'), {
        workId: 'w-redirect',
        sources: [redirecting.url('/to-zero.png'), redirecting.url('/to-a.png')],
      });
      expect(r.downloaded.map((d) => d.index)).toEqual([1]);
      expect(r.rejected).toEqual([
        expect.objectContaining({
          index: 0,
          stage: 'download',
          reason: `redirect 1 to 0.0.0.0:${port}: refused: 0.0.0.0 is an unspecified ("this network") address, in 0.0.0.0/8; never downloaded from`,
        }),
      ]);
      // no temporary file of any attempt is left behind
      const work = join(cfg.workDir, 'dataset');
      const all = readdirSync(work, { recursive: true }).map(String);
      expect(all.filter((f) => f.includes('.part-'))).toEqual([]);
    } finally {
      await redirecting.close();
    }
  });
});

describe('validate → dedupe / metadata → store', () => {
  it('rejects non-images, finds identical files and writes a dataset with its manifest', async () => {
    const cfg = allowLoopbackDownloads(testPipelineConfig());
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
        reason: 'not a PNG, JPEG, GIF or WebP image (unrecognized header)',
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
    const cfg = allowLoopbackDownloads(testPipelineConfig({ imageMaxPixels: 1000 }));
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

describe('datasetStore: one build per folder, staged, owning only its files', () => {
  /** Store arguments for `images` written straight into the job's downloads folder. */
  function storeArgs(
    cfg: PipelineConfig,
    workId: string,
    outputDir: string,
    images: Buffer[],
    label = 'img',
  ) {
    const dir = join(jobWorkDir(cfg.workDir, 'dataset', workId), 'downloads');
    mkdirSync(dir, { recursive: true });
    const items = images.map((buf, index) => {
      const file = `item-${index}`;
      writeFileSync(join(dir, file), buf);
      return {
        index,
        source: `https://x.test/${workId}/${index}.png`,
        file,
        bytes: buf.length,
        contentType: 'image/png',
        format: 'png' as const,
        mimeType: 'image/png',
        width: 1,
        height: 1,
        sha256: createHash('sha256').update(buf).digest('hex'),
        label,
        meta: {},
      };
    });
    return {
      workId,
      outputDir,
      items,
      rejected: [],
      labelRule: { by: 'format' as const },
      sources: images.length,
    };
  }
  const jobAs = (jobId: string) => ({ ...job('store'), jobId });
  const manifestOf = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      jobId: string;
      items: { file: string }[];
    };
  const tree = (dir: string) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort();
  const imgs = [pngImage(3, 3, 1), pngImage(3, 3, 2), pngImage(3, 3, 3), pngImage(3, 3, 4)];

  it('two builds into one folder at once: the second is refused naming the holder, the first stays intact', async () => {
    const cfg = testPipelineConfig();
    const a = storeArgs(cfg, 'wa', 'sets/shared', imgs.slice(0, 2));
    const b = storeArgs(cfg, 'wb', 'sets/shared', imgs.slice(2, 4));
    const [ra, rb] = await Promise.allSettled([
      runActivity(datasetStore, cfg, jobAs('build-a'), a),
      runActivity(datasetStore, cfg, jobAs('build-b'), b),
    ]);
    const winner = ra.status === 'fulfilled' ? 'build-a' : 'build-b';
    const loser = ra.status === 'fulfilled' ? rb : ra;
    expect([ra.status, rb.status].sort()).toEqual(['fulfilled', 'rejected']);
    const err = (loser as PromiseRejectedResult).reason;
    expect(err).toMatchObject({ type: 'OutputDirBusy', nonRetryable: true });
    expect(err.message).toMatch(
      new RegExp(
        `^outputDir "sets/shared" is being built by job ${winner} \\(pid ${process.pid} on .*\\): one build per folder at a time`,
      ),
    );
    expect(err.message).toMatch(/delete the lock file .*\.shared\.lock/);

    const out = join(cfg.datasetRoot, 'sets', 'shared');
    const manifest = manifestOf(out);
    expect(manifest.jobId).toBe(winner);
    expect(tree(out)).toEqual(['manifest.json', ...manifest.items.map((i) => i.file)].sort());
    // no lock, no staging folder left next to it
    expect(readdirSync(join(cfg.datasetRoot, 'sets'))).toEqual(['shared']);
  });

  it('refuses a build while another job holds the lock, and builds once the lock is gone', async () => {
    const cfg = testPipelineConfig();
    const first = await runActivity(
      datasetStore,
      cfg,
      jobAs('first'),
      storeArgs(cfg, 'w1', 'held', imgs.slice(0, 2)),
    );
    const before = tree(first.outputDir);
    const lock = join(cfg.datasetRoot, '.held.lock');
    writeFileSync(
      lock,
      JSON.stringify({
        jobId: 'crashed-job',
        pid: 4242,
        host: 'elsewhere',
        since: '2026-01-01T00:00:00.000Z',
      }),
    );
    await expect(
      runActivity(datasetStore, cfg, jobAs('second'), storeArgs(cfg, 'w2', 'held', imgs.slice(2, 4))),
    ).rejects.toThrow(
      `outputDir "held" is being built by job crashed-job (pid 4242 on elsewhere, since 2026-01-01T00:00:00.000Z): ` +
        `one build per folder at a time. If that build is no longer running, delete the lock file ${lock} and run this job again.`,
    );
    expect(tree(first.outputDir)).toEqual(before);
    expect(manifestOf(first.outputDir).jobId).toBe('first');

    // the holder's own retry takes its lock over once the lock is stale (not renewed for a minute)
    writeFileSync(lock, JSON.stringify({ jobId: 'second', pid: 1, host: 'old', since: 'x' }));
    const minuteAgo = new Date(Date.now() - 61_000);
    utimesSync(lock, minuteAgo, minuteAgo);
    const second = await runActivity(
      datasetStore,
      cfg,
      jobAs('second'),
      storeArgs(cfg, 'w2', 'held', imgs.slice(2, 4)),
    );
    expect(manifestOf(second.outputDir).jobId).toBe('second');
    expect(existsSync(lock)).toBe(false);
  });

  it('replacing a dataset deletes only the files its manifest listed; other files stay', async () => {
    const cfg = testPipelineConfig();
    const one = await runActivity(
      datasetStore,
      cfg,
      jobAs('one'),
      storeArgs(cfg, 'w1', 'mine', imgs.slice(0, 3)),
    );
    const out = one.outputDir;
    const firstFiles = manifestOf(out).items.map((i) => i.file);
    // Files of someone else's in the same folder, one looking just like a dataset image
    writeFileSync(join(out, 'README.txt'), 'my notes');
    writeFileSync(join(out, 'images', 'img', '0123456789abcdef.png'), 'not listed anywhere');
    const two = await runActivity(
      datasetStore,
      cfg,
      jobAs('two'),
      storeArgs(cfg, 'w2', 'mine', imgs.slice(2, 4)),
    );
    const secondFiles = manifestOf(out).items.map((i) => i.file);
    expect(two.logs?.[0].message).toMatch(/; removed 2 images of the previous build$/);
    expect(tree(out)).toEqual(
      ['README.txt', 'images/img/0123456789abcdef.png', 'manifest.json', ...secondFiles].sort(),
    );
    expect(firstFiles.filter((f) => secondFiles.includes(f))).toHaveLength(1); // the shared image kept
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toBe('my notes');

    // A manifest edited to claim files outside the dataset's own paths cannot get them deleted
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    m.items.push(
      { file: 'README.txt' },
      { file: '../../outside.txt' },
      { file: 'images/img/0123456789abcdef.png/..' },
    );
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(m));
    writeFileSync(join(cfg.datasetRoot, '..', 'outside.txt'), 'outside');
    await runActivity(datasetStore, cfg, jobAs('three'), storeArgs(cfg, 'w3', 'mine', imgs.slice(0, 1)));
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toBe('my notes');
    expect(existsSync(join(cfg.datasetRoot, '..', 'outside.txt'))).toBe(true);
  });

  it('refuses an output folder holding a symbolic link, or being one', async () => {
    const cfg = testPipelineConfig();
    const one = await runActivity(
      datasetStore,
      cfg,
      jobAs('one'),
      storeArgs(cfg, 'w1', 'linked', imgs.slice(0, 1)),
    );
    const elsewhere = join(cfg.datasetRoot, '..', 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    symlinkSync(elsewhere, join(one.outputDir, 'images', 'other'));
    const before = tree(one.outputDir);
    await expect(
      runActivity(datasetStore, cfg, jobAs('two'), storeArgs(cfg, 'w2', 'linked', imgs.slice(1, 2), 'other')),
    ).rejects.toMatchObject({
      type: 'PathRefused',
      nonRetryable: true,
      message:
        'outputDir "linked" holds a symbolic link, images/other: a dataset folder may not contain links; remove it and run the job again',
    });
    expect(tree(one.outputDir)).toEqual(before);
    expect(readdirSync(elsewhere)).toEqual([]);

    symlinkSync(one.outputDir, join(cfg.datasetRoot, 'alias'));
    await expect(
      runActivity(datasetStore, cfg, jobAs('three'), storeArgs(cfg, 'w3', 'alias', imgs.slice(1, 2))),
    ).rejects.toThrow('outputDir "alias" is a symbolic link; refused');
  });
});

describe('applyLabelRule', () => {
  it('matches source patterns in linear time: (a+)+$ on 2 KB of "a" then "!" returns at once', () => {
    const rule = {
      by: 'source' as const,
      rules: [{ pattern: '(a+)+$', label: 'evil' }],
      default: 'other',
    };
    const source = 'a'.repeat(2048) + '!';
    // A backtracking engine would take longer than the age of the universe here.
    expect(applyLabelRule(rule, { index: 0, source, format: 'png', width: 1, height: 1 })).toBe('other');
    expect(
      applyLabelRule(rule, { index: 0, source: 'a'.repeat(2048), format: 'png', width: 1, height: 1 }),
    ).toBe('evil');
  });

  it('fails the step with InvalidLabelRule on a pattern RE2 cannot compile (an input the schema never saw)', () => {
    const rule = { by: 'source' as const, rules: [{ pattern: '(?=x)', label: 'x' }], default: 'other' };
    expect(() => applyLabelRule(rule, { index: 0, source: 'x', format: 'png', width: 1, height: 1 })).toThrow(
      expect.objectContaining({ type: 'InvalidLabelRule', nonRetryable: true }),
    );
  });

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
