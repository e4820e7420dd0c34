import { Module } from '@nestjs/common';
import { DocsController } from './docs.controller';

/** `GET /docs`: the human-readable route and job-type reference. */
@Module({ controllers: [DocsController] })
export class DocsModule {}
