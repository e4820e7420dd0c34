import { z } from 'zod';
import type { StepwiseApp } from '../../../workflows/engine/app';
import type { JobTypeInfo } from '../contracts';

/** One entry of `GET /api/job-types` (declared in `../contracts.ts`). */
export type { JobTypeInfo } from '../contracts';

/** Every job type as the API publishes it; definitions do not change while the process runs. */
export function jobTypeCatalog(app: StepwiseApp): JobTypeInfo[] {
  return app.jobs.map((def) => ({
    type: def.name,
    description: def.description,
    steps: def.steps.map((s) => ({
      key: s.key,
      name: s.name,
      kind: s.kind,
      weight: s.weight,
      dependsOn: s.dependsOn,
    })),
    inputSchema: z.toJSONSchema(def.input, { io: 'input' }) as Record<string, unknown>,
    internal: def.internal,
  }));
}
