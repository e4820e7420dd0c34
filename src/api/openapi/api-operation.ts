/**
 * `@ApiOperation({...})`: a route's OpenAPI operation, declared next to its handler. Who may call
 * the route (public, role) and whether it is audited come from the route policy decorators
 * (`common/route-policy.ts`); the generator (`openapi-document.ts`) adds the error responses they
 * imply (401, 403, 429) and the bearer security requirement.
 */
import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const API_OPERATION = 'stepwise:apiOperation';

export interface ApiResponseSpec {
  description: string;
  /**
   * JSON body; absent for a response without one. A schema registered with an id (`named()`) is
   * referenced as its component; any other is written out in place.
   */
  schema?: z.ZodType;
  /** Another media type than `application/json` (e.g. `text/html`), with its schema. */
  contentType?: string;
}

export interface ApiOperationSpec {
  summary: string;
  description?: string;
  tags: string[];
  /** Path parameters (a zod object; the same schemas the pipes use). */
  params?: z.ZodObject;
  /** Query parameters (a zod object, the pipe's schema). */
  query?: z.ZodType;
  /** Request headers the route reads (a zod object of lower-case names; other headers pass). */
  headers?: z.ZodObject;
  /** JSON request body: the pipe's schema (by reference when it has an id). */
  body?: z.ZodType;
  /** Whether the body may be left out (schemas with a default). */
  bodyRequired?: boolean;
  /** Success responses by status. */
  responses: Record<number, ApiResponseSpec>;
  /** Error statuses the route answers with (the error body), with what each means here. */
  errors?: Record<number, string>;
  /**
   * Not part of the API contract — the dashboard's pages and files, Swagger UI's files — so left
   * out of `/openapi.json`, where a generated client would otherwise get methods for HTML pages.
   * The route is still described here, for readers of the code.
   */
  notInDocument?: true;
}

export const ApiOperation = (spec: ApiOperationSpec): MethodDecorator => SetMetadata(API_OPERATION, spec);
