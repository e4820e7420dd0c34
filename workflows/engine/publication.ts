/**
 * Where a job's state becomes visible outside its own queries: the Web UI's current-details line,
 * the search attributes (only when the status or step changes: each upsert costs history), and
 * reports to the parent job (status changes always, progress within a budget).
 */
import * as wf from '@temporalio/workflow';
import {
  stepProgressSignal,
  type JobParams,
  type JobState,
  type JobStatus,
  type StepProgressReport,
} from '../contracts';
import {
  JobProgressKey,
  JobRecoverableKey,
  JobStatusKey,
  JobStepKey,
  JobTypeKey,
} from '../search-attributes';
import { PROGRESS_REPORT_BUDGET, shouldReport } from './progress';
import { isRecoverable } from './recovery';

/** Chunk sub-jobs no longer report `cancelling` to their batch coordinator (see {@link Publisher.reportToParent}). */
export const QUIET_CHUNK_CANCEL_PATCH = 'chunk-sub-job-quiet-cancelling';

export class Publisher {
  private lastUpsert = { status: '', step: -1 };
  private lastParentReport: number | null = null;
  private lastReportedStatus: JobStatus = 'running';

  constructor(
    private readonly jobType: string,
    private readonly parent: JobParams['parent'],
  ) {}

  /** The Web UI's details line, and the search attributes when the status or step changed. */
  publish(st: JobState): void {
    const stepPart = st.currentStep > 0 ? `Step ${st.currentStep}/${st.totalSteps} · ${st.stepName} · ` : '';
    wf.setCurrentDetails(`${stepPart}${st.progress}% · ${st.status}${st.message ? `\n${st.message}` : ''}`);
    if (st.status === this.lastUpsert.status && st.currentStep === this.lastUpsert.step) return;
    this.lastUpsert = { status: st.status, step: st.currentStep };
    wf.upsertSearchAttributes([
      { key: JobTypeKey, value: this.jobType },
      { key: JobStatusKey, value: st.status },
      { key: JobStepKey, value: st.currentStep },
      { key: JobProgressKey, value: st.progress },
      { key: JobRecoverableKey, value: isRecoverable(st) },
    ]);
  }

  /** Tells the parent job (or the batch coordinator running this job) how this sub-job is doing. */
  reportToParent(st: JobState): void {
    const parent = this.parent;
    if (!parent) return;
    // Status changes always (pausing/paused/cancelling: a handful per run); progress within a budget.
    const statusChanged = st.status !== this.lastReportedStatus;
    const progressDue =
      parent.reportProgress && shouldReport(this.lastParentReport, st.progress, PROGRESS_REPORT_BUDGET);
    if (!statusChanged && !progressDue) return;
    this.lastReportedStatus = st.status;
    // A batch coordinator hears its chunk sub-jobs' statuses only to know when all have paused; it
    // cancels them itself, so `cancelling` tells it nothing — one signal (and a coordinator task)
    // less per chunk sub-job that a cancellation stops. Runs recorded before this still send it.
    if (
      !progressDue &&
      st.status === 'cancelling' &&
      Boolean(parent.reportTo) &&
      wf.patched(QUIET_CHUNK_CANCEL_PATCH)
    ) {
      return;
    }
    if (progressDue) this.lastParentReport = Math.floor(st.progress);
    const report: StepProgressReport = {
      stepKey: parent.stepKey,
      attempt: parent.attempt,
      progress: st.progress,
      message: st.message ?? undefined,
      subJob: {
        id: st.jobId,
        type: this.jobType,
        status: st.status,
        progress: st.progress,
        step: parent.stepKey,
      },
    };
    // A parent that already closed cannot take the report; that is not this job's failure.
    wf.getExternalWorkflowHandle(parent.reportTo ?? parent.jobId)
      .signal(stepProgressSignal, report)
      .catch(() => undefined);
  }
}
