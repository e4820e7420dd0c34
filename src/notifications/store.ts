/**
 * The notifications' own SQLite file (`STEPWISE_NOTIFICATIONS_DB_PATH`, 0600 like the audit
 * trail): subscriptions with their secrets, the delivery log, and the notifier's cursor. Owned by
 * the API process, whose notifications worker reads secrets here at send time — so a secret never
 * travels through Temporal, a URL or a log. Subscriptions declared in `STEPWISE_NOTIFICATIONS_FILE`
 * are held in memory beside it ({@link NotificationStore.setFileSubscriptions}), read-only.
 */
import type Database from 'better-sqlite3';
import { openPrivateSqlite } from '../private-sqlite';
import type {
  DeliveryAttempt,
  DeliveryStatus,
  NotificationEvent,
} from '../../workflows/notifications/contracts';

/** A subscription as kept (secrets included: never return this shape from the API). */
export interface StoredSubscription {
  id: string;
  url: string;
  description: string | null;
  events: NotificationEvent[];
  /** Job types it wants; null: all. */
  jobTypes: string[] | null;
  enabled: boolean;
  source: 'api' | 'file';
  secret: string;
  /** The secret before the last rotation, and until when it still signs. */
  previousSecret: string | null;
  previousSecretUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  subscriptionId: string;
  event: string;
  jobId: string | null;
  runId: string | null;
  replayOf: string | null;
  /** The exact JSON sent (a replay sends it again). */
  body: string;
  createdAt: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
}

export interface DeliveryFilter {
  subscriptionId?: string;
  status?: DeliveryStatus;
  limit: number;
  /** Deliveries listed before this row (a page token's position). */
  before?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  events TEXT NOT NULL,
  job_types TEXT,
  enabled INTEGER NOT NULL,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  webhook_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  event TEXT NOT NULL,
  job_id TEXT,
  run_id TEXT,
  replay_of TEXT,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL,
  next_attempt_at TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries (subscription_id, seq);
CREATE TABLE IF NOT EXISTS delivery_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at TEXT NOT NULL,
  status_code INTEGER,
  latency_ms INTEGER,
  error TEXT,
  next_attempt_at TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
CREATE TABLE IF NOT EXISTS notifier_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface SubscriptionRow {
  id: string;
  url: string;
  description: string | null;
  events: string;
  job_types: string | null;
  enabled: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: string | null;
  created_at: string;
  updated_at: string;
}

interface DeliveryRow {
  seq: number;
  id: string;
  webhook_id: string;
  subscription_id: string;
  event: string;
  job_id: string | null;
  run_id: string | null;
  replay_of: string | null;
  body: string;
  created_at: string;
  status: DeliveryStatus;
  next_attempt_at: string | null;
}

interface AttemptRow {
  attempt: number;
  at: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  next_attempt_at: string | null;
}

/** The attempts a delivery's log entry shows (the latest ones; a delivery has under 40 with the defaults). */
const MAX_ATTEMPTS_SHOWN = 50;

export class NotificationStore {
  private readonly db: Database.Database;
  private fileSubscriptions: StoredSubscription[] = [];

  constructor(path: string) {
    this.db = openPrivateSqlite(path);
    this.db.exec(SCHEMA);
  }

  /** The deployment's subscriptions (from `STEPWISE_NOTIFICATIONS_FILE`), replacing earlier ones. */
  setFileSubscriptions(subs: StoredSubscription[]): void {
    this.fileSubscriptions = subs;
  }

  isFileSubscription(id: string): boolean {
    return this.fileSubscriptions.some((s) => s.id === id);
  }

  /** Every subscription, the file's first, then the API's by creation. */
  list(): StoredSubscription[] {
    const rows = this.db
      .prepare('SELECT * FROM subscriptions ORDER BY created_at, id')
      .all() as SubscriptionRow[];
    return [...this.fileSubscriptions, ...rows.map(toSubscription)];
  }

  countApiSubscriptions(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM subscriptions').get() as { n: number }).n;
  }

  get(id: string): StoredSubscription | undefined {
    const file = this.fileSubscriptions.find((s) => s.id === id);
    if (file) return file;
    const row = this.db.prepare('SELECT * FROM subscriptions WHERE id = ?').get(id) as
      SubscriptionRow | undefined;
    return row ? toSubscription(row) : undefined;
  }

  insert(s: StoredSubscription): void {
    this.db
      .prepare(
        `INSERT INTO subscriptions (id, url, description, events, job_types, enabled, secret, previous_secret, previous_secret_until, created_at, updated_at)
         VALUES (@id, @url, @description, @events, @jobTypes, @enabled, @secret, @previousSecret, @previousSecretUntil, @createdAt, @updatedAt)`,
      )
      .run(toParams(s));
  }

  update(s: StoredSubscription): void {
    this.db
      .prepare(
        `UPDATE subscriptions SET url = @url, description = @description, events = @events, job_types = @jobTypes,
           enabled = @enabled, secret = @secret, previous_secret = @previousSecret,
           previous_secret_until = @previousSecretUntil, updated_at = @updatedAt WHERE id = @id`,
      )
      .run(toParams(s));
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM subscriptions WHERE id = ?').run(id).changes > 0;
  }

  /** Records a delivery the notifier (or a test, or a replay) started; a second record of the same id is ignored. */
  recordDelivery(d: Omit<DeliveryRecord, 'attempts' | 'nextAttemptAt' | 'status'>): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO deliveries (id, webhook_id, subscription_id, event, job_id, run_id, replay_of, body, created_at, status)
         VALUES (@id, @webhookId, @subscriptionId, @event, @jobId, @runId, @replayOf, @body, @createdAt, 'pending')`,
      )
      .run(d);
  }

  /** Records one attempt and the delivery's status after it. */
  recordAttempt(deliveryId: string, a: DeliveryAttempt, status: DeliveryStatus): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO delivery_attempts (delivery_id, attempt, at, status_code, latency_ms, error, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(deliveryId, a.attempt, a.at, a.statusCode, a.latencyMs, a.error, a.nextAttemptAt);
      this.db
        .prepare('UPDATE deliveries SET status = ?, next_attempt_at = ? WHERE id = ?')
        .run(status, a.nextAttemptAt, deliveryId);
    })();
  }

  getDelivery(id: string): (DeliveryRecord & { seq: number }) | undefined {
    const row = this.db.prepare('SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row ? this.withAttempts(row) : undefined;
  }

  /** How many replays of `id` were started. */
  countReplays(id: string): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE replay_of = ?').get(id) as { n: number }
    ).n;
  }

  /** Newest first. */
  listDeliveries(filter: DeliveryFilter): {
    deliveries: (DeliveryRecord & { seq: number })[];
    more: boolean;
  } {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: filter.limit + 1 };
    if (filter.subscriptionId !== undefined) {
      where.push('subscription_id = @subscriptionId');
      params.subscriptionId = filter.subscriptionId;
    }
    if (filter.status !== undefined) {
      where.push('status = @status');
      params.status = filter.status;
    }
    if (filter.before !== undefined) {
      where.push('seq < @before');
      params.before = filter.before;
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`,
      )
      .all(params) as DeliveryRow[];
    return {
      deliveries: rows.slice(0, filter.limit).map((r) => this.withAttempts(r)),
      more: rows.length > filter.limit,
    };
  }

  /** True while some delivery is not finished (the notifications worker must run). */
  hasOpenDeliveries(): boolean {
    return (
      this.db.prepare("SELECT 1 FROM deliveries WHERE status IN ('pending', 'retrying') LIMIT 1").get() !==
      undefined
    );
  }

  getState(name: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM notifier_state WHERE name = ?').get(name) as
      { value: string } | undefined;
    return row?.value;
  }

  setState(name: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO notifier_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private withAttempts(r: DeliveryRow): DeliveryRecord & { seq: number } {
    const attempts = (
      this.db
        .prepare('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt DESC LIMIT ?')
        .all(r.id, MAX_ATTEMPTS_SHOWN) as AttemptRow[]
    )
      .reverse()
      .map((a): DeliveryAttempt => ({
        attempt: a.attempt,
        at: a.at,
        statusCode: a.status_code,
        latencyMs: a.latency_ms,
        error: a.error,
        nextAttemptAt: a.next_attempt_at,
      }));
    return {
      seq: r.seq,
      id: r.id,
      webhookId: r.webhook_id,
      subscriptionId: r.subscription_id,
      event: r.event,
      jobId: r.job_id,
      runId: r.run_id,
      replayOf: r.replay_of,
      body: r.body,
      createdAt: r.created_at,
      status: r.status,
      attempts,
      nextAttemptAt: r.next_attempt_at,
    };
  }
}

function toSubscription(r: SubscriptionRow): StoredSubscription {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: JSON.parse(r.events) as NotificationEvent[],
    jobTypes: r.job_types === null ? null : (JSON.parse(r.job_types) as string[]),
    enabled: r.enabled === 1,
    source: 'api',
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretUntil: r.previous_secret_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toParams(s: StoredSubscription): Record<string, string | number | null> {
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    events: JSON.stringify(s.events),
    jobTypes: s.jobTypes === null ? null : JSON.stringify(s.jobTypes),
    enabled: s.enabled ? 1 : 0,
    secret: s.secret,
    previousSecret: s.previousSecret,
    previousSecretUntil: s.previousSecretUntil,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** The secrets a delivery is signed with now: the current one, and the previous one during its overlap. */
export function signingSecrets(s: StoredSubscription, now = Date.now()): string[] {
  const previousLive =
    s.previousSecret !== null && s.previousSecretUntil !== null && Date.parse(s.previousSecretUntil) > now;
  return previousLive ? [s.secret, s.previousSecret!] : [s.secret];
}
