/**
 * Traces (src/tracing.ts, workflows/tracing.ts): a real `dataImport` — validate, a batch of
 * `importBatch` sub-jobs, index, clean up — started through the API over real HTTP, with the
 * spans exported as OTLP/HTTP JSON to a receiver in this process. One trace holds it all, rooted
 * in the API request; with tracing off, nothing is built and nothing is sent.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as otel from '@opentelemetry/api';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { activeTracing, startTracing, type Tracing } from '../../src/tracing';
import type { JobState } from '../../workflows/contracts';
import { BATCH_COORDINATOR_TYPE } from '../../workflows/engine/batch-contracts';
import exampleApp from '../../workflows/app';
import { testPipelineConfig, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { writeImportFolder } from '../pipeline-fixtures';
import { descendsFrom, OtlpReceiver, type ReceivedSpan } from '../otlp-receiver';

const SECRET = 's3cr3t-in-a-query';
const pipelines = testPipelineConfig();

async function startImport(base: string, files: number): Promise<string> {
  const dir = uniqueId('traces');
  writeImportFolder(join(pipelines.importRoot, dir), { prefix: dir, files, rowsPerFile: 20 });
  const jobId = uniqueId('traced-import');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'dataImport', jobId, input: { sourceDir: dir, batchSize: 2 } }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

async function stateOf(base: string, jobId: string): Promise<JobState> {
  const res = await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobState;
}

const completed = (base: string, jobId: string): Promise<JobState> =>
  waitFor(
    () => stateOf(base, jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );

describe('traces on (OTEL_EXPORTER_OTLP_ENDPOINT, http/json)', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let api: TestApi;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'stepwise-traces-test',
    });
    expect(config.tracing).toMatchObject({ endpoint: `${receiver.url}/v1/traces`, protocol: 'http/json' });
    tracing = startTracing(config.tracing, { defaultServiceName: 'stepwise-api' })!;
    api = await startTestApi({}, { listen: true, tracing, pipelines });
  });

  afterAll(async () => {
    await api?.close();
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('one dataImport is one trace: the API request, the job, its steps and its batch sub-jobs', async () => {
    const base = api.base!;
    const jobId = await startImport(base, 4);
    // A request with a query string: its value must appear in no span.
    await fetch(`${base}/api/jobs?type=dataImport&token=${SECRET}`);
    const state = await completed(base, jobId);
    expect(state.status).toBe('completed');
    expect(state.traceId).toMatch(/^[0-9a-f]{32}$/);
    const traceId = state.traceId!;

    const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
    const spans = await waitFor(
      async () => {
        await tracing.forceFlush();
        return receiver.spans().filter((s) => s.traceId === traceId);
      },
      (all) =>
        named(all, 'RunWorkflow:dataImport').length === 1 &&
        named(all, 'RunWorkflow:importBatch').length === 2 &&
        named(all, 'RunActivity:importNormalize').length === 2 &&
        named(all, 'RunActivity:cleanupWorkDir').length === 1,
      30_000,
      200,
    );

    // One root, the API request; every other span's parent is in the trace.
    const roots = spans.filter((s) => s.parentSpanId === null);
    expect(roots.map((s) => s.name)).toEqual(['POST /api/jobs']);
    const root = roots[0];
    expect(root.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/api/jobs',
      'url.path': '/api/jobs',
      'http.response.status_code': 201,
    });
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s.parentSpanId !== null && !ids.has(s.parentSpanId))).toEqual([]);

    // The client's start under the request, the job's workflow under that.
    const [start] = named(spans, 'StartWorkflow:dataImport');
    expect(start.parentSpanId).toBe(root.spanId);
    const [workflow] = named(spans, 'RunWorkflow:dataImport');
    expect(descendsFrom(workflow, root.spanId, spans)).toBe(true);
    expect(workflow.attributes).toMatchObject({
      'stepwise.job.id': jobId,
      'stepwise.job.type': 'dataImport',
    });

    // Each activity step, under the job's workflow, with the job, the step and the attempt.
    for (const [activity, step] of [
      ['importValidate', 'validate'],
      ['importIndex', 'index'],
      ['cleanupWorkDir', 'cleanup'],
    ]) {
      const [run] = named(spans, `RunActivity:${activity}`);
      expect(descendsFrom(run, workflow.spanId, spans)).toBe(true);
      expect(run.attributes).toMatchObject({
        'stepwise.job.id': jobId,
        'stepwise.job.type': 'dataImport',
        'stepwise.step': step,
        'stepwise.attempt': 1,
      });
      const [scheduled] = named(spans, `StartActivity:${activity}`);
      expect(run.parentSpanId).toBe(scheduled.spanId);
      expect(scheduled.attributes).toMatchObject({ 'stepwise.job.id': jobId, 'stepwise.step': step });
    }

    // The batch step: its coordinator and its importBatch sub-jobs, under the job's workflow.
    const [coordinator] = named(spans, `RunWorkflow:${BATCH_COORDINATOR_TYPE}`);
    expect(descendsFrom(coordinator, workflow.spanId, spans)).toBe(true);
    expect(coordinator.attributes).toMatchObject({
      'stepwise.parent_job.id': jobId,
      'stepwise.step': 'process',
    });
    const batches = named(spans, 'RunWorkflow:importBatch');
    for (const batch of batches) {
      expect(descendsFrom(batch, coordinator.spanId, spans)).toBe(true);
      const subJobId = batch.attributes['stepwise.job.id'] as string;
      expect(subJobId.startsWith(`${jobId}/`)).toBe(true);
      expect(batch.attributes).toMatchObject({
        'stepwise.job.type': 'importBatch',
        'stepwise.parent_job.id': jobId,
        'stepwise.step': 'process',
        'stepwise.attempt': 1,
      });
      // Its own step, under it.
      const normalize = named(spans, 'RunActivity:importNormalize').filter(
        (s) => s.attributes['stepwise.job.id'] === subJobId,
      );
      expect(normalize).toHaveLength(1);
      expect(descendsFrom(normalize[0], batch.spanId, spans)).toBe(true);
      expect(normalize[0].attributes).toMatchObject({
        'stepwise.job.type': 'importBatch',
        'stepwise.parent_job.id': jobId,
        'stepwise.step': 'normalize',
        'stepwise.attempt': 1,
      });
      // The sub-job's state names the same trace.
      expect((await stateOf(base, subJobId)).traceId).toBe(traceId);
    }

    // One trace: every span of the job's run or of its sub-jobs' received is in it (later requests
    // that read the job, such as the polls above, are traces of their own).
    const everything = receiver.spans();
    const aboutJob = everything.filter(
      (s) =>
        s.attributes['http.route'] === undefined &&
        [s.attributes['stepwise.job.id'], s.attributes['stepwise.parent_job.id']].some(
          (id) => typeof id === 'string' && (id === jobId || id.startsWith(`${jobId}/`)),
        ),
    );
    // At least the spans checked one by one above: the workflow, 3 steps' StartActivity and
    // RunActivity, the coordinator, 2 sub-jobs and their 2 RunActivity.
    expect(aboutJob.length).toBeGreaterThanOrEqual(12);
    expect(aboutJob.filter((s) => s.traceId !== traceId)).toEqual([]);

    // Every span names the service; no span carries the query string's value.
    expect(new Set(spans.map((s) => s.resource['service.name']))).toEqual(new Set(['stepwise-traces-test']));
    expect(JSON.stringify(everything.map((s) => s.attributes))).not.toContain(SECRET);
    const list = everything.find((s) => s.name === 'GET /api/jobs');
    expect(list?.attributes['url.path']).toBe('/api/jobs');
    expect(list?.traceId).not.toBe(traceId);
  });
});

describe('traces off', () => {
  let receiver: OtlpReceiver;
  let api: TestApi;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    api = await startTestApi({}, { listen: true, pipelines });
  });

  afterAll(async () => {
    await api?.close();
    await receiver?.close();
  });

  it('without an endpoint (or disabled) nothing is built, installed or sent', async () => {
    expect(loadConfig({}).tracing.endpoint).toBeNull();
    // Disabled by the standard switches even with an endpoint: the receiver's.
    for (const off of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }]) {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...off }).tracing.endpoint).toBeNull();
    }
    // The worker has only its own log interceptor, and the sink that drops spans.
    expect(api.worker.options.interceptors.activity).toHaveLength(1);
    // The production path: an API that connects and starts tracing from its configuration — with no
    // OTEL_* variable at all, then with the receiver's endpoint but disabled.
    const envs: NodeJS.ProcessEnv[] = [
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SDK_DISABLED: 'true',
      },
    ];
    for (const otelEnv of envs) {
      const server = await createApp(
        loadConfig({
          TEMPORAL_ADDRESS: api.env.address,
          TEMPORAL_TASK_QUEUE: api.taskQueue,
          STEPWISE_AUDIT_DB_PATH: ':memory:',
          STEPWISE_NOTIFICATIONS_DB_PATH: ':memory:',
          ...otelEnv,
        }),
        { app: exampleApp },
      );
      try {
        await server.listen(0, '127.0.0.1');
        const base = `http://127.0.0.1:${(server.getHttpServer().address() as AddressInfo).port}`;
        // No provider, exporter or propagator was registered: the global tracer records nothing.
        expect(activeTracing()).toBeNull();
        expect(otel.trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);

        const jobId = await startImport(base, 2);
        const state = await completed(base, jobId);
        expect(state.status).toBe('completed');
        expect(state.traceId).toBeNull();
        // Its sub-jobs are untraced too.
        const subJobs = (await (
          await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}/children`)
        ).json()) as { jobId: string }[];
        expect(subJobs.length).toBeGreaterThan(0);
        for (const sub of subJobs) expect((await stateOf(base, sub.jobId)).traceId).toBeNull();
      } finally {
        await server.close();
      }
    }
    expect(receiver.bodies).toEqual([]);
    expect(receiver.others).toEqual([]);
  });
});
