import { Controller, Get, Header } from '@nestjs/common';
import { z } from 'zod';
import { jobDefinitions } from '../../../workflows/catalog';
import { Public } from '../common/route-policy';

const ROUTES: [string, string, string][] = [
  ['GET', '/health', '200 {status, temporal}; 503 when Temporal is unreachable'],
  [
    'GET',
    '/api/job-types',
    '200 [{type, description, steps: [{key, name, kind, weight, dependsOn}], inputSchema, internal}] (JSON Schema from zod; internal types are started only by their parent job)',
  ],
  [
    'POST',
    '/api/jobs',
    'Body {type, input, jobId?} → 201 {jobId, runId, type, status}; 200 if jobId exists with the same type and input (running or closed); 400 bad body or input, or an internal type; 404 unknown type; 409 jobId exists with another type or input; 413 input over STEPWISE_MAX_INPUT_BYTES',
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
  [
    'DELETE',
    '/api/jobs/:jobId',
    'admin. Body {reason?} → 200 {jobId, runId, status: "terminated"} (Temporal terminate: no cleanup); 404; 409 closed',
  ],
  [
    'GET',
    '/api/audit',
    'admin. Query jobId, actor, action, outcome, from, to (ISO 8601), limit (1-200, default 50), pageToken → 200 {entries: [AuditEntry], nextPageToken}; 400',
  ],
];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A small human-readable reference: routes, and every job type with its input JSON Schema. */
@Controller()
export class DocsController {
  private readonly html = render();

  @Get('docs')
  @Public()
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
      const internal = def.internal ? ' <em>(internal: started only by its parent job)</em>' : '';
      return `<h3><code>${esc(def.name)}</code>${internal}</h3><p>${esc(def.description)}</p><ol>${steps}</ol><pre>${esc(schema)}</pre>`;
    })
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Stepwise API</title>
<style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}td{padding:.2rem .6rem;vertical-align:top}pre{background:#f4f4f4;padding:.6rem}</style>
</head><body><h1>Stepwise API</h1>
<p>Errors: <code>{statusCode, error, message, issues?: [{path, message}]}</code>.</p>
<p>Auth: <code>Authorization: Bearer &lt;key&gt;</code> on every route but <code>/health</code> and <code>/docs</code>. <code>viewer</code> reads (GET); <code>operator</code> also starts, pauses, resumes, cancels and retries; <code>admin</code> also terminates and reads <code>/api/audit</code>. 401 without a valid key, 403 when the role is too low, 429 (<code>Retry-After</code>) past the per-key rate limit of mutating routes. Without configured keys the API runs open on loopback only.</p>
<h2>Routes</h2><table>${routes}</table><h2>Job types</h2>${types}</body></html>`;
}
