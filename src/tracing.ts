/**
 * OpenTelemetry traces, from the standard `OTEL_*` variables (docs/production.md, "Traces"): one
 * trace per API request that follows it into the job's workflow, its activities and its sub-jobs.
 *
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
 * {@link startTracing} returns null, and nothing is built — no exporter, no tracer provider, no
 * client or activity interceptor, no sink. The workflow side (`workflows/tracing.ts`, in every
 * bundle) traces a workflow only when its start carries a trace context, which only a traced
 * client, a traced parent job or a traced activity adds.
 */
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Context as ActivityContext } from '@temporalio/activity';
import type {
  ClientInterceptors,
  Next,
  WorkflowClientInterceptor,
  WorkflowSignalInput,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartOutput,
  WorkflowStartUpdateInput,
  WorkflowStartUpdateOutput,
  WorkflowStartUpdateWithStartInput,
  WorkflowStartUpdateWithStartOutput,
  WorkflowCancelInput,
  WorkflowTerminateInput,
} from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { ActivityJobRef } from '../workflows/engine/step-io';
import type { OtlpProtocol, TracingConfig } from './config';

/** Attribute names Stepwise adds to spans (besides the Temporal interceptors' own). */
export const SPAN_ATTRIBUTES = {
  jobId: 'stepwise.job.id',
  jobType: 'stepwise.job.type',
  parentJobId: 'stepwise.parent_job.id',
  step: 'stepwise.step',
  stepIndex: 'stepwise.step.index',
  attempt: 'stepwise.attempt',
} as const;

function samplerOf(cfg: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(cfg.samplerRatio);
  switch (cfg.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The exporter for `protocol`, loaded only when tracing is on. Headers, timeout and compression
 * come from the standard variables (`OTEL_EXPORTER_OTLP_HEADERS`, …), which the exporters read.
 */
function exporterOf(protocol: OtlpProtocol, url: string): SpanExporter {
  const options = { url };
  /* eslint-disable @typescript-eslint/no-require-imports -- only the configured exporter is loaded */
  switch (protocol) {
    case 'http/json': {
      const m =
        require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
      return new m.OTLPTraceExporter(options);
    }
    case 'http/protobuf': {
      const m =
        require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
      return new m.OTLPTraceExporter(options);
    }
    case 'grpc': {
      const m =
        require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
      return new m.OTLPTraceExporter(options);
    }
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** Where spans go, for a log line: the protocol and the endpoint without credentials or query; `off`. */
export function tracingTarget(config: TracingConfig): string {
  if (config.endpoint === null) return 'off';
  let where: string;
  try {
    const u = new URL(config.endpoint);
    where = `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    where = '(invalid endpoint)';
  }
  return `${config.protocol} ${where}`;
}

/** Whether a span is being recorded in the current context (an API request, an activity). */
const inSpan = (): boolean => otel.trace.getActiveSpan()?.isRecording() === true;

/**
 * The client interceptor: the Temporal one, on the calls that change something. Starts are always
 * traced (a job started from a script begins its own trace); signals, updates, cancels and
 * terminations only inside a span (a request, an activity), so background loops make no root
 * traces; queries and describes never — reads are covered by the request's own span.
 */
class StepwiseClientTracing implements WorkflowClientInterceptor {
  constructor(private readonly inner: OpenTelemetryWorkflowClientInterceptor) {}

  startWithDetails(
    input: WorkflowStartInput,
    next: Next<WorkflowClientInterceptor, 'startWithDetails'>,
  ): Promise<WorkflowStartOutput> {
    return this.inner.startWithDetails(input, next);
  }

  signalWithStart(
    input: WorkflowSignalWithStartInput,
    next: Next<WorkflowClientInterceptor, 'signalWithStart'>,
  ): Promise<string> {
    return this.inner.signalWithStart(input, next);
  }

  startUpdateWithStart(
    input: WorkflowStartUpdateWithStartInput,
    next: Next<WorkflowClientInterceptor, 'startUpdateWithStart'>,
  ): Promise<WorkflowStartUpdateWithStartOutput> {
    return this.inner.startUpdateWithStart(input, next);
  }

  signal(input: WorkflowSignalInput, next: Next<WorkflowClientInterceptor, 'signal'>): Promise<void> {
    return inSpan() ? this.inner.signal(input, next) : next(input);
  }

  startUpdate(
    input: WorkflowStartUpdateInput,
    next: Next<WorkflowClientInterceptor, 'startUpdate'>,
  ): Promise<WorkflowStartUpdateOutput> {
    return inSpan() ? this.inner.startUpdate(input, next) : next(input);
  }

  cancel(
    input: WorkflowCancelInput,
    next: Next<WorkflowClientInterceptor, 'cancel'>,
  ): ReturnType<Next<WorkflowClientInterceptor, 'cancel'>> {
    return inSpan() ? this.inner.cancel(input, next) : next(input);
  }

  terminate(
    input: WorkflowTerminateInput,
    next: Next<WorkflowClientInterceptor, 'terminate'>,
  ): ReturnType<Next<WorkflowClientInterceptor, 'terminate'>> {
    return inSpan() ? this.inner.terminate(input, next) : next(input);
  }
}

function isJobRef(arg: unknown): arg is ActivityJobRef {
  if (arg === null || typeof arg !== 'object') return false;
  const r = arg as Partial<Record<keyof ActivityJobRef, unknown>>;
  return typeof r.jobId === 'string' && typeof r.jobType === 'string' && typeof r.stepKey === 'string';
}

/**
 * Adds the job's context to the activity's span (the Temporal interceptor's `RunActivity`, active
 * while this runs): job id and type, parent job, step, and the step's attempt — from the activity's
 * {@link ActivityJobRef}, or from the activity's info for the engine's own activities.
 */
const activitySpanAttributes: ActivityInterceptorsFactory = (ctx: ActivityContext) => ({
  inbound: {
    execute: (input, next) => {
      const span = otel.trace.getActiveSpan();
      if (span) {
        const ref = input.args[0];
        const info = ctx.info;
        if (isJobRef(ref)) {
          span.setAttributes({
            [SPAN_ATTRIBUTES.jobId]: ref.jobId,
            [SPAN_ATTRIBUTES.jobType]: ref.jobType,
            [SPAN_ATTRIBUTES.step]: ref.stepKey,
            [SPAN_ATTRIBUTES.stepIndex]: ref.stepIndex,
            [SPAN_ATTRIBUTES.attempt]: ref.attempt,
            ...(ref.parentJobId ? { [SPAN_ATTRIBUTES.parentJobId]: ref.parentJobId } : {}),
          });
        } else if (info.workflowExecution) {
          span.setAttributes({
            [SPAN_ATTRIBUTES.jobId]: info.workflowExecution.workflowId,
            ...(info.workflowType ? { [SPAN_ATTRIBUTES.jobType]: info.workflowType } : {}),
            [SPAN_ATTRIBUTES.attempt]: info.attempt,
          });
        }
        // Temporal's own attempt of this activity task (a step's attempt may span several).
        span.setAttribute('temporal.activity.attempt', info.attempt);
      }
      return next(input);
    },
  },
});

/** What a worker gets when tracing is off: a sink that drops spans (see {@link Tracing.sinks}). */
export function untracedSinks(onFirstSpan?: () => void): InjectedSinks<OpenTelemetrySinks> {
  let warned = false;
  return {
    exporter: {
      export: {
        fn: () => {
          if (warned) return;
          warned = true;
          onFirstSpan?.();
        },
      },
    },
  };
}

/** The process's tracing: its provider, exporter and the interceptors that carry the context. */
export class Tracing {
  /** The tracer Stepwise's own spans (API requests) and the Temporal interceptors use. */
  readonly tracer: otel.Tracer;
  private readonly interceptorOptions: { tracer: otel.Tracer };
  private stopped: Promise<void> | null = null;

  constructor(
    /** Which protocol and endpoint spans go to. */
    readonly config: TracingConfig & { endpoint: string },
    readonly resource: Resource,
    private readonly provider: BasicTracerProvider,
    private readonly processor: SpanProcessor,
  ) {
    this.tracer = provider.getTracer('stepwise');
    this.interceptorOptions = { tracer: this.tracer };
  }

  /** The client's interceptors: its starts (and, inside a span, its signals and updates) carry the trace. */
  clientInterceptors(): ClientInterceptors {
    return {
      workflow: [
        new StepwiseClientTracing(new OpenTelemetryWorkflowClientInterceptor(this.interceptorOptions)),
      ],
    };
  }

  /**
   * The worker's activity interceptors: each activity runs in a `RunActivity` span, child of the
   * workflow's `StartActivity`, with the job's attributes; first in the worker's list.
   */
  activityInterceptors(): ActivityInterceptorsFactory[] {
    return [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, this.interceptorOptions),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
      activitySpanAttributes,
    ];
  }

  /** The worker's sink that receives the workflows' spans (made in the sandbox) and exports them. */
  sinks(): InjectedSinks<OpenTelemetrySinks> {
    return { exporter: makeWorkflowExporter(this.processor, this.resource) };
  }

  /** Sends the spans ended so far. */
  async forceFlush(): Promise<void> {
    await this.provider.forceFlush();
  }

  /** Sends what is left and unregisters the global provider, context manager and propagator. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      try {
        await this.provider.shutdown();
      } finally {
        otel.trace.disable();
        otel.context.disable();
        otel.propagation.disable();
        if (active === this) active = null;
      }
    })();
    return this.stopped;
  }
}

let active: Tracing | null = null;

/** The tracing {@link startTracing} started in this process and not yet shut down, or null. */
export function activeTracing(): Tracing | null {
  return active;
}

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /** `service.name` when `OTEL_SERVICE_NAME` is unset, e.g. `stepwise-api`. */
  defaultServiceName: string;
  /** Where the OpenTelemetry SDK's own warnings go (failed exports, dropped spans). */
  warn?: (message: string) => void;
}

/**
 * Starts tracing as `config` says, or returns null when it is off. Registers the provider, an
 * AsyncLocalStorage context manager and the W3C trace-context propagator as OpenTelemetry's
 * globals (one tracing per process: a second start while one runs throws). Shut it down with
 * {@link Tracing.shutdown} after the worker or the API has stopped, so the last spans are sent.
 */
export function startTracing(config: TracingConfig, opts: StartTracingOptions): Tracing | null {
  const endpoint = config.endpoint;
  if (endpoint === null) return null;
  if (active) throw new Error('Tracing is already started in this process: shut it down first');
  if (opts.warn) {
    const warn = opts.warn;
    otel.diag.setLogger(
      {
        error: (m) => warn(m),
        warn: (m) => warn(m),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      otel.DiagLogLevel.WARN,
    );
  }
  // service.name: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES' one, else the process's own.
  const resource = new Resource({
    ...Resource.default().attributes,
    'service.name': opts.defaultServiceName,
    ...envDetectorSync.detect().attributes,
    ...(config.serviceName ? { 'service.name': config.serviceName } : {}),
  });
  const processor = new BatchSpanProcessor(exporterOf(config.protocol, endpoint));
  const provider = new BasicTracerProvider({
    resource,
    mergeResourceWithDefaults: false,
    sampler: samplerOf(config),
    spanProcessors: [processor],
  });
  provider.register({
    contextManager: new AsyncLocalStorageContextManager().enable(),
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  });
  active = new Tracing({ ...config, endpoint }, resource, provider, processor);
  return active;
}
