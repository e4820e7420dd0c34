import { Module } from '@nestjs/common';
import { DocsController } from './docs.controller';

/** `GET /docs`: the interactive reference (Swagger UI from npm) on `/openapi.json`. */
@Module({ controllers: [DocsController] })
export class DocsModule {}
