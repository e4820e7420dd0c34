import { Module } from '@nestjs/common';
import { JobTypesController } from './job-types.controller';

/** `GET /api/job-types`: the catalog of job types with their steps and input JSON Schemas. */
@Module({ controllers: [JobTypesController] })
export class JobTypesModule {}
