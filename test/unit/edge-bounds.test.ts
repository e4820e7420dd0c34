/**
 * The pure parts of issue 18's bounds: which hosts and origins the API serves, secrets kept out of
 * log lines, deep JSON caught before it is serialised, dashboard links that stay on the site, the
 * closed-state cache keyed by run, rate-limiter memory, and audit retention.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditStore, type AuditRecord } from '../../src/api/audit/audit.store';
import { RateLimiter } from '../../src/api/auth/rate-limiter';
import { hostName, isAllowedOrigin, isServedHost } from '../../src/api/common/browser-guard';
import { ClosedStateCache } from '../../src/client/closed-state-cache';
import { sameOriginPath } from '../../src/dashboard/links';
import { JsonLogger } from '../../src/logger';
import { redactSecrets, redactUrl } from '../../src/redact';
import type { JobState } from '../../workflows/contracts';
import { jsonBytes, jsonDepthExceeds, JsonTooDeepError, MAX_JSON_DEPTH } from '../../workflows/limits';

describe('the Host allow-list', () => {
  it('serves loopback names, IP addresses and the configured names; nothing else', () => {
    const served = (h: string, allowed: string[] = []) => isServedHost(hostName(h), allowed);
    for (const h of [
      '127.0.0.1:3000',
      'localhost:3000',
      'LOCALHOST',
      '[::1]:3000',
      '127.1.2.3',
      '10.0.0.5:80',
    ])
      expect([h, served(h)]).toEqual([h, true]);
    for (const h of [
      'rebind.attacker.example:3000',
      'localhost.attacker.example',
      'evil',
      '',
      'a b',
      '[zz]:1',
    ])
      expect([h, served(h)]).toEqual([h, false]);
    expect(served('jobs.example.com:443', ['jobs.example.com'])).toBe(true);
    expect(served('sub.jobs.example.com', ['jobs.example.com'])).toBe(false);
    expect(isServedHost(hostName(undefined), [])).toBe(false);
  });

  it('treats an Origin as the API’s own only when it names the very host of the request', () => {
    expect(isAllowedOrigin('http://127.0.0.1:3000', '127.0.0.1:3000', [])).toBe(true);
    expect(isAllowedOrigin('https://jobs.example.com', 'jobs.example.com', [])).toBe(true);
    expect(isAllowedOrigin('http://127.0.0.1:3001', '127.0.0.1:3000', [])).toBe(false);
    expect(isAllowedOrigin('null', '127.0.0.1:3000', [])).toBe(false);
    expect(isAllowedOrigin('http://evil.example', '127.0.0.1:3000', [])).toBe(false);
    expect(isAllowedOrigin('https://ops.example.com', 'api:3000', ['https://ops.example.com'])).toBe(true);
  });
});

describe('secrets in log lines', () => {
  const key = 'test-key-4b0c7a7e-1f0e-4a53-9f8e-0d1c2b3a4f5e';

  it('redacts credential parameters of URLs, and only those', () => {
    expect(redactUrl(`/api/events?type=x&access_token=${key}`)).toBe(
      '/api/events?type=x&access_token=[redacted]',
    );
    expect(redactUrl(`/api/jobs/j/events?access_token=${encodeURIComponent(key)}#x`)).toBe(
      '/api/jobs/j/events?access_token=[redacted]#x',
    );
    expect(redactUrl('/api/jobs?pageToken=abc&type=token')).toBe('/api/jobs?pageToken=abc&type=token');
  });

  it('the logger writes no credential: not in fields, messages, URLs, errors or key digests', () => {
    const lines: string[] = [];
    const log = new JsonLogger('api', 'trace', (l) => lines.push(l));
    const digest = 'ab'.repeat(32);
    log.warn(`GET /api/events?access_token=${key} 401`, {
      url: `/api/jobs/x/events?access_token=${key}`,
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      Authorization: key,
      note: `sent "Authorization: Bearer ${key}"`,
      entry: `ci:operator:sha256:${digest}`,
      error: new Error(`request with bearer ${key} failed`, { cause: new Error(`token=${key}`) }),
    });
    const text = lines.join('\n');
    expect(text).not.toContain(key);
    expect(text).not.toContain(digest);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      headers: { authorization: '[redacted]', accept: 'text/event-stream' },
      Authorization: '[redacted]',
      url: '/api/jobs/x/events?access_token=[redacted]',
    });
    expect(redactSecrets({ pageToken: 'p', nested: [{ password: 'x' }] })).toEqual({
      pageToken: 'p',
      nested: [{ password: '[redacted]' }],
    });
  });
});

describe('deeply nested JSON', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 0;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  };

  it('is caught before serialising, without overflowing the stack', () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    // 10 KB of nested arrays, and far more: JSON.stringify alone overflows the stack on these.
    expect(jsonDepthExceeds(JSON.parse('['.repeat(5000) + ']'.repeat(5000)))).toBe(true);
    expect(() => jsonBytes(nested(200_000))).toThrow(JsonTooDeepError);
    expect(jsonBytes({ a: [1, { b: 'é' }] })).toBe(Buffer.byteLength(JSON.stringify({ a: [1, { b: 'é' }] })));
  });
});

describe('dashboard entity links', () => {
  const origin = 'http://127.0.0.1:3000';

  it('link only to paths of the dashboard’s own site', () => {
    expect(sameOriginPath('/jobs/a?x=1#y', origin)).toBe('/jobs/a?x=1#y');
    expect(sameOriginPath('/datasets/../jobs/b', origin)).toBe('/jobs/b');
    // What browsers open as another site: a backslash reads as a slash, tabs and newlines vanish.
    for (const route of ['/\\evil.example', '//evil.example', '/\t/evil.example', '/\\/evil.example'])
      expect([route, sameOriginPath(route, origin)]).toEqual([route, null]);
    for (const route of ['https://evil.example/', 'javascript:alert(1)', 'jobs/a', ''])
      expect([route, sameOriginPath(route, origin)]).toEqual([route, null]);
  });
});

describe('ClosedStateCache', () => {
  const state = (runId: string, pad = 0) =>
    ({ jobId: 'j', runId, status: 'completed', message: 'x'.repeat(pad) }) as unknown as JobState;

  it('is keyed by run, so a new run of the same job is never answered from the old one', () => {
    const cache = new ClosedStateCache(10_000);
    cache.set({ workflowId: 'j', runId: 'r1' }, state('r1'));
    expect(cache.get({ workflowId: 'j', runId: 'r1' })?.runId).toBe('r1');
    expect(cache.get({ workflowId: 'j', runId: 'r2' })).toBeUndefined();
  });

  it('stays within its byte budget, least recently read out first, and hands out copies', () => {
    const cache = new ClosedStateCache(4_000);
    for (let i = 0; i < 5; i++) cache.set({ workflowId: 'j', runId: `r${i}` }, state(`r${i}`, 900));
    expect(cache.size).toBeLessThan(5);
    expect(cache.get({ workflowId: 'j', runId: 'r0' })).toBeUndefined();
    const got = cache.get({ workflowId: 'j', runId: 'r4' })!;
    got.status = 'failed';
    expect(cache.get({ workflowId: 'j', runId: 'r4' })?.status).toBe('completed');
    cache.set({ workflowId: 'j', runId: 'big' }, state('big', 2_000)); // over a quarter: not kept
    expect(cache.get({ workflowId: 'j', runId: 'big' })).toBeUndefined();
    expect(new ClosedStateCache(0).size).toBe(0);
  });
});

describe('RateLimiter memory', () => {
  it('tracks at most maxBuckets callers, forgetting the least recently seen', () => {
    const limiter = new RateLimiter(60, 1, () => 0, 3);
    for (const a of ['a', 'b', 'c']) expect(limiter.take(a)).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0); // a is still tracked and empty
    limiter.take('d'); // forgets b, the least recently seen
    expect(limiter.take('b')).toBe(0);
  });
});

describe('audit retention', () => {
  const record = (at: string, requestId: string): AuditRecord => ({
    at,
    requestId,
    actor: 'ops',
    role: 'operator',
    action: 'pause',
    jobId: 'j',
    reason: null,
    outcome: 'accepted',
    statusCode: 200,
    message: null,
    ip: '127.0.0.1',
  });

  it('prunes rows past the retention period; the trigger still refuses deleting younger ones', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'stepwise-audit-')), 'audit.sqlite');
    const store = new AuditStore(path);
    const now = Date.parse('2026-06-30T12:00:00.000Z');
    store.append(record('2026-05-01T00:00:00.000Z', 'old'));
    store.append(record('2026-06-29T00:00:00.000Z', 'young'));
    expect(store.prune(30, now)).toBe(1);
    expect(store.list({ limit: 10 }).entries.map((e) => e.requestId)).toEqual(['young']);
    const raw = new Database(path);
    expect(() => raw.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(() => raw.prepare("UPDATE audit_log SET reason = 'x'").run()).toThrow(/append-only/);
    raw.close();
    store.close();
  });

  it('opens a file written before aggregated rows, adding their count (1)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'stepwise-audit-')), 'audit.sqlite');
    const raw = new Database(path);
    raw.exec(`CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
      request_id TEXT NOT NULL, actor TEXT, role TEXT, action TEXT NOT NULL, job_id TEXT, reason TEXT,
      outcome TEXT NOT NULL, status_code INTEGER NOT NULL, message TEXT, ip TEXT);
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      INSERT INTO audit_log (at, request_id, action, outcome, status_code)
        VALUES ('2020-01-01T00:00:00.000Z', 'before', 'pause', 'accepted', 200);`);
    raw.close();
    const store = new AuditStore(path);
    expect(store.list({ limit: 10 }).entries).toEqual([
      expect.objectContaining({ requestId: 'before', count: 1 }),
    ]);
    expect(store.prune(1)).toBe(1);
    store.close();
  });
});
