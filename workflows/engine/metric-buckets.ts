/**
 * Bucket boundaries, in seconds, of the jobs' own histograms (workflows/engine/metrics.ts). The
 * worker's Runtime is installed with them (`histogramBucketOverrides`): without them the SDK gives
 * a histogram it does not know six buckets from 0.05 s to 10 s, too few for steps and jobs that run
 * from milliseconds to hours. Plain data, so the worker process and the workflow code share it.
 */

/** Steps: from a quick activity to a long batch (0.01 s … 6 h). */
export const STEP_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600,
];

/** Job runs: from seconds to a day (0.1 s … 24 h). */
export const JOB_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400,
];

/** The histograms' names and buckets, as `histogramBucketOverrides` takes them. */
export const JOB_HISTOGRAM_BUCKETS: Readonly<Record<string, readonly number[]>> = {
  stepwise_step_duration_seconds: STEP_DURATION_BUCKETS_SECONDS,
  stepwise_job_duration_seconds: JOB_DURATION_BUCKETS_SECONDS,
};
