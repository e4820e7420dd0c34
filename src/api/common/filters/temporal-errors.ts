/**
 * The one place where Temporal client and gRPC errors become HTTP answers. Services let those
 * errors propagate (wrapped in a {@link JobOperationError} when the answer depends on what they
 * were doing); the exception filter asks {@link temporalErrorToHttp} what to answer.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  isGrpcServiceError,
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { NamespaceNotFoundError, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { JobOperationError, type Issue, type JobOperation } from '../errors';

/** An HTTP status and the message of the error body. */
export interface HttpAnswer {
  statusCode: number;
  message: string;
  issues?: Issue[];
}

/** The gRPC status behind a Temporal client error, if it carries one. */
export function grpcCode(err: unknown): number | undefined {
  const e = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(e)) return e.code;
  // A gRPC error without the shape the SDK checks for: a deadline that passed while the client retried.
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'number' && typeof message === 'string' ? code : undefined;
}

/** The server's own words in a gRPC error (`details`), or the error's message. */
function grpcDetails(err: unknown): string {
  const e = (err instanceof ServiceError ? err.cause : err) as {
    details?: unknown;
    message?: unknown;
  } | null;
  return String(e?.details ?? e?.message ?? '');
}

/** The HTTP answer for a Temporal error, or `undefined` when `err` is not one this API knows. */
export function temporalErrorToHttp(err: unknown): HttpAnswer | undefined {
  // The configured namespace is not the caller's doing: Temporal answers "not found" for it while
  // its database is down (the namespace registry cannot read it), so this is an outage, not a 404.
  const namespaceMissing = namespaceNotFound(err);
  if (namespaceMissing) return { statusCode: 503, message: `Temporal is unavailable: ${namespaceMissing}` };
  if (err instanceof JobOperationError) {
    return operationAnswer(err.operation, err.cause) ?? temporalErrorToHttp(err.cause);
  }
  if (err instanceof WorkflowNotFoundError)
    return { statusCode: 404, message: `Job "${err.workflowId}" not found` };
  if (err instanceof QueryNotRegisteredError) {
    return { statusCode: 404, message: 'Not a Stepwise job (it has no jobState query)' };
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return { statusCode: 409, message: `Job "${err.workflowId}" already exists` };
  }
  // The workflow's update validator (or handler) refused: its ApplicationFailure says why.
  if (err instanceof WorkflowUpdateFailedError) {
    return { statusCode: 409, message: err.cause instanceof Error ? err.cause.message : err.message };
  }
  // Client errors (ServiceError) and the raw gRPC errors of `workflowService` calls alike.
  const code = grpcCode(err);
  if (code !== undefined) {
    const message = (err as Error).message;
    if (code === GrpcStatus.NOT_FOUND) return { statusCode: 404, message };
    if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
      return { statusCode: 503, message: `Temporal is unavailable: ${message}` };
    }
    // Temporal sheds load (rate limits, too many outstanding requests): a moment later it may answer.
    if (code === GrpcStatus.RESOURCE_EXHAUSTED) {
      return { statusCode: 503, message: `Temporal is busy: ${message}` };
    }
  }
  return undefined;
}

/** The message when `err` (or what it wraps) says the namespace does not exist; else undefined. */
function namespaceNotFound(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NamespaceNotFoundError) return e.message;
    if (grpcCode(e) === GrpcStatus.NOT_FOUND && /namespace \S+ is not found/i.test(e.message))
      return e.message;
  }
  return undefined;
}

/** Answers that depend on what the service was doing; `undefined` falls back to the general ones. */
function operationAnswer(op: JobOperation, cause: unknown): HttpAnswer | undefined {
  switch (op.kind) {
    case 'control': {
      // describe() saw it running; the update found it gone: it closed in between.
      if (cause instanceof WorkflowNotFoundError || grpcCode(cause) === GrpcStatus.NOT_FOUND) {
        return { statusCode: 409, message: `Job "${op.jobId}" closed before it could ${op.action}` };
      }
      // The run's workflow task started failing after describe() looked (see failingWorkflowTask).
      if (
        grpcCode(cause) === GrpcStatus.FAILED_PRECONDITION &&
        /Workflow Task in failed state/i.test(grpcDetails(cause))
      ) {
        return {
          statusCode: 409,
          message: `Job "${op.jobId}" cannot ${op.action}: its workflow cannot run (its workflow task fails), so it answers no update; an admin can terminate it`,
        };
      }
      if (
        cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
        grpcCode(cause) === GrpcStatus.DEADLINE_EXCEEDED
      ) {
        return {
          statusCode: 503,
          message: `No worker answered the ${op.action} request within ${op.deadlineMs / 1000} s; is the worker running?`,
        };
      }
      return undefined;
    }
    case 'query':
      if (
        cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
        grpcCode(cause) === GrpcStatus.DEADLINE_EXCEEDED
      ) {
        return {
          statusCode: 503,
          message: `No worker answered the state query of job "${op.jobId}" within ${op.deadlineMs / 1000} s; is the worker running?`,
        };
      }
      return undefined;
    case 'list':
      // Temporal refuses a page token it did not issue (or one for another query) as INVALID_ARGUMENT.
      if (op.pageToken && grpcCode(cause) === GrpcStatus.INVALID_ARGUMENT) {
        return {
          statusCode: 400,
          message: 'Invalid pageToken',
          issues: [{ path: ['pageToken'], message: 'not a page token of this listing' }],
        };
      }
      return undefined;
    case 'terminate':
      // describe() saw the run running; it closed before the terminate reached it.
      if (cause instanceof WorkflowNotFoundError || grpcCode(cause) === GrpcStatus.NOT_FOUND) {
        return { statusCode: 409, message: `Job "${op.jobId}" closed before it could be terminated` };
      }
      return undefined;
    case 'retry':
      if (cause instanceof WorkflowExecutionAlreadyStartedError) {
        return { statusCode: 409, message: `Job "${op.jobId}" is already running again (another retry won)` };
      }
      return undefined;
  }
}
