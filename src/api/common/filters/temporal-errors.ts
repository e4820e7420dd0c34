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
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { JobOperationError, type JobOperation } from '../errors';

/** An HTTP status and the message of the error body. */
export interface HttpAnswer {
  statusCode: number;
  message: string;
}

/** The gRPC status behind a Temporal client error, if it carries one. */
function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  if (err instanceof ServiceError && isGrpcServiceError(err.cause)) return err.cause.code;
  return undefined;
}

/** The HTTP answer for a Temporal error, or `undefined` when `err` is not one this API knows. */
export function temporalErrorToHttp(err: unknown): HttpAnswer | undefined {
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
  if (err instanceof ServiceError) {
    const code = grpcCode(err);
    if (code === GrpcStatus.NOT_FOUND) return { statusCode: 404, message: err.message };
    if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
      return { statusCode: 503, message: `Temporal is unavailable: ${err.message}` };
    }
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
    case 'retry':
      if (cause instanceof WorkflowExecutionAlreadyStartedError) {
        return { statusCode: 409, message: `Job "${op.jobId}" is already running again (another retry won)` };
      }
      return undefined;
  }
}
