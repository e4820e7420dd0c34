import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../common/errors';
import { Public } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';

/** Swagger UI's files, from the `swagger-ui-dist` package (served here: nothing comes from a CDN). */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSET_TYPES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Starts Swagger UI on this API's document (a file, not inline, so a strict CSP can allow it). */
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
  });
});
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stepwise API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<noscript>The interactive reference needs JavaScript; the contract itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

const assetParams = z.object({ file: z.string() });

/**
 * Swagger UI's page: its scripts and the document only from this origin (style attributes inline,
 * which Swagger UI sets), and no framing, so no other site can load the reference into a frame and
 * steer clicks on its "Try it out" buttons.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const protect = (reply: FastifyReply): void => {
  void reply
    .header('content-security-policy', DOCS_CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
};

/** `GET /docs`: Swagger UI on `/openapi.json`, served with its assets from the API. */
@Controller('docs')
export class DocsController {
  private readonly cache = new Map<string, Buffer>();

  @Get()
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @ApiOperation({
    summary: 'Interactive API reference (Swagger UI)',
    tags: ['docs'],
    responses: { 200: { description: 'HTML page', contentType: 'text/html', schema: z.string() } },
  })
  docs(@Res({ passthrough: true }) reply: FastifyReply): string {
    protect(reply);
    return HTML;
  }

  @Get('assets/:file')
  @Public()
  @ApiOperation({
    summary: 'A file of the interactive reference',
    tags: ['docs'],
    notInDocument: true,
    params: assetParams,
    responses: {
      200: { description: 'The file', contentType: 'application/octet-stream', schema: z.string() },
    },
    errors: { 404: 'No such file' },
  })
  asset(@Param('file') file: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer | string {
    protect(reply);
    if (file === 'init.js') {
      void reply.type('text/javascript; charset=utf-8');
      return INIT_JS;
    }
    const type = Object.hasOwn(ASSET_TYPES, file) ? ASSET_TYPES[file] : undefined;
    if (!type) throw new ApiError(404, `No asset "${file}"`);
    let body = this.cache.get(file);
    if (!body) {
      body = readFileSync(join(SWAGGER_UI_DIR, file));
      this.cache.set(file, body);
    }
    void reply.type(type).header('cache-control', 'public, max-age=3600');
    return body;
  }
}
