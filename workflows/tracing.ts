/**
 * Workflow interceptors for traces, registered as a workflow interceptor module in every bundle
 * (`src/worker-factory.ts` WORKFLOW_INTERCEPTOR_MODULES, `stepwise bundle`). A workflow is traced
 * when its start carries a recorded trace context — put there by a traced client (the API's, the
 * worker's), or by a traced parent job — and only then: these interceptors load the Temporal
 * OpenTelemetry interceptors (`@temporalio/interceptors-opentelemetry`) for that execution and hand
 * everything to them, adding the job's attributes to their spans. Without that header, nothing is
 * loaded and every call passes straight through: no cost, and no change for untraced histories.
 *
 * The spans are made in the sandbox and leave it through the worker's `exporter` sink
 * (`src/tracing.ts`). Tracing adds no command: it adds a header to the activities and children a
 * traced workflow starts, and reads the job's trace id (`JobState.traceId`) from its start headers.
 */
import * as wf from '@temporalio/workflow';
import type * as OtelApi from '@opentelemetry/api';
// The package's workflow-side entry: its root also exports the worker and client parts.
// eslint-disable-next-line no-restricted-imports
import type * as OtelWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow';
import {
  activitySpanAttributes,
  jobSpanAttributes,
  setJobTraceId,
  traceParentOf,
  type SpanAttributeValues,
} from './engine/trace-context';

/** The Temporal interceptors of one traced execution, and the OpenTelemetry API they use. */
interface Traced {
  api: typeof OtelApi;
  inbound: OtelWorkflow.OpenTelemetryInboundInterceptor;
  outbound: OtelWorkflow.OpenTelemetryOutboundInterceptor;
  internals: OtelWorkflow.OpenTelemetryInternalsInterceptor;
}

/** Loads the interceptors for a traced execution: required here, so an untraced one never evaluates them. */
function load(): Traced {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only for traced executions */
  const m = require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof OtelWorkflow;
  const api = require('@opentelemetry/api') as typeof OtelApi;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    api,
    inbound: new m.OpenTelemetryInboundInterceptor(),
    outbound: new m.OpenTelemetryOutboundInterceptor(),
    internals: new m.OpenTelemetryInternalsInterceptor(),
  };
}

/** Sets `attrs` on the span active now (the one the Temporal interceptor just started). */
function annotate(t: Traced, attrs: SpanAttributeValues): void {
  t.api.trace.getActiveSpan()?.setAttributes(attrs);
}

export const interceptors: wf.WorkflowInterceptorsFactory = () => {
  let t: Traced | null = null;
  /** Whether an inbound call (signal, update) carries a trace context of its own to continue. */
  const carries = (headers: Parameters<typeof traceParentOf>[0]): boolean =>
    t !== null && traceParentOf(headers) !== null;
  return {
    inbound: [
      {
        execute: (input, next) => {
          const parent = traceParentOf(input.headers);
          if (!parent?.sampled) return next(input);
          setJobTraceId(parent.traceId);
          const traced = (t = load());
          const info = wf.workflowInfo();
          return traced.inbound.execute(input, (i) => {
            annotate(traced, jobSpanAttributes(info.workflowId, info.workflowType, i.args[0]));
            return next(i);
          });
        },
        handleSignal: (input, next) =>
          t && carries(input.headers) ? t.inbound.handleSignal(input, next) : next(input),
        handleUpdate: (input, next) =>
          t && carries(input.headers) ? t.inbound.handleUpdate(input, next) : next(input),
        validateUpdate: (input, next) =>
          t && carries(input.headers) ? t.inbound.validateUpdate(input, next) : next(input),
        // Queries are not traced: the dashboard reads states many times a second.
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => {
          const traced = t;
          if (!traced) return next(input);
          return traced.outbound.scheduleActivity(input, (i) => {
            annotate(traced, activitySpanAttributes(i.args[0]));
            return next(i);
          });
        },
        scheduleLocalActivity: (input, next) => {
          const traced = t;
          if (!traced) return next(input);
          return traced.outbound.scheduleLocalActivity(input, (i) => {
            annotate(traced, activitySpanAttributes(i.args[0]));
            return next(i);
          });
        },
        startChildWorkflowExecution: (input, next) => {
          const traced = t;
          if (!traced) return next(input);
          return traced.outbound.startChildWorkflowExecution(input, (i) => {
            annotate(traced, jobSpanAttributes(i.options.workflowId, i.workflowType, i.options.args[0]));
            return next(i);
          });
        },
        continueAsNew: (input, next) => (t ? t.outbound.continueAsNew(input, next) : next(input)),
        signalWorkflow: (input, next) => (t ? t.outbound.signalWorkflow(input, next) : next(input)),
        startNexusOperation: (input, next) => (t ? t.outbound.startNexusOperation(input, next) : next(input)),
        // trace_id and span_id on the workflow's log lines.
        getLogAttributes: (input, next) => (t ? t.outbound.getLogAttributes(input, next) : next(input)),
      },
    ],
    internals: [
      {
        dispose: (input, next) => {
          if (t) void t.internals.dispose(input, next);
          else next(input);
        },
      },
    ],
  };
};
