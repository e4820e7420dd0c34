import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { jobDefinitions } from '../../workflows/catalog';
import type { StepKind } from '../../workflows/contracts';

/** One entry of `GET /api/job-types`. */
export interface JobTypeInfo {
  type: string;
  description: string;
  steps: { key: string; name: string; kind: StepKind; weight: number; dependsOn: string[] }[];
  /** JSON Schema (draft 2020-12) of the input, generated from the type's zod schema (what it accepts). */
  inputSchema: Record<string, unknown>;
}

/** The catalogue, computed once: definitions do not change while the process runs. */
export function jobTypeCatalogue(): JobTypeInfo[] {
  return jobDefinitions.map((def) => ({
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
  }));
}

@Controller('api/job-types')
export class JobTypesController {
  private readonly catalogue = jobTypeCatalogue();

  /** Every job type with its steps and input JSON Schema; `POST /api/jobs` validates with the same zod schema. */
  @Get()
  list(): JobTypeInfo[] {
    return this.catalogue;
  }
}
