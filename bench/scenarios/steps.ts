/** `steps`: engine overhead on 20 activity steps against a plain workflow calling the activity 20×. */
import type { Client } from '@temporalio/client';
import type { StepwiseClient } from '../../src/client/client';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import { cpuMsSince, goals, metric, pairs, type ScenarioResult } from '../lib';
import { BENCH_STEPS, benchStepsDefinition } from '../workflows';

interface Run {
  wallMs: number;
  cpuMs: number;
  events: number;
}

/** Starts the raw `workflowType` and waits for its result: wall time, this process's CPU, history length. */
export async function timeWorkflow(
  client: Client,
  taskQueue: string,
  workflowType: string,
  arg: unknown,
  workflowId: string,
): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const handle = await client.workflow.start(workflowType, {
    taskQueue,
    workflowId,
    args: [arg],
    typedSearchAttributes: initialJobAttributes(workflowType),
  });
  await handle.result();
  const wallMs = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  const events = (await handle.describe()).historyLength;
  return { wallMs, cpuMs, events };
}

/** The same for a `benchSteps` job, started through the client. */
async function timeJob(jobs: StepwiseClient, workflowId: string): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await jobs.start(benchStepsDefinition, { durationMs: 0 }, { jobId: workflowId });
  const handle = jobs.temporal.workflow.getHandle(workflowId);
  await handle.result();
  const wallMs = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  const events = (await handle.describe()).historyLength;
  return { wallMs, cpuMs, events };
}

export async function stepsScenario(env: BenchEnv, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const runs = await pairs(reps, (side, rep) =>
    side === 'baseline'
      ? timeWorkflow(
          env.client,
          env.taskQueue,
          'baselineSteps',
          { steps: BENCH_STEPS, durationMs: 0 },
          `${env.runId}-steps-${rep}-raw`,
        )
      : timeJob(env.jobs, `${env.runId}-steps-${rep}-stepwise`),
  );
  const pick = (k: keyof Run) => [runs.baseline.map((r) => r[k]), runs.stepwise.map((r) => r[k])] as const;
  return {
    name: 'steps',
    description: `${BENCH_STEPS} simulateWork activity steps in sequence (no simulated work): benchSteps against baselineSteps`,
    metrics: [
      metric('wall (start → result)', 'ms', ...pick('wallMs'), goals.ratioAtMost(1.05)),
      metric('bench process CPU', 'ms', ...pick('cpuMs'), goals.ratioAtMost(1.15)),
      metric('history events', 'events', ...pick('events'), goals.plusAtMost(BENCH_STEPS, ' events')),
    ],
    notes: [
      'CPU is this process: client, worker and workflow threads, and the in-process API (idle here); not the server.',
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
