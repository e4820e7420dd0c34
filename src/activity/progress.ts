import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ActivityJobRef, StepResultExtras } from '../../workflows/engine/step-io';
import { PROGRESS_REPORT_BUDGET, shouldReport } from '../../workflows/engine/progress';
import { stepProgressSignal } from '../../workflows/contracts';

/** Minimum time between two reports of one activity, so a burst of items costs one signal. */
export const MIN_REPORT_INTERVAL_MS = 500;

/**
 * Reports an activity's progress: heartbeats on every call (cheap, and how cancellation reaches
 * the activity) and signals the job only within the step's report budget, so history stays bounded.
 * The final report (100 %) is not signalled: its message rides on the activity's result
 * ({@link ProgressReporter.finish}), which the job reads when the step completes — one signal and
 * one history event less per step.
 */
export class ProgressReporter {
  private lastReported: number | null = null;
  /**
   * Counted from the start, so an activity's first report waits until it has worked for
   * {@link MIN_REPORT_INTERVAL_MS}: a report sooner than that is older than the next poll of
   * anyone watching, yet costs a signal and a workflow task. Work that ends sooner sends only its
   * final report.
   */
  private lastAt = Date.now();

  constructor(
    private readonly client: Client,
    private readonly job: ActivityJobRef,
  ) {}

  private lastPercent = 0;
  /** The message of the final (100 %) report, for {@link finish}. */
  private finalMessage: string | undefined;

  /** A heartbeat with the last reported progress: for long work between two reports (a transfer). */
  heartbeat(): void {
    Context.current().heartbeat({ percent: this.lastPercent });
  }

  /** `percent` of this activity's work is done; `message` describes it. */
  async report(percent: number, message?: string): Promise<void> {
    this.lastPercent = percent;
    Context.current().heartbeat({ percent });
    if (!this.job.reportProgress) return;
    if (percent >= 100) {
      this.finalMessage = message;
      return;
    }
    const now = Date.now();
    if (!shouldReport(this.lastReported, percent, PROGRESS_REPORT_BUDGET)) return;
    if (now - this.lastAt < MIN_REPORT_INTERVAL_MS) return;
    this.lastReported = Math.floor(percent);
    this.lastAt = now;
    try {
      await this.client.workflow.getHandle(this.job.jobId).signal(stepProgressSignal, {
        stepKey: this.job.stepKey,
        attempt: this.job.attempt,
        progress: percent,
        message,
      });
    } catch (err) {
      // Progress is advisory: a job that cannot take it must not fail the work.
      Context.current().log.warn('progress report failed', { error: String(err) });
    }
  }

  /** The activity's result with the final report's message, which the job shows on the completed step. */
  finish<R extends object>(result: R): R & StepResultExtras {
    return this.finalMessage === undefined ? result : { ...result, message: this.finalMessage };
  }
}
