/**
 * datasetBuild end to end against the real dev server, downloading generated fixture images
 * from a local HTTP server on 127.0.0.1.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { jobWorkDir } from '../../activities/paths';
import type { JobState } from '../../workflows/contracts';
import type { DatasetCounts } from '../../workflows/jobs/dataset-build-contracts';
import {
  connectTestEnv,
  createTestWorker,
  queryState,
  startJob,
  startUncheckedJob,
  testPipelineConfig,
  uniqueId,
  type TestEnv,
} from '../helpers';
import {
  allowLoopbackDownloads,
  gifImage,
  jpegImage,
  pngImage,
  serveFixtures,
  webpImage,
  type FixtureServer,
} from '../pipeline-fixtures';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
let server: FixtureServer;
// The fixture server is on 127.0.0.1: reached only with the private-network opt-in.
const cfg = allowLoopbackDownloads(testPipelineConfig());
const cat = pngImage(64, 48, 3);

beforeAll(async () => {
  env = await connectTestEnv();
  server = await serveFixtures({
    '/cat.png': { body: cat, type: 'image/png' },
    '/cat-copy.png': { body: cat, type: 'image/png' },
    '/dog.jpg': { body: jpegImage(480, 640), type: 'image/jpeg' },
    '/anim.gif': { body: gifImage(32, 32, 2), type: 'image/gif' },
    '/flaky.webp': { body: webpImage(200, 100), type: 'image/webp', failFirst: 1 },
    '/notes.txt': { body: 'these are notes, not an image', type: 'text/plain' },
    '/fake.png': { body: '<html>an error page served as image/png</html>', type: 'image/png' },
    // Into an address refused even with the opt-in (0.0.0.0 would reach this machine: safe to try)
    '/moved.png': { body: '', location: 'http://0.0.0.0:1/cat.png' },
  });
  ({ worker, taskQueue } = await createTestWorker(env, { pipelines: cfg }));
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await server?.close();
  await env?.close();
});

interface Manifest {
  counts: DatasetCounts;
  labels: Record<string, number>;
  items: {
    file: string;
    source: string;
    sha256: string;
    format: string;
    width: number;
    height: number;
    label: string;
  }[];
  rejected: { source: string; stage: string; reason: string }[];
}

describe('datasetBuild', () => {
  it('builds a dataset: duplicate removed, non-images rejected with reasons, manifest and folders written', async () => {
    mkdirSync(join(cfg.importRoot, 'local'), { recursive: true });
    writeFileSync(join(cfg.importRoot, 'local', 'bird.gif'), gifImage(10, 20));
    const sources = [
      server.url('/cat.png'),
      server.url('/dog.jpg'),
      server.url('/cat-copy.png'),
      server.url('/notes.txt'),
      server.url('/anim.gif'),
      server.url('/fake.png'),
      server.url('/flaky.webp'),
      'local/bird.gif',
      server.url('/moved.png'),
    ];
    const outputDir = `sets/${uniqueId('build')}`;
    const handle = await startJob(env, taskQueue, 'datasetBuild', {
      sources,
      outputDir,
      labelRule: { by: 'format' },
    });
    const state: JobState = await handle.result();
    expect(state).toMatchObject({ status: 'completed', progress: 100, totalSteps: 7 });
    expect(state.steps.every((s) => s.status === 'completed')).toBe(true);

    // DAG: dedupe and metadata both follow validate and overlap; label waits for both
    const at = (key: string, f: 'startedAt' | 'completedAt') =>
      Date.parse(state.steps.find((s) => s.key === key)![f]!);
    expect(at('dedupe', 'startedAt')).toBeGreaterThanOrEqual(at('validate', 'completedAt'));
    expect(at('metadata', 'startedAt')).toBeLessThanOrEqual(at('dedupe', 'completedAt'));
    expect(at('dedupe', 'startedAt')).toBeLessThanOrEqual(at('metadata', 'completedAt'));
    expect(at('label', 'startedAt')).toBeGreaterThanOrEqual(
      Math.max(at('dedupe', 'completedAt'), at('metadata', 'completedAt')),
    );

    const manifest = JSON.parse(
      readFileSync(join(cfg.datasetRoot, outputDir, 'manifest.json'), 'utf8'),
    ) as Manifest;
    expect(manifest.items.map((i) => [i.source, i.format, i.width, i.height, i.label])).toEqual([
      [sources[0], 'png', 64, 48, 'png'],
      [sources[1], 'jpeg', 480, 640, 'jpeg'],
      [sources[4], 'gif', 32, 32, 'gif'],
      [sources[6], 'webp', 200, 100, 'webp'],
      ['local/bird.gif', 'gif', 10, 20, 'gif'],
    ]);
    expect(manifest.rejected).toEqual([
      {
        source: sources[2],
        stage: 'deduplicate',
        reason: expect.stringMatching(new RegExp(`^duplicate of ${sources[0]} \\(sha256 [0-9a-f]{16}…\\)$`)),
      },
      {
        source: sources[3],
        stage: 'download',
        reason: 'content type "text/plain" is not accepted (accepted: image/*, application/octet-stream)',
      },
      {
        source: sources[5],
        stage: 'validate',
        // the content is never quoted: it is whatever the server sent
        reason: 'not a PNG, JPEG, GIF or WebP image (unrecognized header)',
      },
      {
        source: sources[8],
        stage: 'download',
        reason:
          'redirect 1 to 0.0.0.0:1: refused: 0.0.0.0 is an unspecified ("this network") address, in 0.0.0.0/8; never downloaded from',
      },
    ]);
    expect(manifest.counts).toEqual({
      sources: 9,
      downloaded: 7,
      valid: 6,
      duplicates: 1,
      stored: 5,
      rejected: 4,
    });
    expect(manifest.labels).toEqual({ png: 1, jpeg: 1, gif: 2, webp: 1 });
    for (const item of manifest.items)
      expect(existsSync(join(cfg.datasetRoot, outputDir, item.file))).toBe(true);
    expect(readFileSync(join(cfg.datasetRoot, outputDir, manifest.items[0].file)).equals(cat)).toBe(true);
    expect(server.hits.get('/flaky.webp')).toBe(2); // retried once after a 503

    expect((state.output as { summary: DatasetCounts }).summary).toEqual(manifest.counts);
    expect(state.logs.filter((l) => l.entity?.route).map((l) => l.entity!.route)).toEqual([
      sources[3],
      sources[8],
      sources[5],
      sources[2],
    ]);
    expect(existsSync(jobWorkDir(cfg.workDir, 'dataset', state.jobId))).toBe(false);
  });

  it('rejects an input the schema refuses (bad source scheme, traversal) before any step', async () => {
    // Started past the client, which refuses it before Temporal: this is about the workflow's own check.
    const handle = await startUncheckedJob(env, taskQueue, 'datasetBuild', {
      sources: ['ftp://example.test/a.png'],
      outputDir: '../elsewhere',
      labelRule: { by: 'source', rules: [{ pattern: '(?=backtrack)', label: 'x' }] },
    });
    await handle.result().catch(() => undefined);
    const s = await queryState(env, handle.workflowId);
    expect(s.error).toMatchObject({ type: 'InvalidJobInput', nonRetryable: true });
    expect(s.error?.message).toMatch(/sources\.0: must be an http\(s\) URL/);
    expect(s.error?.message).toMatch(/outputDir: must be a path without "\.\." segments/);
    expect(s.error?.message).toMatch(
      /labelRule\.rules\.0\.pattern: unsupported regular expression: lookahead/,
    );
  });
});
