/**
 * The readable log line (LOG_FORMAT=pretty, what the launchers print in a terminal): message first,
 * the fields that matter as key=value on the same line, no task tokens, the error's stack below.
 */
import { prettyMessage } from '../../src/log-pretty';

/** An activity line as the worker logs it (fields as the SDK and the job interceptor give them). */
const activityLine = {
  level: 'info',
  time: '2026-12-04T19:14:50.795Z',
  component: 'worker',
  sdkComponent: 'activity',
  taskQueue: 'stepwise',
  isLocal: false,
  attempt: 1,
  namespace: 'default',
  taskToken:
    'CiQwMWEyNDI3YS01ZmNjLTdkNDgtYTI0Yi1kYjBmMjMzMTk0MzgSLGV4YW1wbGUtNTk5YzVhMjgtNDc4YS00MzU3LTkyZjYtOGZlZTI1ZTlkMGM0',
  workflowId: 'example-1',
  workflowType: 'example',
  runId: '01a2427b-0ca2-76e1-8d0f-1d3472551f19',
  activityType: 'simulateWork',
  jobId: 'example-1',
  jobType: 'example',
  parentJobId: null,
  step: 'prepare',
  message: 'Activity completed',
};

it('puts the message first and leaves out task tokens, run ids and repeated or empty fields', () => {
  expect(prettyMessage(activityLine)).toBe(
    'Activity completed  attempt=1 activityType=simulateWork jobId=example-1 jobType=example step=prepare',
  );
});

it('does not repeat what the message says (the request log)', () => {
  expect(
    prettyMessage({
      message: 'GET /api/jobs/:jobId 200',
      method: 'GET',
      route: '/api/jobs/:jobId',
      url: '/api/jobs/x-1',
      status: 200,
      durationMs: 3.2,
      requestId: 'r-1',
    }),
  ).toBe('GET /api/jobs/:jobId 200  url=/api/jobs/x-1 durationMs=3.2 requestId=r-1');
});

it('an error: type, message and causes on the line, the stack below it', () => {
  const line = prettyMessage({
    message: 'worker failed',
    error: {
      type: 'Error',
      message: 'boom',
      stack: 'Error: boom\n    at main (worker.js:1:1)',
      cause: { type: 'TypeError', message: 'inner' },
    },
  });
  expect(line).toBe('worker failed  error="Error: boom ← TypeError: inner"\n    at main (worker.js:1:1)');
});

it('quotes values with spaces and cuts very long ones', () => {
  expect(prettyMessage({ message: 'm', bundle: 'bundled at start', big: 'x'.repeat(500) })).toBe(
    `m  bundle="bundled at start" big=${'x'.repeat(200)}…`,
  );
});
