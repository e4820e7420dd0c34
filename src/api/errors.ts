/**
 * One exception filter for the whole API: Temporal client errors, zod errors and Nest HTTP
 * exceptions all become `{statusCode, error, message, issues?}`.
 */
import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ExceptionFilter,
} from '@nestjs/common';
import {
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import { ZodError } from 'zod';

export interface Issue {
  path: (string | number)[];
  message: string;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  issues?: Issue[];
}

/** Thrown by services for a request that is well-formed but does not fit (mapped to its status). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
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

const REASON: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function toErrorBody(err: unknown): ErrorBody {
  const body = (statusCode: number, message: string, issues?: Issue[]): ErrorBody => ({
    statusCode,
    error: REASON[statusCode] ?? HttpStatus[statusCode] ?? 'Error',
    message,
    ...(issues ? { issues } : {}),
  });
  if (err instanceof ApiError) return body(err.statusCode, err.message, err.issues);
  if (err instanceof ZodError) return body(400, 'Invalid request', zodIssues(err));
  if (err instanceof WorkflowNotFoundError) return body(404, `Job "${err.workflowId}" not found`);
  if (err instanceof QueryNotRegisteredError)
    return body(404, 'Not a Stepwise job (it has no jobState query)');
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return body(409, `Job "${err.workflowId}" already exists`);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return body(409, cause);
  }
  if (err instanceof ServiceError) {
    const code = (err.cause as { code?: number } | undefined)?.code;
    if (code === GrpcStatus.NOT_FOUND) return body(404, err.message);
    if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
      return body(503, `Temporal is unavailable: ${err.message}`);
    }
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const message =
      typeof res === 'string' ? res : String((res as { message?: unknown }).message ?? err.message);
    return { statusCode: status, error: REASON[status] ?? HttpStatus[status] ?? 'Error', message };
  }
  // Fastify's own errors (bad JSON, body too large) carry a statusCode.
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
    const body = toErrorBody(exception);
    if (body.statusCode >= 500)
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(body.statusCode).send(body);
  }
}
