/** Request schemas of the REST API (see shared/API.md). */
import { z } from 'zod';

/** Job ids become workflow ids and appear in URLs: keep them URL- and log-safe. */
export const jobIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'use letters, digits and . _ : - (starting with a letter or digit)',
  );

export const startJobBodySchema = z
  .object({
    type: z.string().min(1).max(100),
    input: z.unknown().default({}),
    jobId: jobIdSchema.optional(),
  })
  .strict();
export type StartJobBody = z.infer<typeof startJobBodySchema>;

export interface StartJobResponse {
  jobId: string;
  runId: string;
  type: string;
  status: string;
}
