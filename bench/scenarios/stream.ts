/**
 * `stream-50`: 50 SSE subscribers on one changing job (`GET /api/jobs/:jobId/events`) against 1
 * subscriber: the Temporal calls the API made for the stream (describe + query), and how late each
 * change arrives. The reference for lateness: the bench polls the job's `jobState` query directly
 * every 20 ms and notes when each distinct state was first seen; an event's lag is its arrival
 * minus that moment (the stream's first event, the state at connect, is left out).
 */
import { request, type IncomingMessage } from 'node:http';
import { jobStateQuery, type JobState } from '../../workflows/contracts';
import { STREAM_POLL_MS, totalCalls, type BenchEnv } from '../env';
import { goals, metric, pairs, percentile, type ScenarioResult } from '../lib';

const TEMPORAL_READS = ['DescribeWorkflowExecution', 'QueryWorkflow'];

interface Received {
  data: string;
  at: number;
}

/** Reads one SSE stream to its end; resolves with each event's data and arrival time. */
function subscribe(base: string, headers: Record<string, string>, jobId: string): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/jobs/${encodeURIComponent(jobId)}/events`,
      { headers },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          reject(new Error(`events stream: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        const got: Received[] = [];
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (data) got.push({ data, at });
          }
        });
        res.on('end', () => resolve(got));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface StreamRun {
  calls: number;
  lagP95: number;
  lagP50: number;
  events: number;
  unmatched: number;
}

async function streamRun(
  env: BenchEnv,
  subscribers: number,
  jobId: string,
  durationMs: number,
): Promise<StreamRun> {
  await env.jobs.start('example', { durationMs }, { jobId });
  const handle = env.client.workflow.getHandle(jobId);
  // The reference: when each distinct state was first readable.
  const firstSeen = new Map<string, number>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const s = JSON.stringify(await handle.query(jobStateQuery));
      if (!firstSeen.has(s)) firstSeen.set(s, performance.now());
      if ((JSON.parse(s) as JobState).closedAt !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const before = totalCalls(env.api.calls, TEMPORAL_READS);
  const streams = await Promise.all(
    Array.from({ length: subscribers }, () => subscribe(env.api.base, env.api.headers, jobId)),
  );
  const calls = totalCalls(env.api.calls, TEMPORAL_READS) - before;
  watching = false;
  await watcher;
  const lags: number[] = [];
  let unmatched = 0;
  for (const events of streams) {
    for (const e of events.slice(1)) {
      const seen = firstSeen.get(e.data);
      if (seen === undefined) unmatched++;
      else lags.push(e.at - seen);
    }
  }
  return {
    calls,
    lagP95: percentile(lags, 95),
    lagP50: percentile(lags, 50),
    events: (lags.length + unmatched) / subscribers,
    unmatched,
  };
}

export async function streamScenario(env: BenchEnv, reps: number, subscribers = 50): Promise<ScenarioResult> {
  const t0 = Date.now();
  const durationMs = 2500;
  const runs = await pairs(reps, (side, rep) =>
    streamRun(
      env,
      side === 'stepwise' ? subscribers : 1,
      `${env.runId}-stream-${rep}-${side}`,
      rep === 'warmup' ? 500 : durationMs,
    ),
  );
  const pick = (k: keyof StreamRun) =>
    [runs.baseline.map((r) => r[k]), runs.stepwise.map((r) => r[k])] as const;
  const unmatched = [...runs.baseline, ...runs.stepwise].reduce((a, r) => a + r.unmatched, 0);
  return {
    name: `stream-${subscribers}`,
    description: `${subscribers} SSE subscribers against 1 on one \`example\` job (two steps of ${durationMs} ms, progress reported as it works); poll interval ${STREAM_POLL_MS} ms`,
    sides: { baseline: '1 subscriber', stepwise: `${subscribers} subscribers` },
    metrics: [
      metric('Temporal calls (describe + query)', 'calls', ...pick('calls'), goals.ratioAtMost(1.1)),
      metric('event lag p50', 'ms', ...pick('lagP50')),
      metric('event lag p95', 'ms', ...pick('lagP95'), goals.stepwiseAtMost(STREAM_POLL_MS + 50, ' ms')),
      metric('events per subscriber', 'events', ...pick('events')),
    ],
    notes: [
      'In this row "raw" is 1 subscriber and "stepwise" is 50 subscribers; both through the API.',
      `Events whose state the 20 ms reference poll never saw (left out of the lag): ${unmatched}.`,
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
