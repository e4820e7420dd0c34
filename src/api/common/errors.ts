/**
 * The API's error vocabulary: the body every error answers with and the error the API's own
 * routes and guards throw. The job routes' refusals are the client's (`src/client/errors.ts`),
 * mapped by the same exception filter. No Temporal error is inspected here: that happens in
 * `filters/temporal-errors.ts` and in the client only.
 */
import type { Issue } from '../../client/errors';

export { JobOperationError, zodIssues, type Issue, type JobOperation } from '../../client/errors';
export type { ErrorBody } from '../contracts';

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
