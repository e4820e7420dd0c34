/**
 * Workflow interceptors, registered as a workflow interceptor module when the bundle is built
 * (`scripts/build-workflow-bundle.ts`, `src/worker-factory.ts`). They add the job context —
 * `jobId`, `jobType`, `parentJobId`, `step` — to every `workflow.log` line, so the SDK's own
 * lifecycle lines ("Workflow started", "Workflow completed", "Workflow failed", …) carry it like
 * the engine's lines do. They only add log attributes: no command changes, replay is unaffected.
 */
import * as wf from '@temporalio/workflow';
import type { JobParams } from './contracts';
import { BATCH_COORDINATOR_TYPE, type BatchCoordinatorParams } from './engine/batch-contracts';
import { currentStepKey } from './engine/log-context';
import { JobParentIdKey } from './search-attributes';

/** The attributes every workflow and activity log line carries. */
export interface JobLogAttributes {
  jobId: string;
  jobType: string;
  parentJobId: string | null;
  step: string | null;
}

/** What the workflow's argument says about its parent and step. */
interface ArgContext {
  parentJobId: string | null;
  step: string | null;
}

function contextFromArgs(workflowType: string, arg: unknown): ArgContext {
  if (arg === null || typeof arg !== 'object') return { parentJobId: null, step: null };
  if (workflowType === BATCH_COORDINATOR_TYPE) {
    // The coordinator runs one step of its job: its lines name that job and step.
    const p = arg as Partial<BatchCoordinatorParams>;
    return { parentJobId: p.parentJobId ?? null, step: p.stepKey ?? null };
  }
  const p = arg as Partial<JobParams>;
  return { parentJobId: p.parent?.jobId ?? null, step: null };
}

/**
 * Before the workflow function runs ("Workflow started") its argument is not visible yet; the
 * `JobParentId` search attribute, which the engine sets on every child it starts, names the same
 * parent job (a batch chunk's parent job, not its coordinator).
 */
function parentFromStart(info: wf.WorkflowInfo): string | null {
  const parent = info.typedSearchAttributes.get(JobParentIdKey);
  if (parent !== undefined) return parent;
  return info.parent?.workflowId ?? null;
}

export const interceptors: wf.WorkflowInterceptorsFactory = () => {
  let fromArgs: ArgContext | null = null;
  const attributes = (): JobLogAttributes => {
    const info = wf.workflowInfo();
    return {
      jobId: info.workflowId,
      jobType: info.workflowType,
      parentJobId: fromArgs ? fromArgs.parentJobId : parentFromStart(info),
      step: currentStepKey() ?? fromArgs?.step ?? null,
    };
  };
  return {
    inbound: [
      {
        execute: (input, next) => {
          fromArgs = contextFromArgs(wf.workflowInfo().workflowType, input.args[0]);
          return next(input);
        },
      },
    ],
    outbound: [{ getLogAttributes: (input, next) => next({ ...input, ...attributes() }) }],
  };
};
