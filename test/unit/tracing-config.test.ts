/**
 * Traces' pure parts: the `OTEL_*` variables and `STEPWISE_TRACE_URL` as the configuration reads
 * them, the trace context a workflow reads from its start headers, and the span attributes. The
 * traces themselves are in test/api/traces.test.ts, the dashboard’s link in test/browser/trace-link.test.ts.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '../../src/config';
import { startTracing, tracingTarget } from '../../src/tracing';
import {
  activitySpanAttributes,
  jobSpanAttributes,
  TRACE_HEADER,
  traceParentOf,
} from '../../workflows/engine/trace-context';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe('tracing configuration', () => {
  it('is off without an endpoint, whatever else is set', () => {
    const c = loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(c.tracing.endpoint).toBeNull();
    expect(startTracing(c.tracing, { defaultServiceName: 'stepwise-api' })).toBeNull();
    expect(tracingTarget(c.tracing)).toBe('off');
  });

  it('appends /v1/traces to the base endpoint for HTTP, takes the traces endpoint as given', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: null,
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }).tracing,
    ).toMatchObject({ endpoint: 'https://tempo.example/otlp/v1/traces', protocol: 'http/json' });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      }).tracing,
    ).toMatchObject({ endpoint: 'http://collector:4317', protocol: 'grpc' });
    // The traces protocol wins over the general one.
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }).tracing,
    ).toMatchObject({ endpoint: 'http://c:4318/v1/traces', protocol: 'http/json' });
  });

  it('reads the service name and the sampler', () => {
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_SERVICE_NAME: 'jobs-api',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }).tracing,
    ).toMatchObject({ serviceName: 'jobs-api', sampler: 'parentbased_traceidratio', samplerRatio: 0.25 });
  });

  it('is off when disabled by the standard switches', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' }).tracing.endpoint).toBeNull();
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing.endpoint).toBeNull();
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'false' }).tracing.endpoint).not.toBeNull();
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, /OTEL_EXPORTER_OTLP_PROTOCOL:/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT:/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:/],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER:/],
    [{ OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG:/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER:/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names where spans go without credentials or query', () => {
    const c = loadConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://user:pw@tempo.example/v1/traces?k=1',
    });
    expect(tracingTarget(c.tracing)).toBe('http/protobuf https://tempo.example/v1/traces');
  });
});

describe('STEPWISE_TRACE_URL', () => {
  it.each([
    'http://localhost:16686/trace/{traceId}',
    'https://grafana.example/explore?left={"queries":[{"query":"{traceId}"}]}',
  ])('takes %s', (url) => {
    expect(loadConfig({ STEPWISE_TRACE_URL: url }).dashboard.traceUrl).toBe(url);
  });

  it('is null when unset', () => {
    expect(loadConfig({}).dashboard.traceUrl).toBeNull();
  });

  it.each([
    ['http://localhost:16686/trace/', /STEPWISE_TRACE_URL: must contain \{traceId\}/],
    ['javascript:alert(1)//{traceId}', /STEPWISE_TRACE_URL: must be an http:\/\/ or https:\/\/ URL/],
    ['ftp://x/{traceId}', /STEPWISE_TRACE_URL: must be an http:\/\/ or https:\/\/ URL/],
    ['/trace/{traceId}', /STEPWISE_TRACE_URL: must be an http:\/\/ or https:\/\/ URL/],
  ])('refuses %s', (url, message) => {
    expect(() => loadConfig({ STEPWISE_TRACE_URL: url })).toThrow(message);
  });
});

describe('the trace context of a workflow start', () => {
  const headers = (carrier: unknown) => ({ [TRACE_HEADER]: defaultPayloadConverter.toPayload(carrier) });

  it('reads the traceparent the Temporal interceptors carry', () => {
    expect(traceParentOf(headers({ traceparent: `00-${TRACE}-${SPAN}-01` }))).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
    });
    expect(traceParentOf(headers({ traceparent: `00-${TRACE}-${SPAN}-00` }))?.sampled).toBe(false);
  });

  it.each([
    ['no header', undefined],
    ['an empty carrier', headers({})],
    ['a malformed traceparent', headers({ traceparent: 'not-a-traceparent' })],
    ['an all-zero trace id', headers({ traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` })],
    ['version ff', headers({ traceparent: `ff-${TRACE}-${SPAN}-01` })],
    ['a payload that is not JSON', { [TRACE_HEADER]: { metadata: {}, data: new Uint8Array([1]) } }],
  ])('is null for %s', (_what, h) => {
    expect(traceParentOf(h)).toBeNull();
  });
});

describe('span attributes', () => {
  it('name the job, the step and the attempt of an activity', () => {
    const ref = {
      jobId: 'imp-1/process/0',
      jobType: 'importBatch',
      parentJobId: 'imp-1',
      stepKey: 'normalize',
      stepIndex: 1,
      attempt: 2,
      reportProgress: false,
    };
    expect(activitySpanAttributes(ref)).toEqual({
      'stepwise.job.id': 'imp-1/process/0',
      'stepwise.job.type': 'importBatch',
      'stepwise.parent_job.id': 'imp-1',
      'stepwise.step': 'normalize',
      'stepwise.step.index': 1,
      'stepwise.attempt': 2,
    });
    expect(activitySpanAttributes({ something: 'else' })).toEqual({});
  });

  it("name a sub-job's parent and step, and a coordinator's job and step", () => {
    expect(
      jobSpanAttributes('imp-1/process/0', 'importBatch', {
        input: {},
        parent: { jobId: 'imp-1', stepKey: 'process', attempt: 1, reportProgress: true },
      }),
    ).toEqual({
      'stepwise.job.id': 'imp-1/process/0',
      'stepwise.job.type': 'importBatch',
      'stepwise.parent_job.id': 'imp-1',
      'stepwise.step': 'process',
      'stepwise.attempt': 1,
    });
    expect(
      jobSpanAttributes('imp-1/process', 'batchCoordinator', {
        parentJobId: 'imp-1',
        stepKey: 'process',
        attempt: 3,
      }),
    ).toMatchObject({ 'stepwise.parent_job.id': 'imp-1', 'stepwise.step': 'process', 'stepwise.attempt': 3 });
    expect(jobSpanAttributes('imp-1', 'dataImport', { input: {} })).toEqual({
      'stepwise.job.id': 'imp-1',
      'stepwise.job.type': 'dataImport',
    });
  });
});
