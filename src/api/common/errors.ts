/**
 * The API's error vocabulary: the body every error answers with, the domain error services throw,
 * and the wrapper that tells the exception filter what a failed Temporal call was for. No
 * Temporal error is inspected here: that happens in `filters/temporal-errors.ts` only.
 */
import type { ZodError } from 'zod';
import type { Issue } from '../contracts';

export type { ErrorBody, Issue } from '../contracts';

/** Thrown by services for a request that is well-formed but does not fit (mapped to its status). */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly statusCode: number,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
}

/**
 * The 415 of a request that changes something without a JSON body (a form, text, none at all):
 * curl's `-d` sends a form unless told otherwise, so the message says how to send JSON.
 */
export function notJsonError(contentType: string | undefined): ApiError {
  const got = contentType
    ? JSON.stringify(contentType.length > 100 ? `${contentType.slice(0, 100)}…` : contentType)
    : 'no content type';
  return new ApiError(
    415,
    `Send a JSON body with "content-type: application/json" (got ${got}); with curl: ` +
      `-H 'content-type: application/json' -d '{}'. Requests without it are refused, so that no form ` +
      'or simple cross-site request can act',
  );
}

/** Zod issues as `{path, message}`; an unknown key gets its own path, so clients see where it is. */
export function zodIssues(err: ZodError, prefix: (string | number)[] = []): Issue[] {
  return err.issues.flatMap((i) => {
    const path = [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ path: [...path, k], message: `Unrecognized key "${k}"` }));
    }
    return [{ path, message: i.message }];
  });
}

/**
 * What a service was asking Temporal for when the call failed. The same Temporal error means
 * different things to the caller depending on it (a vanished workflow is a 404 for a lookup but a
 * 409 for a pause sent to a job that was running a moment ago), so the mapping needs to know.
 */
export type JobOperation =
  /** An update sent to a running job (pause, resume, cancel), bounded by a deadline. */
  | { kind: 'control'; jobId: string; action: string; deadlineMs: number }
  /** Starting a new run of a closed job under its id. */
  | { kind: 'retry'; jobId: string }
  /** Terminating the running run of a job (admin). */
  | { kind: 'terminate'; jobId: string }
  /** The `jobState` query of a job's run, which a worker answers, bounded by a deadline. */
  | { kind: 'query'; jobId: string; deadlineMs: number }
  /** Listing jobs, with the page token the caller passed (if any). */
  | { kind: 'list'; jobId?: undefined; pageToken: boolean };

/** A Temporal call that failed during {@link JobOperation}; the original error is its `cause`. */
export class JobOperationError extends Error {
  override name = 'JobOperationError';

  constructor(
    readonly operation: JobOperation,
    override readonly cause: unknown,
  ) {
    super(
      operation.jobId === undefined
        ? `${operation.kind} failed`
        : `${operation.kind} of job "${operation.jobId}" failed`,
      { cause },
    );
  }
}

/** Runs one Temporal call for `operation`; a failure comes out as a {@link JobOperationError}. */
export async function during<T>(operation: JobOperation, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new JobOperationError(operation, err);
  }
}
