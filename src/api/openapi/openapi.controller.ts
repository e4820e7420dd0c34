import { Controller, Get } from '@nestjs/common';
import { Public } from '../common/route-policy';
import { openApiDocumentSchema } from '../contracts';
import { ApiOperation } from './api-operation';
import type { OpenApiDocument } from './openapi-document';
import { OpenApiService } from './openapi.service';

@Controller()
export class OpenApiController {
  constructor(private readonly openApi: OpenApiService) {}

  @Get('openapi.json')
  @Public()
  @ApiOperation({
    summary: 'This OpenAPI 3.1 document',
    tags: ['docs'],
    responses: { 200: { description: 'The OpenAPI document', schema: openApiDocumentSchema } },
  })
  document(): OpenApiDocument {
    return this.openApi.get();
  }
}
