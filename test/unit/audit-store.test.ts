import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAuditPageToken, encodeAuditPageToken } from '../../src/api/audit/audit.schemas';
import { AuditStore, type AuditRecord } from '../../src/api/audit/audit.store';

const record = (over: Partial<AuditRecord> = {}): AuditRecord => ({
  at: new Date().toISOString(),
  requestId: 'r1',
  actor: 'ops',
  role: 'operator',
  action: 'pause',
  jobId: 'job-1',
  reason: null,
  outcome: 'accepted',
  statusCode: 200,
  message: null,
  ip: '127.0.0.1',
  ...over,
});

describe('AuditStore', () => {
  it('appends a bulk item once per request id, across two writers, and lists a bulk job’s items by prefix', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'stepwise-audit-')), 'audit.sqlite');
    const worker = new AuditStore(path);
    const retried = new AuditStore(path);
    expect(worker.appendOnce(record({ requestId: 'bulk/b-1/0', ip: null }))).toBe(true);
    expect(retried.appendOnce(record({ requestId: 'bulk/b-1/0', outcome: 'refused', statusCode: 409 }))).toBe(
      false,
    );
    expect(retried.appendOnce(record({ requestId: 'bulk/b-1/1', jobId: 'job-2' }))).toBe(true);
    // Another bulk job whose id extends this one's is not among its items.
    expect(worker.appendOnce(record({ requestId: 'bulk/b-10/0' }))).toBe(true);
    expect(worker.findRequest('bulk/b-1/0')).toMatchObject({
      outcome: 'accepted',
      statusCode: 200,
      ip: null,
    });
    expect(worker.listRequests('bulk/b-1/', 10).map((e) => [e.requestId, e.jobId])).toEqual([
      ['bulk/b-1/0', 'job-1'],
      ['bulk/b-1/1', 'job-2'],
    ]);
    worker.close();
    retried.close();
  });

  it('appends to a WAL file that refuses UPDATE and DELETE, and is shared by two writers', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'stepwise-audit-')), 'nested', 'audit.sqlite');
    const a = new AuditStore(path);
    const b = new AuditStore(path);
    a.append(record({ requestId: 'a' }));
    b.append(record({ requestId: 'b', outcome: 'refused', statusCode: 409, message: 'already paused' }));
    expect(a.list({ limit: 10 }).entries.map((e) => e.requestId)).toEqual(['b', 'a']);

    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(() => raw.prepare("UPDATE audit_log SET actor = 'x'").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(raw.prepare('SELECT count(*) AS n FROM audit_log').get()).toEqual({ n: 2 });
    raw.close();
    a.close();
    b.close();
  });

  it('filters and pages newest first', () => {
    const s = new AuditStore(':memory:');
    for (let i = 0; i < 5; i++)
      s.append(
        record({ requestId: `r${i}`, jobId: i % 2 ? 'odd' : 'even', at: `2026-01-0${i + 1}T00:00:00.000Z` }),
      );
    expect(s.list({ limit: 10, jobId: 'even' }).entries.map((e) => e.requestId)).toEqual(['r4', 'r2', 'r0']);
    const first = s.list({ limit: 2 });
    expect(first.more).toBe(true);
    const second = s.list({ limit: 2, before: first.entries[1].id });
    expect(second.entries.map((e) => e.requestId)).toEqual(['r2', 'r1']);
    expect(
      s
        .list({ limit: 10, from: '2026-01-02T00:00:00.000Z', to: '2026-01-04T00:00:00.000Z' })
        .entries.map((e) => e.requestId),
    ).toEqual(['r2', 'r1']);
    s.close();
  });

  it('page tokens round-trip and anything else is refused', () => {
    expect(decodeAuditPageToken(encodeAuditPageToken(42))).toBe(42);
    for (const t of ['', '42', 'YTEuLTE', Buffer.from('a1.0').toString('base64url'), 'a'.repeat(100)])
      expect(decodeAuditPageToken(t)).toBeUndefined();
  });
});
