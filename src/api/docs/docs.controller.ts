import { Controller, Get, Header } from '@nestjs/common';
import { z } from 'zod';
import { jobDefinitions } from '../../../workflows/catalog';

const ROUTES: [string, string, string][] = [
  ['GET', '/health', '200 {status, temporal}; 503 when Temporal is unreachable'],
  [
    'GET',
    '/api/job-types',
    '200 [{type, description, steps: [{key, name, kind, weight, dependsOn}], inputSchema}] (JSON Schema from zod)',
  ],
  [
    'POST',
    '/api/jobs',
    'Body {type, input, jobId?} → 201 {jobId, runId, type, status}; 200 if jobId is running; 400 / 404 / 409',
  ],
  [
    'GET',
    '/api/jobs',
    'Query status, type, recoverable, parentJobId, pageSize (1-100, default 20), pageToken → 200 {jobs: [JobSummary], nextPageToken}; 400',
  ],
  ['GET', '/api/jobs/:jobId', '200 JobState (also after the job closed); 404'],
  ['GET', '/api/jobs/:jobId/children', '200 tree of {jobId, type, status, progress, children}; 404'],
  [
    'POST',
    '/api/jobs/:jobId/pause',
    'Body {reason?, by?} → 200 JobState (pausing or paused); 404; 409 closed, cancelling or already paused',
  ],
  ['POST', '/api/jobs/:jobId/resume', 'Body {reason?, by?} → 200 JobState; 404; 409 closed or not paused'],
  [
    'POST',
    '/api/jobs/:jobId/cancel',
    'Body {reason?, by?} → 202 JobState (cancelling); 404; 409 closed or already cancelling',
  ],
  [
    'POST',
    '/api/jobs/:jobId/retry',
    'Body {fromStep?} → 201 {jobId, runId, type, status} (new run, same id); 400 bad fromStep; 404; 409 not failed/cancelled/completed_with_errors, still running, or recovery limit reached',
  ],
];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A small human-readable reference: routes, and every job type with its input JSON Schema. */
@Controller()
export class DocsController {
  private readonly html = render();

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  docs(): string {
    return this.html;
  }
}

function render(): string {
  const routes = ROUTES.map(
    ([m, p, d]) => `<tr><td><code>${m}</code></td><td><code>${esc(p)}</code></td><td>${esc(d)}</td></tr>`,
  ).join('');
  const types = jobDefinitions
    .map((def) => {
      const steps = def.steps
        .map((s) => `<li><code>${esc(s.key)}</code> ${esc(s.name)} (${s.kind}, weight ${s.weight})</li>`)
        .join('');
      const schema = JSON.stringify(z.toJSONSchema(def.input, { io: 'input' }), null, 2);
      return `<h3><code>${esc(def.name)}</code></h3><p>${esc(def.description)}</p><ol>${steps}</ol><pre>${esc(schema)}</pre>`;
    })
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Stepwise API</title>
<style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}td{padding:.2rem .6rem;vertical-align:top}pre{background:#f4f4f4;padding:.6rem}</style>
</head><body><h1>Stepwise API</h1>
<p>Errors: <code>{statusCode, error, message, issues?: [{path, message}]}</code>.</p>
<h2>Routes</h2><table>${routes}</table><h2>Job types</h2>${types}</body></html>`;
}
