/**
 * Sub-jobs are jobs: every route answers for every id the engine creates (`<jobId>/<step>…`,
 * path-encoded), found the way a user finds them — by walking `/children` from a top-level job —
 * and a chosen job id still cannot enter the sub-job namespace. Real dev server, real HTTP for the
 * streams.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ControlAck, JobState } from '../../workflows/contracts';
import type { JobTreeNode } from '../../src/api/jobs/schemas';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;
let app: NestFastifyApplication;
let base: string;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
  app = harness.app;
  base = harness.base!;
});

afterAll(async () => {
  await harness?.close();
});

const path = (jobId: string, rest = ''): string => `/api/jobs/${encodeURIComponent(jobId)}${rest}`;
const json = { 'content-type': 'application/json' };
const get = (url: string) => app.inject({ method: 'GET', url });
const post = (url: string, payload: object = {}) =>
  app.inject({ method: 'POST', url, payload, headers: json });

async function start(type: string, input: unknown): Promise<string> {
  const jobId = uniqueId(`sub-${type}`);
  const res = await post('/api/jobs', { type, jobId, input });
  expect(res.statusCode).toBe(201);
  return jobId;
}

const stateOf = async (jobId: string): Promise<JobState> => {
  const res = await get(path(jobId));
  expect(res.statusCode).toBe(200);
  return res.json<JobState>();
};

const closed = (s: JobState): boolean => s.closedAt !== null;

/** Every node of a tree, parents before children, with the id of the job above it. */
function flatten(nodes: JobTreeNode[], parent: string): { node: JobTreeNode; parent: string }[] {
  return nodes.flatMap((n) => [{ node: n, parent }, ...flatten(n.children, n.jobId)]);
}

/** The first SSE event of a stream, read over real HTTP, then the connection is dropped. */
async function firstEvent(url: string): Promise<{ event: string; data: unknown }> {
  const abort = new AbortController();
  try {
    const res = await fetch(`${base}${url}`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before an event: ${text}`);
      text += decoder.decode(value, { stream: true });
      const block = text.split('\n\n').find((b, i, all) => i < all.length - 1 && !b.startsWith(':'));
      if (block) {
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim() ?? '';
        return { event: field('event'), data: JSON.parse(field('data')) as unknown };
      }
    }
  } finally {
    abort.abort();
  }
}

describe('a closed job tree, walked through /children', () => {
  let rootId: string;
  let nodes: { node: JobTreeNode; parent: string }[];

  beforeAll(async () => {
    // generateMetadata fails for good: a failed sub-job under a completed_with_errors job.
    rootId = await start('sceneProcessing', {
      newScenes: 4,
      durationMs: 20,
      analyze: { chunkSize: 2, window: 2 },
      steps: { generateMetadata: { failPermanently: true } },
    });
    const final = await waitFor(() => stateOf(rootId), closed, 90_000, 200);
    expect(final.status).toBe('completed_with_errors');
    const res = await get(path(rootId, '/children'));
    expect(res.statusCode).toBe(200);
    nodes = flatten(res.json<JobTreeNode[]>(), rootId);
  });

  it('has every sub-job, batch chunks and the failed one included, each id in the sub-job namespace', () => {
    // 6 single sub-job steps (finalSync is skipped after the failure) + 2 analysis chunks.
    expect(nodes.length).toBeGreaterThanOrEqual(7);
    for (const { node } of nodes) expect(node.jobId.startsWith(`${rootId}/`)).toBe(true);
    expect(nodes.some(({ node }) => node.status === 'failed')).toBe(true);
    expect(nodes.some(({ node }) => node.jobId.startsWith(`${rootId}/analyze/`))).toBe(true);
  });

  it('rolls up every subtree: each node counts the sub-jobs below it, at every depth, by status', async () => {
    const below = (n: JobTreeNode): JobTreeNode[] => n.children.flatMap((c) => [c, ...below(c)]);
    for (const { node } of nodes) {
      const under = below(node);
      expect(node.subtree.total).toBe(under.length);
      for (const [status, count] of Object.entries(node.subtree.byStatus))
        expect([status, count]).toEqual([status, under.filter((u) => u.status === status).length]);
    }
    // The tree as a whole: the failed sub-job is counted once, where it is.
    const roots = nodes.filter(({ parent }) => parent === rootId).map(({ node }) => node);
    const failed = roots.reduce((n, r) => n + r.subtree.byStatus.failed + (r.status === 'failed' ? 1 : 0), 0);
    expect(failed).toBe(nodes.filter(({ node }) => node.status === 'failed').length);
    expect(failed).toBeGreaterThan(0);
  });

  it('reads every node: its state, its children and its event stream', async () => {
    for (const { node, parent } of nodes) {
      const state = await stateOf(node.jobId);
      expect([state.jobId, state.type, state.status, state.parentJobId]).toEqual([
        node.jobId,
        node.type,
        node.status,
        parent,
      ]);
      const children = await get(path(node.jobId, '/children'));
      expect(children.statusCode).toBe(200);
      expect(children.json()).toEqual(node.children.map((c) => expect.objectContaining({ jobId: c.jobId })));
      const first = await firstEvent(path(node.jobId, '/events'));
      expect(first.event).toBe('closed');
      expect((first.data as JobState).jobId).toBe(node.jobId);
    }
  });

  it('lists a sub-job’s own children by parentJobId', async () => {
    const { node } = nodes[0];
    const res = await get(`/api/jobs?parentJobId=${encodeURIComponent(node.jobId)}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ jobs: [], nextPageToken: null });
  });

  it('answers every control route for a closed sub-job with a 409 that says why, and changes nothing', async () => {
    const failed = nodes.find(({ node }) => node.status === 'failed')!.node;
    const before = await stateOf(failed.jobId);
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      const res = await post(path(failed.jobId, `/${action}`));
      expect([action, res.statusCode]).toEqual([action, 409]);
      expect(res.json<{ message: string }>().message).toMatch(/is closed/);
    }
    const retry = await post(path(failed.jobId, '/retry'));
    expect(retry.statusCode).toBe(409);
    expect(retry.json<{ message: string }>().message).toContain(
      `is a sub-job of "${rootId}"; retry "${rootId}"`,
    );
    const terminate = await app.inject({
      method: 'DELETE',
      url: path(failed.jobId),
      payload: {},
      headers: json,
    });
    expect(terminate.statusCode).toBe(409);
    const after = await stateOf(failed.jobId);
    expect([after.runId, after.status, after.closedAt]).toEqual([
      before.runId,
      before.status,
      before.closedAt,
    ]);
    // The parent's own retry is what runs the sub-job again.
    expect((await post(path(rootId, '/retry'))).statusCode).toBe(201);
    await waitFor(() => stateOf(rootId), closed, 90_000, 200);
  });
});

describe('a running sub-job, acted on by its own id', () => {
  it('pauses, resumes and is cancelled, and its parent sees it', async () => {
    const rootId = await start('demoPipeline', {
      durationMs: 50,
      parts: 2,
      steps: { transform: { durationMs: 60_000 } },
    });
    const chunks = await waitFor(
      async () => flatten((await get(path(rootId, '/children'))).json<JobTreeNode[]>(), rootId),
      (n) => n.length === 2 && n.every(({ node }) => node.status === 'running'),
      60_000,
      200,
    );
    const chunkId = chunks[0].node.jobId;
    expect(chunkId).toMatch(new RegExp(`^${rootId}/transform/`));

    const paused = await post(path(chunkId, '/pause'), { reason: 'look at it' });
    expect(paused.statusCode).toBe(200);
    expect(paused.json<ControlAck>()).toMatchObject({ jobId: chunkId, action: 'pause', paused: true });
    expect((await stateOf(chunkId)).control.paused).toBe(true);
    const resumed = await post(path(chunkId, '/resume'));
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json<ControlAck>()).toMatchObject({ jobId: chunkId, action: 'resume', paused: false });

    const cancelled = await post(path(chunkId, '/cancel'), { reason: 'not needed' });
    expect(cancelled.statusCode).toBe(202);
    const chunk = await waitFor(() => stateOf(chunkId), closed, 60_000, 200);
    expect(chunk.status).toBe('cancelled');
    expect(chunk.cancellation).toMatchObject({ reason: 'not needed', source: 'update' });

    const first = await firstEvent(path(chunkId, '/events'));
    expect((first.data as JobState).status).toBe('cancelled');

    // The rest of the tree is stopped by its root.
    expect((await post(path(rootId, '/cancel'))).statusCode).toBe(202);
    await waitFor(() => stateOf(rootId), closed, 60_000, 200);
  });
});

describe('the sub-job namespace', () => {
  it('is closed to a chosen job id: "/" is refused at start with the reason', async () => {
    const res = await post('/api/jobs', { type: 'example', jobId: 'mine/subJob', input: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: string[]; message: string }[] }>().issues).toEqual([
      { path: ['jobId'], message: expect.stringContaining('"/" is kept for sub-job ids') },
    ]);
  });

  it('answers a batch coordinator’s id (the engine’s helper, not a job) with a 404 that says where its chunks are', async () => {
    const rootId = await start('demoPipeline', { durationMs: 10, parts: 1 });
    const final = await waitFor(() => stateOf(rootId), closed, 60_000, 200);
    const coordinatorId = final.steps.find((s) => s.key === 'transform')!.subJobIds[0];
    expect(coordinatorId).toBe(`${rootId}/transform`);
    const res = await get(path(coordinatorId));
    expect(res.statusCode).toBe(404);
    expect(res.json<{ message: string }>().message).toContain(
      `is the batch coordinator of a step of job "${rootId}", not a job`,
    );
  });

  it('answers 404, not 400, for a well-formed sub-job id that does not exist', async () => {
    const res = await get(path(`${uniqueId('nobody')}/step/3`));
    expect(res.statusCode).toBe(404);
  });

  it('still refuses ids no job can have: control characters, over 1000 characters, . and .. segments', async () => {
    expect((await get(path('a\nb'))).statusCode).toBe(400);
    expect((await get(path('x'.repeat(1001)))).statusCode).toBe(400);
    for (const id of ['../etc', 'a/../b', 'a/.'])
      expect([id, (await get(path(id))).statusCode]).toEqual([id, 400]);
  });
});
