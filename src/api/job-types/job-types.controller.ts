import { Controller, Get, Inject } from '@nestjs/common';
import type { StepwiseApp } from '../../../workflows/engine/app';
import { STEPWISE_APP } from '../catalog/catalog.module';
import { jobTypeListSchema } from '../contracts';
import { ApiOperation } from '../openapi/api-operation';
import { jobTypeCatalog, type JobTypeInfo } from './job-type-catalog';

@Controller('api/job-types')
export class JobTypesController {
  /** Computed once: definitions do not change while the process runs. */
  private readonly catalog: JobTypeInfo[];

  constructor(@Inject(STEPWISE_APP) app: StepwiseApp) {
    this.catalog = jobTypeCatalog(app);
  }

  /** Every job type with its steps and input JSON Schema; `POST /api/jobs` validates with the same zod schema. */
  @Get()
  @ApiOperation({
    summary: 'Every job type with its steps and input JSON Schema',
    tags: ['job-types'],
    responses: { 200: { description: 'The job types', schema: jobTypeListSchema } },
  })
  list(): JobTypeInfo[] {
    return this.catalog;
  }
}
