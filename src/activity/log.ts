import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { ActivityJobRef } from '../../workflows/engine/step-io';

type Meta = Record<string, unknown>;

/** The job context every activity log line carries (the same four fields as workflow lines). */
export function jobLogAttributes(job: ActivityJobRef): {
  jobId: string;
  jobType: string;
  parentJobId: string | null;
  step: string;
} {
  return { jobId: job.jobId, jobType: job.jobType, parentJobId: job.parentJobId, step: job.stepKey };
}

function isJobRef(arg: unknown): arg is ActivityJobRef {
  if (arg === null || typeof arg !== 'object') return false;
  const r = arg as Partial<Record<keyof ActivityJobRef, unknown>>;
  return (
    typeof r.jobId === 'string' &&
    typeof r.jobType === 'string' &&
    typeof r.stepKey === 'string' &&
    (r.parentJobId === null || typeof r.parentJobId === 'string')
  );
}

/** The SDK's own first line, written before any interceptor sees the activity's arguments. */
export const SDK_ACTIVITY_STARTED = 'Activity started';

/**
 * Adds the job context from the activity's first argument (its {@link ActivityJobRef}) to every
 * log line of the activity: the SDK's lifecycle lines ("Activity completed", "Activity failed", …)
 * and `Context.current().log`. The SDK writes "Activity started" before any interceptor sees the
 * arguments, so this interceptor writes it again with the job context and {@link JsonLogger}
 * drops the SDK's copy.
 */
export const jobLogInterceptor: ActivityInterceptorsFactory = (ctx) => {
  let attributes: ReturnType<typeof jobLogAttributes> | null = null;
  return {
    inbound: {
      execute: (input, next) => {
        if (isJobRef(input.args[0])) {
          attributes = jobLogAttributes(input.args[0]);
          ctx.log.debug(SDK_ACTIVITY_STARTED);
        }
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (input, next) => next(attributes ? { ...input, ...attributes } : input),
    },
  };
};

/** The activity logger with the job context every line must carry. */
export function jobLog(
  job: ActivityJobRef,
): Record<'debug' | 'info' | 'warn' | 'error', (m: string, meta?: Meta) => void> {
  const base = jobLogAttributes(job);
  const log = Context.current().log;
  return {
    debug: (m, meta) => log.debug(m, { ...base, ...meta }),
    info: (m, meta) => log.info(m, { ...base, ...meta }),
    warn: (m, meta) => log.warn(m, { ...base, ...meta }),
    error: (m, meta) => log.error(m, { ...base, ...meta }),
  };
}
