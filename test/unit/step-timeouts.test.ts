/**
 * A worker that dies is noticed by its heartbeat timeout, not by the step's whole start-to-close
 * timeout (10 minutes by default): every activity step of the example app heartbeats within a
 * minute, and the dataset download step's timeout fits its largest input (issue 18.6).
 */
import { loadPipelineConfig } from '../../activities/pipeline-config';
import exampleApp from '../../workflows/app';
import { DOWNLOAD_STEP_TIMEOUT_MS, MAX_DATASET_SOURCES } from '../../workflows/jobs/dataset-build';

const activitySteps = exampleApp.jobs.flatMap((def) =>
  def.steps
    .map((step) => [`${def.name}.${step.key}`, step] as const)
    .filter(([, s]) => s.kind === 'activity'),
);

test.each(activitySteps)('%s heartbeats within 60 s', (_name, step) => {
  const heartbeat = step.kind === 'activity' ? step.heartbeatTimeoutMs : undefined;
  expect(heartbeat).toBeGreaterThan(0);
  expect(heartbeat).toBeLessThanOrEqual(60_000);
});

test('the dataset download step has time for its largest input at the default settings', () => {
  const download = exampleApp.find('datasetBuild')!.steps.find((s) => s.key === 'download')!;
  expect(download.timeoutMs).toBe(DOWNLOAD_STEP_TIMEOUT_MS);
  // The activity's own bound (activities/dataset/activities.ts): every item ends within its
  // deadline, so the step ends within ceil(sources / concurrency) deadlines.
  const { download: settings } = loadPipelineConfig({});
  const worstMs = Math.ceil(MAX_DATASET_SOURCES / settings.concurrency) * settings.timeoutMs;
  expect(worstMs).toBeLessThan(DOWNLOAD_STEP_TIMEOUT_MS);
});
