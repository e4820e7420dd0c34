/**
 * `/openapi.json`: a valid OpenAPI 3.1 document listing every route Fastify registered, and live
 * answers of each route match the schema the document declares for them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OpenApiService } from '../../src/api/openapi/openapi.service';
import type { OpenApiDocument } from '../../src/api/openapi/openapi-document';
import { openApiPath } from '../../src/api/openapi/openapi-document';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;
let app: NestFastifyApplication;
let doc: OpenApiDocument;

beforeAll(async () => {
  harness = await startTestApi();
  ({ app } = harness);
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json<OpenApiDocument>();
});

afterAll(async () => {
  await harness?.close();
});

type Res = Awaited<ReturnType<NestFastifyApplication['inject']>>;

/** Checks a live answer against the schema the document declares for its route and status. */
function expectMatches(method: string, route: string, res: Res): void {
  const op = doc.paths[openApiPath(route)]?.[method.toLowerCase()] as
    { responses: Record<string, { content?: Record<string, { schema: unknown }> }> } | undefined;
  expect(op).toBeDefined();
  const declared = op!.responses[String(res.statusCode)];
  if (!declared) throw new Error(`${method} ${route}: status ${res.statusCode} is not declared`);
  const schema = declared.content?.['application/json']?.schema;
  if (!schema) return;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The document's components, so that `#/components/schemas/…` references resolve.
  ajv.addSchema({ $id: 'openapi.json', components: doc.components }, 'openapi.json');
  const rebased = JSON.parse(
    JSON.stringify(schema).replace(/"#\/components\//g, '"openapi.json#/components/'),
  );
  const validate = ajv.compile(
    JSON.parse(
      JSON.stringify({ $id: `check-${uniqueId('s')}`, ...rebased }).replace(
        /"#\/components\//g,
        '"openapi.json#/components/',
      ),
    ),
  );
  if (!validate(res.json())) {
    throw new Error(
      `${method} ${route} ${res.statusCode} does not match its schema: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 2000)}`,
    );
  }
}

const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = require.resolve('@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
    const out = execFileSync(process.execPath, [cli, file], { encoding: 'utf8' });
    expect(out).toMatch(/"valid": true/);
    // A client generator reads it: openapi-typescript writes the types without errors.
    const types = join(file, '..', 'openapi.d.ts');
    const bin = join(require.resolve('openapi-typescript/package.json'), '..', 'bin', 'cli.js');
    execFileSync(process.execPath, [bin, file, '-o', types], { encoding: 'utf8', stdio: 'pipe' });
    expect(readFileSync(types, 'utf8')).toContain('JobState');
  });

  it('lists every route Fastify registered, with its error responses and security', () => {
    const registered = app
      .get(OpenApiService)
      .registered.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(registered.length).toBeGreaterThan(10);
    // The dashboard's pages and files and Swagger UI's files are not part of the contract.
    const notInDocument = new Set([
      '/',
      '/new',
      '/charts',
      '/schedules',
      '/subscriptions',
      '/jobs/:jobId',
      '/app/:file',
      '/docs/assets/:file',
    ]);
    for (const { method, url } of registered) {
      if (notInDocument.has(url)) continue;
      const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()] as
        { responses: Record<string, unknown>; security?: unknown[] } | undefined;
      if (!op) throw new Error(`${method} ${url} is missing from /openapi.json`);
      if (op.security === undefined) expect(Object.keys(op.responses)).toContain('401');
    }
    // Public routes say so; the rest need the bearer scheme.
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/docs'].get.security).toEqual([]);
    expect(doc.paths['/openapi.json'].get.security).toEqual([]);
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.paths['/api/jobs'].post.responses as object).sort()).toEqual(
      ['200', '201', '400', '401', '403', '404', '409', '413', '415', '429', '503'].sort(),
    );
  });

  it('has each startable job type as a variant of StartJobBody', () => {
    const body = doc.components.schemas.StartJobBody as { oneOf: unknown[]; discriminator: unknown };
    expect(body.oneOf).toContainEqual({ $ref: '#/components/schemas/StartExampleBody' });
    expect(doc.components.schemas.ExampleInput).toMatchObject({ type: 'object' });
  });
});

describe('GET /docs', () => {
  it('loads nothing from another origin', async () => {
    const html = (await inject('GET', '/docs')).body;
    const init = (await inject('GET', '/docs/assets/init.js')).body;
    for (const text of [html, init]) expect(text).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      expect(m[1]).toMatch(/^\/(docs|openapi)/);
      const res = await inject('GET', m[1]);
      expect(res.statusCode).toBe(200);
    }
    expect((await inject('GET', '/docs/assets/nope.js')).statusCode).toBe(404);
  });
});

describe('live answers match the declared schemas', () => {
  it('for every kind of route', async () => {
    const jobId = uniqueId('oa');
    const start = await inject('POST', '/api/jobs', { type: 'example', jobId, input: { durationMs: 50 } });
    expect(start.statusCode).toBe(201);
    expectMatches('POST', '/api/jobs', start);

    const state = await waitFor(
      async () => inject('GET', `/api/jobs/${jobId}`),
      (r) => r.statusCode === 200 && r.json<JobState>().status === 'completed',
    );
    expectMatches('GET', '/api/jobs/:jobId', state);
    expectMatches('GET', '/api/jobs', await inject('GET', '/api/jobs?pageSize=5'));
    expectMatches('GET', '/api/jobs/:jobId/children', await inject('GET', `/api/jobs/${jobId}/children`));
    expectMatches('GET', '/api/job-types', await inject('GET', '/api/job-types'));
    expectMatches('GET', '/health', await inject('GET', '/health'));

    // A control ack: a long job, paused then cancelled.
    const longId = uniqueId('oa-long');
    expect(
      (await inject('POST', '/api/jobs', { type: 'example', jobId: longId, input: { durationMs: 20_000 } }))
        .statusCode,
    ).toBe(201);
    await waitFor(
      async () => inject('GET', `/api/jobs/${longId}`),
      (r) => r.statusCode === 200,
    );
    const pause = await inject('POST', `/api/jobs/${longId}/pause`, { reason: 'openapi test' });
    expect(pause.statusCode).toBe(200);
    expectMatches('POST', '/api/jobs/:jobId/pause', pause);
    const resume = await inject('POST', `/api/jobs/${longId}/resume`, {});
    expectMatches('POST', '/api/jobs/:jobId/resume', resume);
    const cancel = await inject('POST', `/api/jobs/${longId}/cancel`, {});
    expect(cancel.statusCode).toBe(202);
    expectMatches('POST', '/api/jobs/:jobId/cancel', cancel);

    // Errors: a refused control, an unknown job, a bad body with issues.
    const again = await inject('POST', `/api/jobs/${jobId}/pause`, {});
    expect(again.statusCode).toBe(409);
    expectMatches('POST', '/api/jobs/:jobId/pause', again);
    const missing = await inject('GET', '/api/jobs/oa-no-such-job');
    expect(missing.statusCode).toBe(404);
    expectMatches('GET', '/api/jobs/:jobId', missing);
    const bad = await inject('POST', '/api/jobs', { type: 'example', input: { durationMs: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ issues: unknown[] }>().issues.length).toBeGreaterThan(0);
    expectMatches('POST', '/api/jobs', bad);

    // Retry of a completed job, then terminate of the new run.
    const retry = await inject('POST', `/api/jobs/${jobId}/retry`, { fromStep: 1 });
    expectMatches('POST', '/api/jobs/:jobId/retry', retry);
    const terminate = await inject('DELETE', `/api/jobs/${jobId}`, { reason: 'openapi test' });
    expectMatches('DELETE', '/api/jobs/:jobId', terminate);

    // Schedules: create (paused), read, list, change, run now, delete; a 409, a 404 and a 400.
    const scheduleId = uniqueId('oa-sched');
    const sched = {
      scheduleId,
      type: 'example',
      input: { durationMs: 10 },
      intervalSeconds: 3600,
      paused: true,
    };
    const created = await inject('POST', '/api/schedules', sched);
    expect(created.statusCode).toBe(201);
    expectMatches('POST', '/api/schedules', created);
    const taken = await inject('POST', '/api/schedules', sched);
    expect(taken.statusCode).toBe(409);
    expectMatches('POST', '/api/schedules', taken);
    const badSched = await inject('POST', '/api/schedules', { ...sched, intervalSeconds: 0 });
    expect(badSched.statusCode).toBe(400);
    expectMatches('POST', '/api/schedules', badSched);
    expectMatches('GET', '/api/schedules', await inject('GET', '/api/schedules?pageSize=5'));
    const patched = await inject('PATCH', `/api/schedules/${scheduleId}`, { cron: '@daily' });
    expect(patched.statusCode).toBe(200);
    expectMatches('PATCH', '/api/schedules/:scheduleId', patched);
    expectMatches(
      'POST',
      '/api/schedules/:scheduleId/unpause',
      await inject('POST', `/api/schedules/${scheduleId}/unpause`, {}),
    );
    expectMatches(
      'POST',
      '/api/schedules/:scheduleId/pause',
      await inject('POST', `/api/schedules/${scheduleId}/pause`, { note: 'oa' }),
    );
    const triggered = await inject('POST', `/api/schedules/${scheduleId}/trigger`, {});
    expect(triggered.statusCode).toBe(202);
    expectMatches('POST', '/api/schedules/:scheduleId/trigger', triggered);
    const withRun = await waitFor(
      async () => inject('GET', `/api/schedules/${scheduleId}`),
      (r) => r.json<{ recentRuns: { status: string | null }[] }>().recentRuns[0]?.status === 'completed',
    );
    expectMatches('GET', '/api/schedules/:scheduleId', withRun);
    expectMatches(
      'DELETE',
      '/api/schedules/:scheduleId',
      await inject('DELETE', `/api/schedules/${scheduleId}`),
    );
    const gone = await inject('GET', `/api/schedules/${scheduleId}`);
    expect(gone.statusCode).toBe(404);
    expectMatches('GET', '/api/schedules/:scheduleId', gone);

    const audit = await inject('GET', `/api/audit?jobId=${longId}`);
    expect(audit.statusCode).toBe(200);
    expect(audit.json<{ entries: unknown[] }>().entries.length).toBeGreaterThan(0);
    expectMatches('GET', '/api/audit', audit);
    expectMatches('GET', '/openapi.json', await inject('GET', '/openapi.json'));
    const me = await inject('GET', '/api/me');
    expect(me.json()).toEqual({ name: 'local', role: 'admin', openMode: true });
    expectMatches('GET', '/api/me', me);
  });
});

describe('the dashboard pages', () => {
  it('are the same HTML shell under a strict CSP, loading only files of this origin that exist', async () => {
    for (const path of ['/', '/new', '/jobs/some-job']) {
      const res = await inject('GET', path);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    }
    expect((await inject('GET', '/jobs/..%2Fetc')).statusCode).toBe(400);
    const html = (await inject('GET', '/')).body;
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs).toEqual(expect.arrayContaining(['/app/main.js', '/app/styles.css', '/app/favicon.svg']));
    for (const ref of refs) {
      expect(ref).toMatch(/^\/app\//);
      const res = await inject('GET', ref);
      expect(res.statusCode).toBe(200);
      // The browser code imports its other modules by relative path: all of them are served.
      for (const m of res.body.matchAll(/from '\.\/([a-z.-]+\.js)'/g)) {
        expect((await inject('GET', `/app/${m[1]}`)).statusCode).toBe(200);
      }
      // The icon's SVG namespace is a name, not something fetched.
      const body = res.body.replace(' xmlns="http://www.w3.org/2000/svg"', '');
      expect(body).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    }
    expect((await inject('GET', '/app/nope.js')).statusCode).toBe(404);
    expect((await inject('GET', '/app/..%2Fsrc%2Fmain.js')).statusCode).toBe(404);
  });
});
