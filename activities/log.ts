import { Context } from '@temporalio/activity';
import type { ActivityJobRef } from '../workflows/activity-contracts';

type Meta = Record<string, unknown>;

/** The activity logger with the job context every line must carry. */
export function jobLog(
  job: ActivityJobRef,
): Record<'debug' | 'info' | 'warn' | 'error', (m: string, meta?: Meta) => void> {
  const base = { jobId: job.jobId, jobType: job.jobType, parentJobId: job.parentJobId, step: job.stepKey };
  const log = Context.current().log;
  return {
    debug: (m, meta) => log.debug(m, { ...base, ...meta }),
    info: (m, meta) => log.info(m, { ...base, ...meta }),
    warn: (m, meta) => log.warn(m, { ...base, ...meta }),
    error: (m, meta) => log.error(m, { ...base, ...meta }),
  };
}
