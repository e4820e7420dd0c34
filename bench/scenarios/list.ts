/**
 * `list-stream`: the fleet view's list stream (`GET /api/events?jobIdPrefix=…&topLevel=true`),
 * watching the same page of 20 jobs on a listing of 20 matching jobs against one of 300: what one
 * poll tick costs the API — Temporal calls (the visibility list, and describes of recoverable runs)
 * and how long the read takes. The goal: the cost of a tick is the page's, not the listing's — one
 * visibility read a tick, however many jobs match and however many pages there are.
 */
import { request } from 'node:http';
import { STREAM_POLL_MS, totalCalls, type BenchEnv } from '../env';
import { goals, metric, pairs, pool, type ScenarioResult } from '../lib';

const LIST_CALLS = ['ListWorkflowExecutions', 'DescribeWorkflowExecution'];
/** Poll ticks a run watches the stream for. */
const TICKS = 8;
/** The page both sides watch: the same page, so only the number of matching jobs differs. */
const PAGE = 20;

interface ListRun {
  /** Temporal calls a poll tick. */
  callsPerTick: number;
  /** Time of one list read (the hub's poll), median over the run. */
  readMs: number;
  /** Jobs in the snapshot: the page shown. */
  shown: number;
}

/** Holds the list stream open for `ms`; resolves with the snapshot's job count. */
function watch(env: BenchEnv, query: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let shown = -1;
    let text = '';
    const req = request(`${env.api.base}/api/events?${query}`, { headers: env.api.headers }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`list stream: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (shown >= 0) return;
        text += chunk;
        const m = /event: snapshot\n(?:id: .*\n)?data: (.*)\n\n/.exec(text);
        if (m) shown = (JSON.parse(m[1]) as { jobs: unknown[] }).jobs.length;
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (shown >= 0 ? undefined : reject(err)));
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve(shown);
    }, ms);
  });
}

async function listRun(env: BenchEnv, prefix: string): Promise<ListRun> {
  const query = `jobIdPrefix=${encodeURIComponent(prefix)}&topLevel=true&pageSize=${PAGE}`;
  const before = totalCalls(env.api.calls, LIST_CALLS);
  const polls = env.api.hub.stats().listPolls;
  // The same read the poller makes, timed from outside (the poller's own reads are not timed).
  const reads: number[] = [];
  const t0 = Date.now();
  const timing = (async () => {
    while (Date.now() - t0 < TICKS * STREAM_POLL_MS) {
      const start = performance.now();
      await env.jobs.list({ jobIdPrefix: prefix, topLevel: true, pageSize: PAGE });
      reads.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, STREAM_POLL_MS));
    }
  })();
  const shown = await watch(env, query, TICKS * STREAM_POLL_MS);
  await timing;
  const ticks = env.api.hub.stats().listPolls - polls;
  const calls = totalCalls(env.api.calls, LIST_CALLS) - before;
  // The timing reads went through the bench's own client, not the API's connection: not counted.
  reads.sort((a, b) => a - b);
  return { callsPerTick: calls / Math.max(1, ticks), readMs: reads[Math.floor(reads.length / 2)], shown };
}

export async function listStreamScenario(env: BenchEnv, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const sizes = { baseline: PAGE, stepwise: 300 } as const;
  const prefixes = { baseline: `${env.runId}-few-`, stepwise: `${env.runId}-many-` } as const;
  // The jobs: closed `example` jobs (each with its sub-job, which topLevel leaves out).
  for (const side of ['baseline', 'stepwise'] as const) {
    const ids = Array.from({ length: sizes[side] }, (_, i) => `${prefixes[side]}${i}`);
    await pool(ids, 20, async (jobId) => {
      await env.jobs.start('example', { durationMs: 0 }, { jobId });
    });
    env.log(`list-stream: ${ids.length} jobs started (${side})`);
    for (;;) {
      let closed = 0;
      let token: string | undefined;
      do {
        const page = await env.jobs.list({
          jobIdPrefix: prefixes[side],
          topLevel: true,
          pageSize: 100,
          pageToken: token,
        });
        closed += page.jobs.filter((j) => j.closedAt !== null).length;
        token = page.nextPageToken ?? undefined;
      } while (token);
      if (closed === ids.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const runs = await pairs(reps, (side) => listRun(env, prefixes[side]));
  const pick = (k: keyof ListRun) =>
    [runs.baseline.map((r) => r[k]), runs.stepwise.map((r) => r[k])] as const;
  return {
    name: 'list-stream',
    description: `The list stream of the fleet view (top-level jobs of an id prefix) over ${sizes.baseline} matching jobs against ${sizes.stepwise}; ${TICKS} poll ticks of ${STREAM_POLL_MS} ms a run`,
    sides: { baseline: `${sizes.baseline} jobs`, stepwise: `${sizes.stepwise} jobs` },
    metrics: [
      metric('Temporal calls a poll tick', 'calls', ...pick('callsPerTick'), goals.ratioAtMost(1.0)),
      metric(`list read (a page of ${PAGE})`, 'ms', ...pick('readMs'), goals.ratioAtMost(1.5)),
      metric('jobs in the snapshot', 'jobs', ...pick('shown')),
    ],
    notes: [
      `In this row "raw" is the listing of ${sizes.baseline} jobs and "stepwise" the one of ${sizes.stepwise}; both through the API's stream.`,
      `Both watch a page of ${PAGE}. A tick reads that page with one visibility call, plus a describe per recoverable run on it (none here: every job completed). A bigger page costs more a read (a page of 100 over 300 jobs read 3.4× as long as a page of 10 over 10 jobs in an earlier run); the number of matching jobs does not.`,
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
