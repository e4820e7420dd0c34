/**
 * Reading Temporal client and gRPC errors: the gRPC status behind one, whether it says the
 * namespace is missing (an outage, never the caller's doing), and {@link during}, which turns a
 * failed call into the refusal it means for the operation the client was doing, or else into a
 * {@link JobOperationError} carrying Temporal's error.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  isGrpcServiceError,
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { NamespaceNotFoundError, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  InvalidArgument,
  JobConflict,
  JobNotControllable,
  JobNotFound,
  JobOperationError,
  type JobOperation,
  type StepwiseError,
} from './errors';

/** The gRPC status behind a Temporal client error, if it carries one. */
export function grpcCode(err: unknown): number | undefined {
  const e = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(e)) return e.code;
  // A gRPC error without the shape the SDK checks for: a deadline that passed while the client retried.
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'number' && typeof message === 'string' ? code : undefined;
}

/** The server's own words in a gRPC error (`details`), or the error's message. */
export function grpcDetails(err: unknown): string {
  const e = (err instanceof ServiceError ? err.cause : err) as {
    details?: unknown;
    message?: unknown;
  } | null;
  return String(e?.details ?? e?.message ?? '');
}

/** The message when `err` (or what it wraps) says the namespace does not exist; else undefined. */
export function namespaceNotFound(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NamespaceNotFoundError) return e.message;
    if (grpcCode(e) === GrpcStatus.NOT_FOUND && /namespace \S+ is not found/i.test(e.message))
      return e.message;
  }
  return undefined;
}

/**
 * Runs one Temporal call for `operation`. A failure that is a refusal for that operation comes out
 * as a {@link StepwiseError} (a job that closed before it could be paused, a validator's "already
 * paused", a retry another caller won…); any other as a {@link JobOperationError}.
 */
export async function during<T>(operation: JobOperation, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw refusal(operation, err) ?? new JobOperationError(operation, err);
  }
}

const isNotFound = (err: unknown): boolean =>
  err instanceof WorkflowNotFoundError || grpcCode(err) === GrpcStatus.NOT_FOUND;

/** What `err` means for `op` when it is a refusal; undefined for an outage or an unknown error. */
function refusal(op: JobOperation, err: unknown): StepwiseError | undefined {
  // The configured namespace is not the caller's doing (Temporal answers "not found" for it while
  // its database is down): never a refusal.
  if (namespaceNotFound(err)) return undefined;
  const options = { cause: err };
  switch (op.kind) {
    case 'control':
      // describe() saw it running; the update found it gone: it closed in between.
      if (isNotFound(err)) {
        return new JobNotControllable(
          op.jobId,
          op.action,
          `Job "${op.jobId}" closed before it could ${op.action}`,
          options,
        );
      }
      // The run's workflow task started failing after describe() looked (see failingWorkflowTask).
      if (
        grpcCode(err) === GrpcStatus.FAILED_PRECONDITION &&
        /Workflow Task in failed state/i.test(grpcDetails(err))
      ) {
        return new JobNotControllable(
          op.jobId,
          op.action,
          `Job "${op.jobId}" cannot ${op.action}: its workflow cannot run (its workflow task fails), so it answers no update; an admin can terminate it`,
          options,
        );
      }
      // The workflow's update validator (or handler) refused: its ApplicationFailure says why.
      if (err instanceof WorkflowUpdateFailedError) {
        const message = err.cause instanceof Error ? err.cause.message : err.message;
        return new JobNotControllable(op.jobId, op.action, message, options);
      }
      return undefined;
    case 'query':
      if (err instanceof WorkflowNotFoundError) {
        return new JobNotFound(op.jobId, `Job "${err.workflowId}" not found`, options);
      }
      if (err instanceof QueryNotRegisteredError) {
        return new JobNotFound(op.jobId, 'Not a Stepwise job (it has no jobState query)', options);
      }
      return undefined;
    case 'list':
      // Temporal refuses a page token it did not issue (or one for another query) as INVALID_ARGUMENT.
      if (op.pageToken && grpcCode(err) === GrpcStatus.INVALID_ARGUMENT) {
        return new InvalidArgument('Invalid pageToken', [
          { path: ['pageToken'], message: 'not a page token of this listing' },
        ]);
      }
      return undefined;
    case 'terminate':
      // describe() saw the run running; it closed before the terminate reached it.
      if (isNotFound(err)) {
        return new JobNotControllable(
          op.jobId,
          'terminate',
          `Job "${op.jobId}" closed before it could be terminated`,
          options,
        );
      }
      return undefined;
    case 'retry':
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return new JobConflict(
          op.jobId,
          `Job "${op.jobId}" is already running again (another retry won)`,
          undefined,
          options,
        );
      }
      return undefined;
    case 'schedule':
      // The schedule client's refusals are mapped where it is called (src/client/schedules.ts).
      return undefined;
  }
}
