/**
 * The dashboard: one HTML shell for its pages (`/`, `/new`, `/charts`, `/schedules`, `/subscriptions`, `/jobs/:jobId`; the browser code routes
 * between them) and its compiled files under `/app/`. The files come from `dist/dashboard`, built
 * by `npm run build` from `src/dashboard/` (plain TypeScript and CSS, nothing from a CDN); they are
 * read once, when the API starts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config';
import { ApiError } from '../common/errors';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { Public } from '../common/route-policy';
import { APP_CONFIG } from '../config/config.module';
import { jobIdSchema } from '../jobs/schemas';
import { ApiOperation } from '../openapi/api-operation';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Scripts, styles and data only from this origin; no framing. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** The folder holding package.json, from here (src/… under ts-jest, dist/src/… when compiled). */
function projectRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** The built dashboard files by name; empty when `npm run build` has not run. */
function loadAssets(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    if (Object.hasOwn(TYPES, extname(name))) files.set(name, readFileSync(join(dir, name)));
  }
  return files;
}

const escapeAttr = (v: string): string =>
  v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const pageResponse = {
  200: { description: 'The dashboard page', contentType: 'text/html', schema: z.string() },
};
const jobPageParams = z.object({ jobId: jobIdSchema });
const assetParams = z.object({ file: z.string() });

@Controller()
export class DashboardController {
  private readonly assets: Map<string, Buffer>;
  private readonly html: string;

  constructor(@Inject(APP_CONFIG) config: Config) {
    this.assets = loadAssets(join(projectRoot(__dirname), 'dist', 'dashboard'));
    const ui = config.dashboard.temporalUiUrl ?? '';
    const body = this.assets.has('main.js')
      ? '<div id="app"><p class="loading">Loading…</p></div>\n<script type="module" src="/app/main.js"></script>'
      : '<main><h1>Stepwise</h1><p>The dashboard is not built: run <code>npm run build</code>.</p></main>';
    this.html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="stepwise-temporal-ui" content="${escapeAttr(ui)}">
<meta name="stepwise-namespace" content="${escapeAttr(config.temporal.namespace)}">
<meta name="stepwise-trace-url" content="${escapeAttr(config.dashboard.traceUrl ?? '')}">
<title>Stepwise</title>
<link rel="icon" href="/app/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app/styles.css">
</head>
<body>
${body}
</body>
</html>
`;
  }

  @Get()
  @Public()
  @ApiOperation({
    summary: 'Dashboard: the job list',
    tags: ['dashboard'],
    notInDocument: true,
    responses: pageResponse,
  })
  list(@Res({ passthrough: true }) reply: FastifyReply): string {
    return this.page(reply);
  }

  @Get('new')
  @Public()
  @ApiOperation({
    summary: 'Dashboard: the new-job form',
    tags: ['dashboard'],
    notInDocument: true,
    responses: pageResponse,
  })
  newJob(@Res({ passthrough: true }) reply: FastifyReply): string {
    return this.page(reply);
  }

  @Get('charts')
  @Public()
  @ApiOperation({
    summary: 'Dashboard: the charts (GET /api/stats)',
    tags: ['dashboard'],
    notInDocument: true,
    responses: pageResponse,
  })
  charts(@Res({ passthrough: true }) reply: FastifyReply): string {
    return this.page(reply);
  }

  @Get('schedules')
  @Public()
  @ApiOperation({
    summary: 'Dashboard: the schedules, their next runs and latest runs (/api/schedules)',
    tags: ['dashboard'],
    notInDocument: true,
    responses: pageResponse,
  })
  schedules(@Res({ passthrough: true }) reply: FastifyReply): string {
    return this.page(reply);
  }

  @Get('subscriptions')
  @Public()
  @ApiOperation({
    summary: 'Dashboard: the webhook subscriptions and their deliveries (admins; /api/notifications)',
    tags: ['dashboard'],
    notInDocument: true,
    responses: pageResponse,
  })
  subscriptions(@Res({ passthrough: true }) reply: FastifyReply): string {
    return this.page(reply);
  }

  @Get('jobs/:jobId')
  @Public()
  @ApiOperation({
    summary: "Dashboard: a job's card",
    tags: ['dashboard'],
    notInDocument: true,
    params: jobPageParams,
    responses: pageResponse,
    errors: { 400: 'Malformed job id' },
  })
  job(
    @Param('jobId', new ZodPipe(jobIdSchema, 'job id')) _jobId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): string {
    return this.page(reply);
  }

  @Get('app/:file')
  @Public()
  @ApiOperation({
    summary: 'A file of the dashboard (script, style sheet, icon)',
    tags: ['dashboard'],
    notInDocument: true,
    params: assetParams,
    responses: {
      200: { description: 'The file', contentType: 'application/octet-stream', schema: z.string() },
    },
    errors: { 404: 'No such file' },
  })
  asset(@Param('file') file: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer {
    const body = this.assets.get(file);
    if (!body) throw new ApiError(404, `No dashboard file "${file}"`);
    // Not cached across deploys by name: the files are small, revalidated on each load.
    void reply.type(TYPES[extname(file)]).header('cache-control', 'no-cache');
    return body;
  }

  /** The page shell; pages are public (the data behind them needs a key). */
  private page(reply: FastifyReply): string {
    void reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    return this.html;
  }
}
