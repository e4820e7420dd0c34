import { z } from 'zod';
import type { StepKind } from '../../../workflows/contracts';
import type { StepwiseApp } from '../../../workflows/engine/app';

/** One entry of `GET /api/job-types`. */
export interface JobTypeInfo {
  type: string;
  description: string;
  steps: { key: string; name: string; kind: StepKind; weight: number; dependsOn: string[] }[];
  /** JSON Schema (draft 2020-12) of the input, generated from the type's zod schema (what it accepts). */
  inputSchema: Record<string, unknown>;
  /** A sub-job type only its parent job starts: `POST /api/jobs` refuses it. */
  internal: boolean;
}

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
