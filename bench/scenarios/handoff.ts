/**
 * `handoff`: how soon the next step starts once a sub-job completed — from the parent's history,
 * `ChildWorkflowExecutionCompleted` → the next activity's `ActivityTaskStarted` (server
 * timestamps), for `benchHandoff` (sub-job step, then activity step) against `baselineHandoff`
 * (executeChild, then the activity).
 */
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import { eventMs, goals, historyOf, metric, pairs, percentile, type ScenarioResult } from '../lib';
import { benchHandoffDefinition } from '../workflows';

async function handoffMs(env: BenchEnv, workflowType: string, workflowId: string): Promise<number> {
  if (workflowType === 'benchHandoff') {
    await env.jobs.start(benchHandoffDefinition, {}, { jobId: workflowId });
  } else {
    await env.client.workflow.start(workflowType, {
      taskQueue: env.taskQueue,
      workflowId,
      args: [],
      typedSearchAttributes: initialJobAttributes(workflowType),
    });
  }
  await env.client.workflow.getHandle(workflowId).result();
  const events = await historyOf(env.client, workflowId);
  const done = events.findIndex((e) => e.childWorkflowExecutionCompletedEventAttributes);
  const started = events.findIndex((e, i) => i > done && e.activityTaskStartedEventAttributes);
  if (done < 0 || started < 0)
    throw new Error(`handoff: no child completion or next activity in ${workflowId}`);
  return eventMs(events[started]) - eventMs(events[done]);
}

export async function handoffScenario(env: BenchEnv, reps: number, perRep = 10): Promise<ScenarioResult> {
  const t0 = Date.now();
  const runs = await pairs(reps, async (side, rep) => {
    const n = rep === 'warmup' ? 2 : perRep;
    const gaps: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${env.runId}-handoff-${rep}-${side}-${i}`;
      gaps.push(await handoffMs(env, side === 'stepwise' ? 'benchHandoff' : 'baselineHandoff', id));
    }
    return { p50: percentile(gaps, 50), p99: percentile(gaps, 99) };
  });
  return {
    name: 'handoff',
    description: `child completed → next step's activity started (history timestamps), ${perRep} jobs per repetition: benchHandoff against baselineHandoff`,
    metrics: [
      metric(
        'handoff p50',
        'ms',
        runs.baseline.map((r) => r.p50),
        runs.stepwise.map((r) => r.p50),
        goals.plusAtMost(20, ' ms'),
      ),
      metric(
        'handoff p99',
        'ms',
        runs.baseline.map((r) => r.p99),
        runs.stepwise.map((r) => r.p99),
      ),
    ],
    notes: [],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
