/** The notifications' settings, from the parsed environment (see docs/notifications.md). */
import { resolve } from 'node:path';
import type { Config } from '../config';
import type { RetrySchedule } from '../../workflows/notifications/contracts';

export interface NotificationsConfig {
  /** SQLite file of subscriptions (secrets included) and the delivery log, or `:memory:`. */
  dbPath: string;
  /** STEPWISE_NOTIFICATIONS_FILE: subscriptions declared by the deployment (read-only through the API). */
  file: string | null;
  /** The queue the API's notifications worker polls for delivery workflows. */
  taskQueue: string;
  /** The queue whose jobs are watched. */
  jobsTaskQueue: string;
  namespace: string;
  allowPrivate: boolean;
  schedule: RetrySchedule;
  /** How long a rotated secret's predecessor still signs. */
  secretOverlapMs: number;
  /** How often the notifier reads visibility, and how far back each read reaches behind its cursor. */
  pollMs: number;
  rescanMs: number;
  /** Base URL of the dashboard in payloads' links (default `http://HOST:PORT`). */
  dashboardUrl: string;
  temporalUiUrl: string | null;
}

export function notificationsConfig(config: Config): NotificationsConfig {
  const env = config.env;
  const db = env.STEPWISE_NOTIFICATIONS_DB_PATH;
  return {
    dbPath: db === ':memory:' ? db : resolve(db ?? resolve(config.dataDir, 'notifications.sqlite')),
    file: env.STEPWISE_NOTIFICATIONS_FILE ?? null,
    taskQueue: env.STEPWISE_NOTIFICATIONS_TASK_QUEUE ?? `${config.temporal.taskQueue}-notifications`,
    jobsTaskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    allowPrivate: env.STEPWISE_WEBHOOK_ALLOW_PRIVATE,
    schedule: {
      initialIntervalMs: env.STEPWISE_WEBHOOK_RETRY_INITIAL_MS,
      backoffCoefficient: 2,
      maximumIntervalMs: env.STEPWISE_WEBHOOK_RETRY_MAX_MS,
      deadlineMs: env.STEPWISE_WEBHOOK_DEADLINE_MS,
      attemptTimeoutMs: env.STEPWISE_WEBHOOK_TIMEOUT_MS,
    },
    secretOverlapMs: env.STEPWISE_WEBHOOK_SECRET_OVERLAP_MS,
    pollMs: env.STEPWISE_NOTIFIER_POLL_MS,
    rescanMs: env.STEPWISE_NOTIFIER_RESCAN_MS,
    dashboardUrl: (env.STEPWISE_DASHBOARD_URL ?? `http://${hostForUrl(env.HOST)}:${env.PORT}`).replace(
      /\/+$/,
      '',
    ),
    temporalUiUrl: config.dashboard.temporalUiUrl,
  };
}

const hostForUrl = (h: string): string => (h.includes(':') ? `[${h}]` : h);
