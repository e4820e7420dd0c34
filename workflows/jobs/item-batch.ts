/**
 * DEMO job type `itemBatch`: one batch step over `count` generated items, each chunk counted by a
 * cheap activity. Exercises large fan-outs (windowing, continue-as-new) in tests and benchmarks.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import type { DemoActivities } from './demo-contracts';

export const itemBatchInput = z
  .object({
    count: z.number().int().min(0).max(100_000).default(1000),
    chunkSize: z.number().int().min(1).max(10_000).default(10),
    window: z.number().int().min(1).max(200).default(20),
  })
  .strict();

export const itemBatchDefinition = jobBuilder<DemoActivities>()({
  name: 'itemBatch',
  description: 'DEMO: count `count` generated items in chunks, `window` chunks at a time.',
  input: itemBatchInput,
})
  .batch('count', {
    name: 'Count items',
    items: ({ input }) => Array.from({ length: input.count }, (_, i) => i),
    chunkSize: ({ input }) => input.chunkSize,
    window: ({ input }) => input.window,
    run: { activity: 'countItems' },
  })
  .build();
