/**
 * `schedule-start`: the start rate through a schedule against direct starts. {@link RUNS} runs of
 * `example` started by backfilling a paused one-second interval schedule (`StepwiseClient.
 * backfillSchedule`, overlap `allow_all`: Temporal's scheduler starts each run) against
 * {@link RUNS} direct starts of the same type through `StepwiseClient.start`, one after another
 * (as one scheduler starts them). Both on a task queue no worker polls, so only the start path
 * counts. Measured: starts per second, from the request (the backfill, or the first start) to the
 * last run's start time as Temporal recorded it (visibility's `StartTime`), read once every run is
 * listed.
 */
import { randomUUID } from 'node:crypto';
import { StepwiseClient } from '../../src/client/client';
import type { BenchEnv } from '../env';
import { metric, pairs, waitUntil, type ScenarioResult } from '../lib';
import benchApp from '../workflows';

/** Runs a measurement starts. */
const RUNS = 100;

/** The start time of every run the visibility `query` lists, once it lists `n`. */
async function startTimes(env: BenchEnv, query: string, n: number): Promise<number[]> {
  return waitUntil(
    `${n} runs listed`,
    async () => {
      const times: number[] = [];
      for await (const w of env.client.workflow.list({ query })) times.push(w.startTime.getTime());
      return times.length >= n ? times : undefined;
    },
    { timeoutMs: 120_000, everyMs: 200 },
  );
}

export async function scheduleStartScenario(env: BenchEnv, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const idleQueue = `${env.runId}-schedule-idle`;
  const jobs = new StepwiseClient({ app: benchApp, client: env.client, taskQueue: idleQueue });
  const rate = async (side: 'baseline' | 'stepwise', rep: number | 'warmup'): Promise<number> => {
    const n = rep === 'warmup' ? 10 : RUNS;
    const id = `${env.runId}-sched-${rep}-${randomUUID().slice(0, 8)}`;
    if (side === 'stepwise') {
      await jobs.createSchedule({
        scheduleId: id,
        type: 'example',
        input: { durationMs: 0 },
        intervalSeconds: 1,
        paused: true,
      });
      const end = Math.floor(Date.now() / 1000) * 1000;
      const started = Date.now();
      await jobs.backfillSchedule(id, {
        start: new Date(end - n * 1000).toISOString(),
        end: new Date(end - 1).toISOString(),
        overlap: 'allow_all',
      });
      const times = await startTimes(env, `TemporalScheduledById = '${id}'`, n);
      await jobs.deleteSchedule(id);
      return n / ((Math.max(...times) - started) / 1000);
    }
    const started = Date.now();
    for (let i = 0; i < n; i++) await jobs.start('example', { durationMs: 0 }, { jobId: `${id}-${i}` });
    const times = await startTimes(env, `WorkflowId STARTS_WITH '${id}-'`, n);
    return n / ((Math.max(...times) - started) / 1000);
  };
  const runs = await pairs(reps, (side, rep) => rate(side, rep));
  await jobs.close();
  return {
    name: 'schedule-start',
    description: `${RUNS} example runs started by backfilling a paused 1 s schedule (Temporal's scheduler) against ${RUNS} direct StepwiseClient.start calls in sequence; both on a task queue no worker polls`,
    // No goal: the pace is Temporal's scheduler's, not Stepwise's (bench/README.md).
    metrics: [metric('starts per second', 'runs/s', runs.baseline, runs.stepwise)],
    notes: [
      'From the request (backfill, or the first start) to the last run’s start time in visibility; "raw" is the direct starts, "stepwise" the schedule.',
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
