/**
 * Stepwise's custom search attributes as typed keys: the workflows upsert them, the API starts
 * jobs and lists them with them, and the launchers register them on the namespace from
 * {@link SEARCH_ATTRIBUTE_KEYS} (dev server, `docker-compose.yml`, the cluster script).
 *
 * `@temporalio/common` is already part of every workflow bundle (`@temporalio/workflow` is built
 * on it), so importing its pure helpers here is as deterministic as importing the workflow SDK.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/** A typed key (the SDK's `SearchAttributeKey`, which its root module does not export by name). */
export type JobSearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

/** The job type (workflow type) of a job or sub-job. */
export const JobTypeKey = defineSearchAttributeKey('JobType', SearchAttributeType.KEYWORD);
/** The job's status (`running`, `paused`, `completed`, …), updated at every status change. */
export const JobStatusKey = defineSearchAttributeKey('JobStatus', SearchAttributeType.KEYWORD);
/** 1-based index of the step the job is on, updated at step boundaries. */
export const JobStepKey = defineSearchAttributeKey('JobStep', SearchAttributeType.INT);
/** Progress 0–100 as of the last step boundary or status change. */
export const JobProgressKey = defineSearchAttributeKey('JobProgress', SearchAttributeType.INT);
/** True when the closed job can be retried from a step. */
export const JobRecoverableKey = defineSearchAttributeKey('JobRecoverable', SearchAttributeType.BOOL);
/** The parent job of a sub-job (and of a batch coordinator). */
export const JobParentIdKey = defineSearchAttributeKey('JobParentId', SearchAttributeType.KEYWORD);
/**
 * Who started a top-level job: the API key's name (`local` in open mode), or what a
 * `StepwiseClient` caller passed as `startedBy`. Sub-jobs do not carry it.
 */
export const JobStartedByKey = defineSearchAttributeKey('JobStartedBy', SearchAttributeType.KEYWORD);

/**
 * True once the job has run longer than its learned ETA allows (`JobState.etaOverrun`): how the
 * notifier finds the jobs whose `job.eta_overrun` it owes. Unset on jobs that never overran.
 */
export const JobEtaOverrunKey = defineSearchAttributeKey('JobEtaOverrun', SearchAttributeType.BOOL);

/** Every key, for registration on a namespace. */
export const SEARCH_ATTRIBUTE_KEYS: readonly JobSearchAttributeKey[] = [
  JobTypeKey,
  JobStatusKey,
  JobStepKey,
  JobProgressKey,
  JobRecoverableKey,
  JobParentIdKey,
  JobStartedByKey,
  JobEtaOverrunKey,
];

/**
 * The attributes every job starts with; a sub-job also names its parent, a top-level job started
 * through a client who started it.
 */
export function initialJobAttributes(
  type: string,
  parentJobId?: string | null,
  startedBy?: string,
): SearchAttributePair[] {
  return [
    { key: JobTypeKey, value: type },
    { key: JobStatusKey, value: 'running' },
    ...(parentJobId ? [{ key: JobParentIdKey, value: parentJobId }] : []),
    ...(startedBy ? [{ key: JobStartedByKey, value: startedBy }] : []),
  ];
}
