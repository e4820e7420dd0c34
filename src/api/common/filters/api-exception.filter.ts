/**
 * One exception filter for the whole API: the API's own refusals (`ApiError`), the client's domain
 * errors (`StepwiseError`, by code), zod errors, Temporal client errors (via `temporal-errors.ts`)
 * and Nest HTTP exceptions all become `{statusCode, error, message, issues?}`.
 */
import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { StepwiseError, type StepwiseErrorCode } from '../../../client/errors';
import { redactText } from '../../../redact';
import { ApiError, JobOperationError, notJsonError, zodIssues, type ErrorBody, type Issue } from '../errors';
import { temporalErrorToHttp } from './temporal-errors';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The HTTP status of each of the client's refusals. */
export const DOMAIN_ERROR_STATUS: Record<StepwiseErrorCode, number> = {
  JobNotFound: 404,
  UnknownJobType: 404,
  InvalidArgument: 400,
  InvalidJobInput: 400,
  JobInputTooLarge: 413,
  JobConflict: 409,
  JobNotControllable: 409,
  ApprovalForbidden: 403,
  ScheduleNotFound: 404,
  ScheduleConflict: 409,
};

const reason = (status: number): string => REASON[status] ?? HttpStatus[status] ?? 'Error';

/**
 * The error body of `err`. `contentType` is the request's: a 415 that Fastify or Nest raised (a
 * content type no parser takes) gets the same message as the guard's, saying how to send JSON.
 */
export function toErrorBody(err: unknown, contentType?: string): ErrorBody {
  const answer = errorBody(err);
  if (answer.statusCode === 415 && !(err instanceof ApiError)) return errorBody(notJsonError(contentType));
  return answer;
}

function errorBody(err: unknown): ErrorBody {
  const body = (statusCode: number, message: string, issues?: Issue[]): ErrorBody => ({
    statusCode,
    error: reason(statusCode),
    message,
    ...(issues ? { issues } : {}),
  });
  if (err instanceof ApiError) return body(err.statusCode, err.message, err.issues);
  if (err instanceof StepwiseError) return body(DOMAIN_ERROR_STATUS[err.code], err.message, err.issues);
  if (err instanceof ZodError) return body(400, 'Invalid request', zodIssues(err));
  const temporal = temporalErrorToHttp(err);
  if (temporal) return body(temporal.statusCode, temporal.message, temporal.issues);
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const message =
      typeof res === 'string' ? res : String((res as { message?: unknown }).message ?? err.message);
    return { statusCode: status, error: reason(status), message };
  }
  // Fastify's own errors (bad JSON, body too large, a content type it has no parser for) carry a statusCode.
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return body(statusCode, (err as Error).message);
  }
  return body(500, 'Internal server error');
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const body = toErrorBody(
      exception,
      http.getRequest<FastifyRequest | undefined>()?.headers?.['content-type'],
    );
    // Redacted here too: Nest may have been given a logger that does not redact.
    if (body.statusCode >= 500) this.logger.error(redactText(describe(exception)));
    const reply = http.getResponse<FastifyReply>();
    void reply.status(body.statusCode).send(body);
  }
}

/** The stack to log, with the Temporal error a {@link JobOperationError} wraps. */
function describe(exception: unknown): string {
  if (!(exception instanceof Error)) return String(exception);
  const stack = exception.stack ?? exception.message;
  return exception instanceof JobOperationError ? `${stack}\ncaused by: ${describe(exception.cause)}` : stack;
}
