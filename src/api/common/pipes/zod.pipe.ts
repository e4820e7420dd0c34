import { type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError, zodIssues } from '../errors';

/** Validates a request part with a zod schema; 400 with the issue paths on failure. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'request body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value ?? {});
    if (!parsed.success) throw new ApiError(400, `Invalid ${this.what}`, zodIssues(parsed.error));
    return parsed.data;
  }
}
