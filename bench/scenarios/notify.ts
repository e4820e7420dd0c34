/**
 * `notify`: what a webhook notification costs. A job that fails at once (`benchFail`) with 0, 1
 * and 10 subscriptions to `job.failed`, all pointing at one loopback receiver that answers 200,
 * against a raw workflow (`baselineNotify`) whose step fails the same way and which then posts
 * the same number of signed webhooks itself, one activity each.
 *
 * Measured per side and subscription count: the failing workflow's own history, the history of
 * every workflow involved (the job and its delivery workflows; the raw workflow alone), the bench
 * process's CPU from the start until every webhook was answered and every workflow closed, and the
 * time from the step's failure (its `ActivityTaskFailed`, a server timestamp) to each 2xx the
 * receiver sent (p50 / p99 over the deliveries). The Stepwise side runs through an API of its own
 * in this process (an admin key, a loopback receiver allowed, the notifier polling visibility every
 * {@link NOTIFIER_POLL_MS} ms), whose notifier and notifications worker are what deliver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { deliveryId } from '../../src/notifications/notifier';
import { postWebhook } from '../../src/notifications/send';
import { newSecret, webhookHeaders } from '../../src/notifications/signing';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { ApiHandle, BenchEnv } from '../env';
import {
  cpuMsSince,
  eventMs,
  historyOf,
  HttpClient,
  median,
  metric,
  pairs,
  percentile,
  type Goal,
  type ScenarioResult,
} from '../lib';
import { benchFailDefinition, type BenchNotifyActivities } from '../workflows';

/** The notifier's visibility poll in this scenario (`STEPWISE_NOTIFIER_POLL_MS`; the default is 2,000). */
export const NOTIFIER_POLL_MS = 1000;

/** Subscriptions per measurement: none, one, ten. */
const COUNTS = [0, 1, 10] as const;

/** The raw side's activity: signs and posts one webhook with the code the delivery workflow uses. */
export function rawWebhookActivities(): BenchNotifyActivities {
  const secret = newSecret();
  return {
    async benchPostWebhook(hook) {
      const headers = webhookHeaders([secret], hook.webhookId, Math.floor(Date.now() / 1000), hook.body);
      const r = await postWebhook(new URL(hook.url), hook.body, headers, {
        timeoutMs: 10_000,
        allowPrivate: true,
      });
      if (r.ok && r.statusCode !== null) return { statusCode: r.statusCode };
      const why = r.error ?? `HTTP ${r.statusCode}`;
      throw r.retryable
        ? ApplicationFailure.retryable(why, 'WebhookFailed')
        : ApplicationFailure.nonRetryable(why, 'WebhookFailed');
    },
  };
}

/** A loopback receiver: answers 200 to every POST and notes when, by `webhook-id`. */
class Receiver {
  /** When each `webhook-id` was answered (ms since the epoch, this machine's clock). */
  private readonly answered = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = req.headers['webhook-id'];
        if (typeof id === 'string' && !this.answered.has(id)) this.answered.set(id, Date.now());
        res.writeHead(200).end('ok');
        for (const w of this.waiters) w();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** When each webhook of run `runId` was answered, by `webhook-id`. */
  of(runId: string): Map<string, number> {
    return new Map([...this.answered].filter(([id]) => id.includes(`:${runId}:`)));
  }

  /** Resolves once `n` webhooks of run `runId` were answered. */
  waitFor(runId: string, n: number, timeoutMs = 60_000): Promise<Map<string, number>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const got = this.of(runId);
        if (got.size < n) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(got);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.of(runId).size} of ${n} webhooks of run ${runId} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** One failing workflow with `n` subscriptions. */
interface Run {
  /** The failing workflow's own history. */
  jobEvents: number;
  /** Its history and its delivery workflows' (Stepwise); the raw workflow's alone. */
  allEvents: number;
  cpuMs: number;
  /** Step failed → each receiver 2xx. */
  failToOk: number[];
  /** Stepwise only: step failed → job closed; closed → 2xx; closed → delivery started; started → 2xx. */
  failToClose: number;
  closeToOk: number[];
  closeToDelivery: number[];
  deliveryToOk: number[];
}

const tsMs = (d: Date | undefined): number => d?.getTime() ?? NaN;

/** Waits for a workflow that is meant to fail; anything else is an error. */
async function failed(handle: WorkflowHandle): Promise<void> {
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) return;
    throw err;
  }
  throw new Error(`${handle.workflowId} completed; it was meant to fail`);
}

/** Server time of the failing step's `ActivityTaskFailed`. */
async function failureMs(env: BenchEnv, workflowId: string): Promise<number> {
  const failedAt = (await historyOf(env.client, workflowId)).find((e) => e.activityTaskFailedEventAttributes);
  if (!failedAt) throw new Error(`notify: no ActivityTaskFailed in ${workflowId}`);
  return eventMs(failedAt);
}

async function stepwiseRun(
  env: BenchEnv,
  admin: HttpClient,
  receiver: Receiver,
  n: number,
  jobId: string,
): Promise<Run> {
  const subs: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await admin.send('POST', '/api/notifications/subscriptions', {
      url: `${receiver.url}/stepwise/${i}`,
      events: ['job.failed'],
      jobTypes: [benchFailDefinition.name],
    });
    if (res.status !== 201) throw new Error(`notify: subscription refused: ${res.status} ${res.text}`);
    subs.push((JSON.parse(res.text) as { id: string }).id);
  }
  // The notifier ticks on its own clock, and each measurement ends just after a tick delivered the
  // previous one's webhooks: started right away, every job would close at about the same point of
  // the poll interval. A random wait makes that point uniform, as it is for a job in production.
  await new Promise((r) => setTimeout(r, Math.random() * NOTIFIER_POLL_MS));
  const cpu = process.cpuUsage();
  await env.jobs.start(benchFailDefinition, {}, { jobId });
  const handle = env.client.workflow.getHandle(jobId);
  await failed(handle);
  const { runId, closeTime, historyLength } = await handle.describe();
  const answered = await receiver.waitFor(runId, n);
  const deliveries = subs.map((s) => env.client.workflow.getHandle(deliveryId(s, runId, 'job.failed')));
  await Promise.all(deliveries.map((d) => d.result()));
  const cpuMs = cpuMsSince(cpu);
  for (const s of subs) {
    const res = await admin.send('DELETE', `/api/notifications/subscriptions/${s}`);
    if (res.status >= 300) throw new Error(`notify: delete refused: ${res.status} ${res.text}`);
  }
  const described = await Promise.all(deliveries.map((d) => d.describe()));
  const fail = await failureMs(env, jobId);
  const close = tsMs(closeTime);
  // A delivery's workflow id is its webhook-id.
  const okAt = (id: string): number => answered.get(id) ?? NaN;
  const oks = [...answered.values()];
  return {
    jobEvents: historyLength,
    allEvents: historyLength + described.reduce((a, d) => a + d.historyLength, 0),
    cpuMs,
    failToOk: oks.map((t) => t - fail),
    failToClose: close - fail,
    closeToOk: oks.map((t) => t - close),
    closeToDelivery: described.map((d) => tsMs(d.startTime) - close),
    deliveryToOk: described.map((d) => okAt(d.workflowId) - tsMs(d.startTime)),
  };
}

async function rawRun(env: BenchEnv, receiver: Receiver, n: number, workflowId: string): Promise<Run> {
  const urls = Array.from({ length: n }, (_, i) => `${receiver.url}/raw/${i}`);
  const cpu = process.cpuUsage();
  const handle = await env.client.workflow.start('baselineNotify', {
    taskQueue: env.taskQueue,
    workflowId,
    args: [{ urls }],
    typedSearchAttributes: initialJobAttributes('baselineNotify'),
  });
  await failed(handle);
  const { runId, historyLength } = await handle.describe();
  // The workflow closes only after its webhooks were answered.
  const answered = await receiver.waitFor(runId, n, 1000);
  const cpuMs = cpuMsSince(cpu);
  const fail = await failureMs(env, workflowId);
  return {
    jobEvents: historyLength,
    allEvents: historyLength,
    cpuMs,
    failToOk: [...answered.values()].map((t) => t - fail),
    failToClose: NaN,
    closeToOk: [],
    closeToDelivery: [],
    deliveryToOk: [],
  };
}

const label = (n: number): string => `${n} subscription${n === 1 ? '' : 's'}`;
const med = (runs: Run[], f: (r: Run) => number): string => {
  const x = median(runs.map(f));
  return Number.isFinite(x) ? String(Math.round(x)) : '—';
};

export async function notifyScenario(env: BenchEnv, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const receiver = new Receiver();
  await receiver.start();
  let api: ApiHandle | null = null;
  let http: HttpClient | null = null;
  try {
    api = await env.startApi(
      env.taskQueue,
      {
        STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
        STEPWISE_NOTIFIER_POLL_MS: String(NOTIFIER_POLL_MS),
        STEPWISE_NOTIFICATIONS_DB_PATH: join(env.tmp, `notifications-${randomUUID()}.sqlite`),
      },
      'admin',
    );
    const admin = new HttpClient(api.base, api.headers, 4);
    http = admin;
    const runs = await pairs(reps, async (side, rep) => {
      const out: Run[] = [];
      for (const n of COUNTS) {
        const id = `${env.runId}-notify-${rep}-${n}-${side}`;
        out.push(
          side === 'stepwise'
            ? await stepwiseRun(env, admin, receiver, n, id)
            : await rawRun(env, receiver, n, id),
        );
      }
      return out;
    });
    const at = (n: (typeof COUNTS)[number]) => {
      const i = COUNTS.indexOf(n);
      return { baseline: runs.baseline.map((r) => r[i]), stepwise: runs.stepwise.map((r) => r[i]) };
    };
    const pick = (n: (typeof COUNTS)[number], f: (r: Run) => number) =>
      [at(n).baseline.map(f), at(n).stepwise.map(f)] as const;
    // The design's claim: a job's history gains nothing from its notifications — every repetition
    // of the Stepwise job has the history length it has with no subscription.
    const zero = new Set(at(0).stepwise.map((r) => r.jobEvents));
    const sameAsZero = (n: 1 | 10): Goal => ({
      text: '= with 0 subscriptions',
      met: () => zero.size === 1 && at(n).stepwise.every((r) => zero.has(r.jobEvents)),
    });
    const p = (q: number) => (r: Run) => percentile(r.failToOk, q);
    const one = at(1).stepwise;
    const ten = at(10).stepwise;
    return {
      name: 'notify',
      description: `a job failing in its first step with 0, 1 and 10 job.failed subscriptions (one loopback receiver, 200): benchFail through the notifier (poll ${NOTIFIER_POLL_MS} ms) and stepwiseWebhookDelivery against baselineNotify posting the webhooks itself`,
      metrics: [
        metric(`job history, ${label(0)}`, 'events', ...pick(0, (r) => r.jobEvents)),
        metric(`job history, ${label(1)}`, 'events', ...pick(1, (r) => r.jobEvents), sameAsZero(1)),
        metric(`job history, ${label(10)}`, 'events', ...pick(10, (r) => r.jobEvents), sameAsZero(10)),
        metric(`all workflows' history, ${label(1)}`, 'events', ...pick(1, (r) => r.allEvents)),
        metric(`all workflows' history, ${label(10)}`, 'events', ...pick(10, (r) => r.allEvents)),
        metric(`bench process CPU, ${label(0)}`, 'ms', ...pick(0, (r) => r.cpuMs)),
        metric(`bench process CPU, ${label(1)}`, 'ms', ...pick(1, (r) => r.cpuMs)),
        metric(`bench process CPU, ${label(10)}`, 'ms', ...pick(10, (r) => r.cpuMs)),
        metric(`failure → 2xx, ${label(1)}`, 'ms', ...pick(1, p(50))),
        metric(`failure → 2xx p50, ${label(10)}`, 'ms', ...pick(10, p(50))),
        metric(`failure → 2xx p99, ${label(10)}`, 'ms', ...pick(10, p(99))),
      ],
      notes: [
        `"failure" is the failing step's ActivityTaskFailed (server time); "2xx" when the receiver answered (this machine's clock, as the dev server's). CPU is this process (client, bench worker, both APIs, the notifier, the notifications worker) from the start until every webhook was answered and every workflow closed.`,
        `Stepwise, medians over reps — step failed → job closed: ${med(one, (r) => r.failToClose)} ms (1 sub), ${med(ten, (r) => r.failToClose)} ms (10); closed → 2xx p50: ${med(one, (r) => percentile(r.closeToOk, 50))} ms (1), ${med(ten, (r) => percentile(r.closeToOk, 50))} ms (10), p99 ${med(ten, (r) => percentile(r.closeToOk, 99))} ms (10).`,
        `Of that: closed → delivery workflow started (visibility, the notifier's poll of ${NOTIFIER_POLL_MS} ms, its reads of the job, the starts one after another) p50 ${med(one, (r) => percentile(r.closeToDelivery, 50))} ms (1), ${med(ten, (r) => percentile(r.closeToDelivery, 50))} ms (10), last ${med(ten, (r) => Math.max(...r.closeToDelivery))} ms (10); delivery started → 2xx p50 ${med(one, (r) => percentile(r.deliveryToOk, 50))} ms (1), ${med(ten, (r) => percentile(r.deliveryToOk, 50))} ms (10), p99 ${med(ten, (r) => percentile(r.deliveryToOk, 99))} ms (10).`,
        `The raw workflow's close waits for its webhooks (a receiver that is down keeps it open); the Stepwise job closes first and its deliveries are workflows of their own.`,
      ],
      wallSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    http?.close();
    await api?.close();
    await receiver.close();
  }
}
