/**
 * Subscriptions, deliveries and the machinery behind them in the API process: the store, the
 * deployment's file, the notifier and the notifications worker. The worker and the notifier start
 * with the first subscription (or an unfinished delivery): an API without subscriptions runs
 * neither and costs nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { StepwiseApp } from '../../../workflows/engine/app';
import type { Config } from '../../config';
import type { StepwiseClient } from '../../client/client';
import { createDeliveryActivities } from '../../notifications/activities';
import { notificationsConfig, type NotificationsConfig } from '../../notifications/config';
import { Notifier, startDelivery } from '../../notifications/notifier';
import { testEventBody } from '../../notifications/payload';
import { AddressRefused, checkWebhookTarget, urlRefusal } from '../../notifications/send';
import { isValidSecret, newSecret } from '../../notifications/signing';
import { NotificationStore, type StoredSubscription } from '../../notifications/store';
import { startNotificationsWorker, type RunningNotificationsWorker } from '../../notifications/worker';
import { STEPWISE_APP } from '../catalog/catalog.module';
import { ApiError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { STEPWISE_CLIENT } from '../jobs/stepwise-client.provider';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';
import {
  MAX_SUBSCRIPTIONS,
  notificationsFileSchema,
  type CreateSubscriptionBody,
  type CreatedSubscription,
  type DeliveriesQuery,
  type Delivery,
  type DeliveryPage,
  type RotatedSecret,
  type Subscription,
  type UpdateSubscriptionBody,
  encodeDeliveryPageToken,
} from './notifications.schemas';

/** The API's view of a subscription: never a secret. */
export function publicSubscription(s: StoredSubscription, now = Date.now()): Subscription {
  const overlap = s.previousSecretUntil !== null && Date.parse(s.previousSecretUntil) > now;
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    events: s.events,
    jobTypes: s.jobTypes,
    enabled: s.enabled,
    source: s.source,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    previousSecretExpiresAt: overlap ? s.previousSecretUntil : null,
  };
}

@Injectable()
export class NotificationsService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Notifications');
  readonly cfg: NotificationsConfig;
  private notifier: Notifier | null = null;
  private worker: Promise<RunningNotificationsWorker> | null = null;
  private closing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient,
    @Inject(STEPWISE_APP) private readonly app: StepwiseApp,
  ) {
    this.cfg = notificationsConfig(config);
    this.fileSubscriptions = this.cfg.file ? loadFileSubscriptions(this.cfg.file, this.cfg.allowPrivate) : [];
  }

  private readonly fileSubscriptions: StoredSubscription[];
  private opened: NotificationStore | null = null;

  /** The store, opened (and its file created) at first use: an API that never uses notifications writes nothing. */
  get store(): NotificationStore {
    if (!this.opened) {
      this.opened = new NotificationStore(this.cfg.dbPath);
      this.opened.setFileSubscriptions(this.fileSubscriptions);
    }
    return this.opened;
  }

  onApplicationBootstrap(): void {
    const exists = this.cfg.dbPath !== ':memory:' && existsSync(this.cfg.dbPath);
    if (this.fileSubscriptions.length === 0 && !exists) return;
    if (this.store.list().length > 0 || this.store.hasOpenDeliveries()) this.activate();
  }

  /** Starts the worker and the notifier (once). Worker start failures are logged and retried at the next call. */
  private activate(): void {
    if (this.closing) return;
    if (!this.worker) {
      this.worker = startNotificationsWorker({
        temporal: this.config.temporal,
        taskQueue: this.cfg.taskQueue,
        activities: createDeliveryActivities(this.store, { allowPrivate: this.cfg.allowPrivate }),
      });
      this.worker.catch((err: unknown) => {
        this.logger.error(`The notifications worker did not start: ${(err as Error).message}`);
        this.worker = null;
      });
    }
    if (!this.notifier) {
      this.notifier = new Notifier(this.temporal, this.jobs, this.app, this.store, this.cfg, this.logger);
      this.notifier.start();
    }
  }

  list(): Subscription[] {
    return this.store.list().map((s) => publicSubscription(s));
  }

  get(id: string): Subscription {
    return publicSubscription(this.find(id));
  }

  async create(body: CreateSubscriptionBody): Promise<CreatedSubscription> {
    if (this.store.countApiSubscriptions() >= MAX_SUBSCRIPTIONS) {
      throw new ApiError(409, `At most ${MAX_SUBSCRIPTIONS} subscriptions: delete one first`);
    }
    await this.checkUrl(body.url);
    this.checkJobTypes(body.jobTypes ?? null);
    const now = new Date().toISOString();
    const sub: StoredSubscription = {
      id: `sub_${randomBytes(9).toString('base64url')}`,
      url: body.url,
      description: body.description ?? null,
      events: body.events,
      jobTypes: body.jobTypes ?? null,
      enabled: body.enabled,
      source: 'api',
      secret: newSecret(),
      previousSecret: null,
      previousSecretUntil: null,
      createdAt: now,
      updatedAt: now,
    };
    this.store.insert(sub);
    this.activate();
    return { ...publicSubscription(sub), secret: sub.secret };
  }

  async update(id: string, body: UpdateSubscriptionBody): Promise<Subscription> {
    const sub = this.writable(id);
    if (body.url !== undefined) await this.checkUrl(body.url);
    if (body.jobTypes !== undefined) this.checkJobTypes(body.jobTypes);
    const next: StoredSubscription = {
      ...sub,
      ...(body.url !== undefined ? { url: body.url } : {}),
      ...(body.events !== undefined ? { events: body.events } : {}),
      ...(body.jobTypes !== undefined ? { jobTypes: body.jobTypes } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      updatedAt: new Date().toISOString(),
    };
    this.store.update(next);
    return publicSubscription(next);
  }

  delete(id: string): void {
    this.writable(id);
    this.store.delete(id);
  }

  rotateSecret(id: string): RotatedSecret {
    const sub = this.writable(id);
    const until = new Date(Date.now() + this.cfg.secretOverlapMs).toISOString();
    const next: StoredSubscription = {
      ...sub,
      secret: newSecret(),
      previousSecret: sub.secret,
      previousSecretUntil: until,
      updatedAt: new Date().toISOString(),
    };
    this.store.update(next);
    return { id, secret: next.secret, previousSecretExpiresAt: until };
  }

  /** Sends a `test` event through the same path as job events. */
  async test(id: string): Promise<Delivery> {
    const sub = this.find(id);
    const deliveryId = `webhook:${sub.id}:test:${randomUUID()}`;
    this.activate();
    await startDelivery(this.temporal, this.store, this.cfg, {
      id: deliveryId,
      webhookId: deliveryId,
      subscriptionId: sub.id,
      event: 'test',
      jobId: null,
      runId: null,
      replayOf: null,
      body: testEventBody(sub.id, new Date().toISOString()),
    });
    return this.delivery(deliveryId);
  }

  deliveries(q: DeliveriesQuery): DeliveryPage {
    const { deliveries, more } = this.store.listDeliveries({
      subscriptionId: q.subscriptionId,
      status: q.status,
      limit: q.limit,
      before: q.pageToken,
    });
    const last = deliveries.at(-1);
    return {
      deliveries: deliveries.map(toDelivery),
      nextPageToken: more && last ? encodeDeliveryPageToken(last.seq) : null,
    };
  }

  delivery(id: string): Delivery {
    const d = this.store.getDelivery(id);
    if (!d) throw new ApiError(404, `No delivery "${id}"`);
    return toDelivery(d);
  }

  /** Sends a finished delivery's event again: a new delivery with the same `webhook-id` and body. */
  async replay(id: string): Promise<Delivery> {
    const d = this.store.getDelivery(id);
    if (!d) throw new ApiError(404, `No delivery "${id}"`);
    if (d.status === 'pending' || d.status === 'retrying') {
      throw new ApiError(409, `Delivery "${id}" is still ${d.status}: replay it once it has ended`);
    }
    this.find(d.subscriptionId);
    const original = d.replayOf ?? d.id;
    const replayId = `${original}:replay:${this.store.countReplays(original) + 1}`;
    this.activate();
    const started = await startDelivery(this.temporal, this.store, this.cfg, {
      id: replayId,
      webhookId: d.webhookId,
      subscriptionId: d.subscriptionId,
      event: d.event as never,
      jobId: d.jobId,
      runId: d.runId,
      replayOf: original,
      body: d.body,
    });
    if (!started) throw new ApiError(409, `A replay of "${original}" is being started: try again`);
    return this.delivery(replayId);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.notifier?.stop();
    const worker = await this.worker?.catch(() => null);
    await worker?.close();
  }

  onApplicationShutdown(): void {
    this.opened?.close();
  }

  private find(id: string): StoredSubscription {
    const sub = this.store.get(id);
    if (!sub) throw new ApiError(404, `No subscription "${id}"`);
    return sub;
  }

  private writable(id: string): StoredSubscription {
    const sub = this.find(id);
    if (sub.source === 'file') {
      throw new ApiError(
        409,
        `Subscription "${id}" is declared in STEPWISE_NOTIFICATIONS_FILE: change it there (read-only through the API)`,
      );
    }
    return sub;
  }

  private async checkUrl(url: string): Promise<void> {
    try {
      await checkWebhookTarget(new URL(url), this.cfg.allowPrivate);
    } catch (err) {
      if (err instanceof AddressRefused) {
        throw new ApiError(400, `url ${err.message}`, [{ path: ['url'], message: err.message }]);
      }
      // A name that does not resolve yet is not a policy violation: every attempt checks again.
    }
  }

  private checkJobTypes(types: string[] | null): void {
    const unknown = (types ?? []).filter((t) => !this.app.find(t));
    if (unknown.length > 0) {
      const message = `Unknown job type${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `"${t}"`).join(', ')}`;
      throw new ApiError(400, message, [{ path: ['jobTypes'], message }]);
    }
  }
}

function toDelivery(d: Omit<Delivery, never> & { body?: string; seq?: number }): Delivery {
  return {
    id: d.id,
    webhookId: d.webhookId,
    subscriptionId: d.subscriptionId,
    event: d.event,
    jobId: d.jobId,
    runId: d.runId,
    replayOf: d.replayOf,
    createdAt: d.createdAt,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt,
  };
}

/** Reads `STEPWISE_NOTIFICATIONS_FILE`; throws naming the file and what is wrong (never a secret). */
export function loadFileSubscriptions(
  path: string,
  allowPrivate: boolean,
  env: NodeJS.ProcessEnv = process.env,
): StoredSubscription[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(
      `STEPWISE_NOTIFICATIONS_FILE ${path}: cannot read it as JSON (${(err as Error).message})`,
    );
  }
  const r = notificationsFileSchema.safeParse(parsed);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`STEPWISE_NOTIFICATIONS_FILE ${path}: ${lines}`);
  }
  const ids = new Set<string>();
  const startedAt = new Date(0).toISOString();
  return r.data.subscriptions.map((s, i) => {
    if (ids.has(s.id))
      throw new Error(`STEPWISE_NOTIFICATIONS_FILE ${path}: subscriptions.${i}.id "${s.id}" is used twice`);
    ids.add(s.id);
    const refused = urlRefusal(new URL(s.url), allowPrivate);
    if (refused)
      throw new Error(`STEPWISE_NOTIFICATIONS_FILE ${path}: subscriptions.${i}.url refused: ${refused}`);
    const secret = env[s.secretEnv];
    if (!secret || !isValidSecret(secret)) {
      throw new Error(
        `STEPWISE_NOTIFICATIONS_FILE ${path}: subscriptions.${i}.secretEnv: ${s.secretEnv} is ${secret ? 'not whsec_<base64 of 24–64 bytes>' : 'unset'}`,
      );
    }
    return {
      id: s.id,
      url: s.url,
      description: s.description ?? null,
      events: s.events,
      jobTypes: s.jobTypes ?? null,
      enabled: s.enabled,
      source: 'file' as const,
      secret,
      previousSecret: null,
      previousSecretUntil: null,
      createdAt: startedAt,
      updatedAt: startedAt,
    };
  });
}
