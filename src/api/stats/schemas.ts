/** Query of `GET /api/stats` (the figures' shapes are in `../contracts.ts`). */
import { z } from 'zod';

const booleanString = z.enum(['true', 'false']).transform((v) => v === 'true');

const statsTime = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v).toISOString())
  .describe('ISO 8601 time with its zone (`Z` or an offset)');

export const statsQuerySchema = z
  .object({
    from: statsTime
      .optional()
      .describe('Start of the range (default: 24 h before `to`); at most 31 days before `to`'),
    to: statsTime.optional().describe('End of the range, exclusive (default: now)'),
    interval: z
      .string()
      .regex(/^[1-9]\d{0,4}[mhd]$/, 'minutes, hours or days: `<n>m`, `<n>h` or `<n>d` (e.g. 5m, 1h, 1d)')
      .optional()
      .describe(
        'Bucket width of `series` (at most 500 buckets). Default: the shortest of 1m, 5m, 15m, 1h, 6h, 1d giving at most 60',
      ),
    type: z.string().min(1).max(100).optional().describe('Only runs of this job type'),
    topLevel: booleanString
      .optional()
      .default(true)
      .describe('`true` (default): top-level jobs only; `false`: sub-jobs too'),
    jobIdPrefix: z
      .string()
      .min(1)
      .max(200)
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
      .optional()
      .describe('Only jobs whose id starts with this'),
  })
  .strict();
export type StatsQuery = z.infer<typeof statsQuerySchema>;
