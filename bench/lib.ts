/**
 * What every scenario shares: summaries (min / median / max over repetitions), goals, the pairs
 * loop that alternates which side goes first, the table, and small helpers for histories and HTTP.
 */
import { Agent, request } from 'node:http';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { StepwiseClient } from '../src/client/client';
import type { JobState } from '../workflows/contracts';

/** One figure over a scenario's repetitions. */
export interface Summary {
  min: number;
  median: number;
  max: number;
  values: number[];
}

/** A goal compares the stepwise side with the baseline (both medians) and says whether it is met. */
export interface Goal {
  text: string;
  met(baseline: number, stepwise: number): boolean;
}

export interface MetricResult {
  metric: string;
  unit: string;
  baseline: Summary;
  stepwise: Summary;
  /** Stepwise median / baseline median. */
  ratio: number;
  goal: string | null;
  met: boolean | null;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** Which side is which, when it is not Stepwise against raw Temporal (stream-50). */
  sides?: { baseline: string; stepwise: string };
  metrics: MetricResult[];
  notes: string[];
  wallSeconds: number;
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Nearest-rank percentile (p in 0–100). */
export const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

export const summarize = (values: number[]): Summary => ({
  min: Math.min(...values),
  median: median(values),
  max: Math.max(...values),
  values,
});

export function metric(
  name: string,
  unit: string,
  baseline: number[],
  stepwise: number[],
  goal?: Goal,
): MetricResult {
  const b = summarize(baseline);
  const s = summarize(stepwise);
  return {
    metric: name,
    unit,
    baseline: b,
    stepwise: s,
    ratio: s.median / b.median,
    goal: goal?.text ?? null,
    met: goal ? goal.met(b.median, s.median) : null,
  };
}

/** Goals of the issue, as reusable shapes. */
export const goals = {
  ratioAtMost: (r: number): Goal => ({ text: `≤ ${r.toFixed(2)}×`, met: (b, s) => s <= r * b }),
  ratioAtLeast: (r: number): Goal => ({ text: `≥ ${r.toFixed(2)}×`, met: (b, s) => s >= r * b }),
  plusAtMost: (d: number, unit: string): Goal => ({ text: `≤ raw + ${d}${unit}`, met: (b, s) => s <= b + d }),
  linear: (r: number, d: number, unit: string): Goal => ({
    text: `≤ ${r}× raw + ${d}${unit}`,
    met: (b, s) => s <= r * b + d,
  }),
  /** An absolute bound on both sides. */
  bothAtMost: (max: number): Goal => ({ text: `both ≤ ${max}`, met: (b, s) => b <= max && s <= max }),
  stepwiseAtMost: (max: number, unit: string): Goal => ({
    text: `≤ ${max}${unit}`,
    met: (_b, s) => s <= max,
  }),
};

export type SideName = 'baseline' | 'stepwise';

/**
 * A warm-up pair (discarded), then `reps` pairs; even repetitions run the baseline first, odd ones
 * Stepwise, so drift on a shared machine does not favour one side.
 */
export async function pairs<T>(
  reps: number,
  run: (side: SideName, rep: number | 'warmup') => Promise<T>,
  warmup: ((side: SideName) => Promise<unknown>) | null = (side) => run(side, 'warmup'),
): Promise<Record<SideName, T[]>> {
  if (warmup) {
    await warmup('baseline');
    await warmup('stepwise');
  }
  const out: Record<SideName, T[]> = { baseline: [], stepwise: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order: SideName[] = rep % 2 === 0 ? ['baseline', 'stepwise'] : ['stepwise', 'baseline'];
    for (const side of order) out[side].push(await run(side, rep));
  }
  return out;
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

/** Polls `fn` until it returns a value other than undefined, or throws past the deadline. */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  { timeoutMs = 120_000, everyMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The job's state once `done` holds for it, watched through the client (`StepwiseClient.watch`);
 * throws when the job closes first or `timeoutMs` passes.
 */
export async function waitForJob(
  jobs: StepwiseClient,
  jobId: string,
  what: string,
  done: (s: JobState) => boolean,
  { timeoutMs = 120_000, everyMs = 100 } = {},
): Promise<JobState> {
  const stop = new AbortController();
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    for await (const s of jobs.watch(jobId, {
      intervalMs: everyMs,
      signal: AbortSignal.any([stop.signal, deadline]),
    })) {
      if (done(s)) return s;
    }
  } finally {
    stop.abort();
  }
  throw new Error(
    deadline.aborted
      ? `timed out after ${timeoutMs} ms waiting for ${what}`
      : `${jobId} closed before ${what}`,
  );
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function historyOf(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  return h.events ?? [];
}

export const eventMs = (e: HistoryEvent): number => {
  const t = e.eventTime;
  if (!t) return NaN;
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
};

/** CPU time of this process (all its threads) since `since`, in ms. */
export const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const fmt = (x: number, unit: string): string => {
  if (!Number.isFinite(x)) return '—';
  if (unit === 'ms' || unit === 'events' || unit === 'calls') return String(Math.round(x));
  if (unit === 'KiB') return x.toFixed(1);
  if (unit === 'jobs/s' || unit === 'sub-jobs/s') return x.toFixed(1);
  return x >= 100 ? String(Math.round(x)) : x.toFixed(2);
};

const triple = (s: Summary, unit: string): string =>
  s.min === s.max ? fmt(s.median, unit) : `${fmt(s.min, unit)}/${fmt(s.median, unit)}/${fmt(s.max, unit)}`;

/** The results as one table: each figure as min/median/max over the repetitions. */
export function table(results: ScenarioResult[]): string {
  const rows: string[][] = [
    ['scenario', 'metric', 'unit', 'raw min/med/max', 'stepwise min/med/max', 'ratio', 'goal', ''],
  ];
  for (const r of results) {
    r.metrics.forEach((m, i) => {
      rows.push([
        i === 0 ? r.name : '',
        m.metric,
        m.unit,
        triple(m.baseline, m.unit),
        triple(m.stepwise, m.unit),
        Number.isFinite(m.ratio) ? `${m.ratio.toFixed(2)}×` : '—',
        m.goal ?? '',
        m.met === null ? '' : m.met ? 'met' : 'MISSED',
      ]);
    });
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c <= 2 || c >= 6 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * A lean HTTP client for the API sides: `node:http` over kept-alive sockets. The load generator
 * runs in the bench process beside the API, the worker and the raw side's client, so its own cost
 * counts against the API: `fetch` (undici, web streams) spent more CPU per request here than the
 * API itself did (a `--cpu-prof` of 1,536 POSTs: 1.7 s in undici against about 1.5 s in Fastify,
 * Nest and the route), while the raw side's `client.workflow.start` is a plain gRPC call.
 */
export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string>,
    maxSockets = 64,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** Sends one request and reads the whole answer: its status and body text. */
  send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.headers,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
