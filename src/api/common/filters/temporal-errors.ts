/**
 * The one place where Temporal client and gRPC errors become HTTP answers. The client turns what
 * is a refusal for its operation into a domain error (`src/client/errors.ts`); the Temporal
 * errors left — an outage, a worker that does not answer, an error outside any operation — come
 * here, wrapped in a {@link JobOperationError} when the answer depends on what the client was doing.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { grpcCode, namespaceNotFound } from '../../../client/temporal-errors';
import { JobOperationError, type Issue, type JobOperation } from '../errors';

export { grpcCode } from '../../../client/temporal-errors';

/** An HTTP status and the message of the error body. */
export interface HttpAnswer {
  statusCode: number;
  message: string;
  issues?: Issue[];
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
  // A namespace set up by an older Stepwise: a search attribute added since is not registered.
  const attribute = missingSearchAttribute(err);
  if (attribute) {
    return {
      statusCode: 503,
      message: `The Temporal namespace has no search attribute "${attribute}": run prepare-namespace once (docs/configuration.md, "An external cluster")`,
    };
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

/** The search attribute Temporal says the namespace lacks ("no mapping defined for search attribute X"). */
function missingSearchAttribute(err: unknown): string | undefined {
  if (grpcCode(err) !== GrpcStatus.INVALID_ARGUMENT) return undefined;
  return /no mapping defined for search attribute (\w+)/.exec((err as Error).message)?.[1];
}

/**
 * Answers that depend on what the client was doing (its refusals are already domain errors):
 * a worker that did not answer in time. `undefined` falls back to the general ones.
 */
function operationAnswer(op: JobOperation, cause: unknown): HttpAnswer | undefined {
  const timedOut =
    cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    grpcCode(cause) === GrpcStatus.DEADLINE_EXCEEDED;
  if (!timedOut) return undefined;
  switch (op.kind) {
    case 'control':
      return {
        statusCode: 503,
        message: `No worker answered the ${op.action} request within ${op.deadlineMs / 1000} s; is the worker running?`,
      };
    case 'query':
      return {
        statusCode: 503,
        message: `No worker answered the state query of job "${op.jobId}" within ${op.deadlineMs / 1000} s; is the worker running?`,
      };
    default:
      return undefined;
  }
}
