/**
 * All configuration, from one zod schema over the environment, parsed once and failing fast
 * with the name of the bad variable.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import {
  duplicateKeyErrors,
  isLoopbackHost,
  parseApiKeyFile,
  parseApiKeyList,
  type ApiKey,
} from './api-keys';
import { resolveTemporalEnv } from './temporal-env';
import { TASK_QUEUE } from '../workflows/contracts';
import { DEFAULT_LIMITS, LIMIT_BOUNDS, type JobLimits } from '../workflows/limits';
import { MAX_CONCURRENCY_LIMIT } from '../workflows/engine/definition';
import { BULK_MAX_ITEMS_LIMIT } from '../workflows/engine/bulk-contracts';
import { buildIdProblem, deploymentNameProblem } from './worker-versioning';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port');
/** A comma-separated list, each entry trimmed (and mapped), blanks dropped. */
const csvList = (map: (v: string) => string = (v) => v) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((e) => map(e.trim()))
        .filter(Boolean),
    );

/** The OTLP protocols (`OTEL_EXPORTER_OTLP_PROTOCOL`): `http/protobuf` is the specification's default. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The samplers `OTEL_TRACES_SAMPLER` may name (the specification's, without Jaeger's and X-Ray's). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSamplerName = (typeof TRACE_SAMPLERS)[number];

/** The placeholder of `STEPWISE_TRACE_URL` that the dashboard replaces with a job's trace id. */
export const TRACE_ID_PLACEHOLDER = '{traceId}';

/**
 * `STEPWISE_TRACE_URL`: an http(s) URL template holding `{traceId}`, such as
 * `http://localhost:16686/trace/{traceId}` (Jaeger) — checked with a trace id in its place.
 */
const traceUrlTemplate = z
  .string()
  .max(2000)
  .superRefine((v, ctx) => {
    if (!v.includes(TRACE_ID_PLACEHOLDER)) {
      ctx.addIssue({ code: 'custom', message: `must contain ${TRACE_ID_PLACEHOLDER}` });
      return;
    }
    let url: URL | null = null;
    try {
      url = new URL(v.replaceAll(TRACE_ID_PLACEHOLDER, '0af7651916cd43dd8448eb211c80319c'));
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an http:// or https:// URL with ${TRACE_ID_PLACEHOLDER}, e.g. http://localhost:16686/trace/${TRACE_ID_PLACEHOLDER}`,
      });
    }
  });

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  // JSON lines, or pino-pretty's readable lines; auto: pretty in a terminal.
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  // The Temporal connection, as the SDK and the CLI name it (src/temporal-env.ts): these variables
  // over a profile of a temporal.toml file; TEMPORAL_GRPC_META_* are read there too.
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_CERT_DATA: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_DATA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: bool.optional(),
  TEMPORAL_PROFILE: z.string().min(1).optional(),
  TEMPORAL_CONFIG_FILE: z.string().min(1).optional(),
  // Deprecated aliases (TEMPORAL_ENV_ALIASES): the standard names above, with a warning.
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CA_PATH: z.string().min(1).optional(),
  // Stepwise's own (no standard name): the task queue of its jobs.
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(TASK_QUEUE),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_DEV_HEADLESS: bool.default(false),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  STEPWISE_DATA_DIR: z.string().min(1).default('.data'),
  DEV_SERVER_START_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  // The app (its module's default export is defineApp(...)) and its activities (defineActivities(...)):
  // set by `stepwise dev|worker|api --app <module> --activities <module>`.
  STEPWISE_APP_MODULE: z.string().min(1).optional(),
  STEPWISE_ACTIVITIES_MODULE: z.string().min(1).optional(),
  // Job budgets (workflows/limits.ts): checked by the API and again by the workflow.
  STEPWISE_MAX_INPUT_BYTES: z.coerce
    .number()
    .int()
    .min(LIMIT_BOUNDS.maxInputBytes.min)
    .max(LIMIT_BOUNDS.maxInputBytes.max)
    .default(DEFAULT_LIMITS.maxInputBytes),
  STEPWISE_MAX_CONTROL_ACTIONS: z.coerce
    .number()
    .int()
    .min(LIMIT_BOUNDS.maxControlActions.min)
    .max(LIMIT_BOUNDS.maxControlActions.max)
    .default(DEFAULT_LIMITS.maxControlActions),
  // API keys, audit and rate limits (docs/security.md).
  STEPWISE_API_KEYS: z
    .string()
    .optional()
    .transform((v, ctx): ApiKey[] => {
      const { keys, errors } = parseApiKeyList(v ?? '');
      for (const message of errors) ctx.addIssue({ code: 'custom', message });
      return keys;
    }),
  STEPWISE_API_KEYS_FILE: z.string().min(1).optional(),
  STEPWISE_AUDIT_DB_PATH: z.string().min(1).optional(),
  STEPWISE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  STEPWISE_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(30),
  // Live streams (SSE, src/api/events): poll interval, idle heartbeat, open streams per process.
  STEPWISE_STREAM_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  STEPWISE_STREAM_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  STEPWISE_STREAM_MAX_SUBSCRIBERS: z.coerce.number().int().min(1).max(100_000).default(1000),
  // The dashboard's link from each job to its workflow in the Temporal Web UI (npm start sets it to
  // the dev server's UI); unset: no link.
  STEPWISE_TEMPORAL_UI_URL: z
    .url({ protocol: /^https?$/ })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  // The dashboard's link from a job to its trace (src/tracing.ts): a URL template with {traceId};
  // unset: no link.
  STEPWISE_TRACE_URL: traceUrlTemplate.optional(),
  // Traces: the standard OpenTelemetry variables (src/tracing.ts, docs/production.md "Traces").
  // Off unless an OTLP endpoint is set.
  OTEL_SDK_DISABLED: z
    .string()
    .default('false')
    .transform((v) => v.trim().toLowerCase() === 'true'),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(OTLP_PROTOCOLS).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(OTLP_PROTOCOLS).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(255).optional(),
  OTEL_TRACES_SAMPLER: z.enum(TRACE_SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  // Worker process (src/worker.ts): graceful shutdown, Prometheus metrics and health probes.
  STEPWISE_WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  STEPWISE_WORKER_METRICS_ADDRESS: hostPort.optional(),
  STEPWISE_WORKER_HEALTH_ADDRESS: hostPort.optional(),
  STEPWISE_WORKER_IDENTITY: z.string().min(1).max(200).optional(),
  // Worker Deployment Versioning (src/worker-versioning.ts, docs/production.md "Versioned deploys").
  STEPWISE_WORKER_VERSIONING: bool.default(false),
  STEPWISE_WORKER_DEPLOYMENT: z
    .string()
    .superRefine((v, ctx) => {
      const problem = deploymentNameProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `not a deployment name: ${problem}` });
    })
    .optional(),
  STEPWISE_WORKER_SET_CURRENT: z.enum(['always', 'if-none', 'never']).default('if-none'),
  STEPWISE_WORKER_BUILD_ID: z
    .string()
    .superRefine((v, ctx) => {
      const problem = buildIdProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `not a build id: ${problem}` });
    })
    .optional(),
  // API observability (docs/production.md): who may read GET /metrics.
  STEPWISE_METRICS_PUBLIC: bool.default(false),
  // Browsers, greedy clients and the audit trail's growth (docs/security.md, "Browsers" and "Bounds").
  STEPWISE_ALLOWED_HOSTS: csvList((h) => h.toLowerCase()),
  STEPWISE_ALLOWED_ORIGINS: csvList((o) => o.toLowerCase().replace(/\/+$/, '')).pipe(
    z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each origin must be scheme://host[:port]')),
  ),
  STEPWISE_READ_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  STEPWISE_READ_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(300),
  STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  STEPWISE_STREAM_MAX_PER_CALLER: z.coerce.number().int().min(1).max(100_000).default(20),
  STEPWISE_STREAM_MAX_POLLERS: z.coerce.number().int().min(1).max(100_000).default(200),
  STEPWISE_STREAM_STALL_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  STEPWISE_AUDIT_REFUSALS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(20),
  STEPWISE_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  // Webhook notifications (src/notifications, docs/notifications.md).
  STEPWISE_NOTIFICATIONS_DB_PATH: z.string().min(1).optional(),
  STEPWISE_NOTIFICATIONS_FILE: z.string().min(1).optional(),
  STEPWISE_NOTIFICATIONS_TASK_QUEUE: z.string().min(1).optional(),
  STEPWISE_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  STEPWISE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  STEPWISE_WEBHOOK_RETRY_INITIAL_MS: z.coerce.number().int().min(10).max(86_400_000).default(5_000),
  STEPWISE_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  STEPWISE_WEBHOOK_DEADLINE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(7 * 86_400_000)
    .default(86_400_000),
  STEPWISE_WEBHOOK_SECRET_OVERLAP_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400_000)
    .default(86_400_000),
  STEPWISE_NOTIFIER_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(2_000),
  STEPWISE_NOTIFIER_RESCAN_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  STEPWISE_DASHBOARD_URL: z.url({ protocol: /^https?$/ }).optional(),
  STEPWISE_LIST_SORT_MAX: z.coerce.number().int().min(1).max(50_000).default(5_000),
  STEPWISE_ETA_OVERRUN_MARGIN: z.coerce.number().min(0).max(100).default(0.5),
  // `type=N` (N at once of the type) or `type:key=N` (N at once per concurrency key), comma-separated.
  STEPWISE_CONCURRENCY_LIMITS: z
    .string()
    .max(10_000)
    .transform((text, ctx) => {
      const out: Record<string, { limit: number; perKey: boolean }> = {};
      for (const part of text
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')) {
        const m = /^([a-z][A-Za-z0-9]*)(:key)?=(\d{1,5})$/.exec(part);
        const limit = m ? Number(m[3]) : 0;
        if (!m || limit < 1 || limit > MAX_CONCURRENCY_LIMIT || out[m[1]]) {
          ctx.addIssue({
            code: 'custom',
            message: `"${part}": each entry is <jobType>=<limit> or <jobType>:key=<limit>, a limit from 1 to ${MAX_CONCURRENCY_LIMIT}, each type once`,
          });
          return z.NEVER;
        }
        out[m[1]] = { limit, perKey: m[2] !== undefined };
      }
      return out;
    })
    .optional(),
  // Jobs one bulk job may act on (POST /api/bulk); the workflow's own bound is BULK_MAX_ITEMS_LIMIT.
  STEPWISE_BULK_MAX: z.coerce.number().int().min(1).max(BULK_MAX_ITEMS_LIMIT).default(500),
  STEPWISE_STATS_MAX: z.coerce.number().int().min(1).max(100_000).default(5_000),
  STEPWISE_STATS_STATES_MAX: z.coerce.number().int().min(0).max(10_000).default(500),
  STEPWISE_CLOSED_STATE_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024 * 1024 * 1024)
    .default(32 * 1024 * 1024),
  STEPWISE_MAX_RUN_CONTROL_ACTIONS: z.coerce
    .number()
    .int()
    .min(LIMIT_BOUNDS.maxRunControlActions.min)
    .max(LIMIT_BOUNDS.maxRunControlActions.max)
    .default(DEFAULT_LIMITS.maxRunControlActions),
  // `npm run cluster` (src/cluster/): ports, worker count, PostgreSQL's OS user when run as root.
  CLUSTER_POSTGRES_PORT: port.default(5433),
  // Temporal's PostgreSQL schema keeps membership ports (this one − 300 …) in a smallint.
  CLUSTER_TEMPORAL_PORT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(32_757, 'must be at most 32757 (Temporal stores its service ports as a PostgreSQL smallint)')
    .default(7233),
  CLUSTER_UI_PORT: port.default(8233),
  CLUSTER_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
  CLUSTER_WORKER_PORT_BASE: port.default(9464),
  CLUSTER_POSTGRES_OS_USER: z.string().min(1).default('postgres'),
  // The launchers' supervisor (`npm start`, `npm run cluster`; src/supervisor.ts): a process that
  // exits unexpectedly is restarted after a backoff that doubles from STEPWISE_RESTART_BACKOFF_MS
  // (up to 30 s); more than STEPWISE_RESTART_MAX exits within STEPWISE_RESTART_WINDOW_MS is a crash
  // loop and stops everything.
  STEPWISE_RESTART_MAX: z.coerce.number().int().min(0).max(1000).default(5),
  STEPWISE_RESTART_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  STEPWISE_RESTART_BACKOFF_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
});

export type Env = z.infer<typeof envSchema>;

/**
 * Where the worker and the API connect and how: the standard TEMPORAL_* variables over a profile of
 * a temporal.toml file (docs/configuration.md#temporal-connection), read by `@temporalio/envconfig`.
 */
export interface TemporalConnectionConfig {
  /** `host:port`; the embedded dev server's when neither the variables nor the profile name one. */
  address: string;
  /** @default "default" */
  namespace: string;
  /** Stepwise's own (TEMPORAL_TASK_QUEUE). */
  taskQueue: string;
  /** False: plain text; true: TLS with the system's roots; else TLS with these (the files already read). */
  tls: boolean | TLSConfig;
  /** Sent as `authorization: Bearer …`; never logged. */
  apiKey?: string;
  /** gRPC metadata sent with every call (TEMPORAL_GRPC_META_*, a profile's `grpc_meta`); never logged. */
  metadata?: Record<string, string>;
  /** The temporal.toml profile read, or null. */
  profile: string | null;
  /** The temporal.toml file read (TEMPORAL_CONFIG_FILE or the default location), or null. */
  configFile: string | null;
}

export interface Config {
  env: Env;
  /**
   * What the process should warn about once at start (deprecated variable names, settings the SDK
   * ignores): names and files only, never a value.
   */
  warnings: string[];
  /** Where the worker and API connect; the embedded dev server's address unless the variables or a profile name one. */
  temporal: TemporalConnectionConfig;
  /** True when neither TEMPORAL_ADDRESS nor a profile names a server, and `npm start` runs the embedded dev server. */
  embeddedDevServer: boolean;
  dataDir: string;
  /** Job budgets the API checks and passes to every job it starts (`JobParams.limits`). */
  limits: JobLimits;
  /** Who may call the API, where its audit trail goes, and the per-key rate limit of mutating routes. */
  api: ApiSecurityConfig;
  /** Live streams (SSE): poll interval, idle heartbeat interval, open streams per process. */
  streams: { pollMs: number; heartbeatMs: number; maxSubscribers: number };
  /**
   * The dashboard: where the Temporal Web UI is (for its links to workflows), and the template of
   * its links to traces (`STEPWISE_TRACE_URL`, with `{traceId}`); null: no such links.
   */
  dashboard: { temporalUiUrl: string | null; traceUrl: string | null };
  /** Traces (`OTEL_*`, src/tracing.ts): `endpoint` null means off. */
  tracing: TracingConfig;
  /** Bounds against hostile browsers and greedy clients, and on the audit trail's growth. */
  edge: EdgeConfig;
}

/** See docs/security.md ("Browsers", "Bounds") for what each one guards against. */
export interface EdgeConfig {
  /** Host names (besides loopback names and IP addresses) the API answers to; lower case, no port. */
  allowedHosts: string[];
  /** Origins (besides the API's own) whose pages may send mutating requests: `scheme://host[:port]`. */
  allowedOrigins: string[];
  /** Per key, reads (GET, streams included); not in open mode. */
  readRateLimit: { perMinute: number; burst: number };
  /** Per client address, requests refused for want of a valid key. */
  unauthenticatedPerMinute: number;
  /** Open streams per caller (key; address in open mode), distinct pollers, and how long a stream may stall. */
  streams: { maxPerCaller: number; maxPollers: number; stallMs: number };
  /** Refusals recorded one by one per caller a minute (the rest are counted on one row), and the retention in days. */
  audit: { refusalsPerMinute: number; retentionDays: number | null };
  /** Bytes of closed jobs' states the API keeps (0: none). */
  closedStateCacheBytes: number;
  /** Jobs a sorted listing may read (`GET /api/jobs?sort=`); more matching is a 400. */
  listSortMax: number;
  /** How far past its learned ETA a job runs before it is overrun (0.5: 50 % longer). */
  etaOverrunMargin: number;
  /** The deployment's concurrency limits by job type (`STEPWISE_CONCURRENCY_LIMITS`). */
  concurrencyLimits: Record<string, { limit: number; perKey: boolean }>;
  /** Jobs one bulk job may act on (`POST /api/bulk`); more is a 413. */
  bulkMax: number;
  /** Runs one `GET /api/stats` scans at most, and closed runs' final states it reads at most. */
  stats: { maxRuns: number; maxStates: number };
}

export interface ApiSecurityConfig {
  /** STEPWISE_API_KEYS and STEPWISE_API_KEYS_FILE together (sha256 digests only). Empty: open mode (loopback only). */
  keys: ApiKey[];
  /** SQLite file of the audit trail, or `:memory:`. */
  auditDbPath: string;
  rateLimit: { perMinute: number; burst: number };
}

/** Tracing as the `OTEL_*` variables say (src/tracing.ts); `endpoint` null means off. */
export interface TracingConfig {
  /**
   * Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT`
   * with `/v1/traces` appended for the HTTP protocols (as given for gRPC). Null — tracing off — when
   * neither is set, when `OTEL_SDK_DISABLED=true` or when `OTEL_TRACES_EXPORTER=none`.
   */
  endpoint: string | null;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. @default 'http/protobuf' */
  protocol: OtlpProtocol;
  /** `OTEL_SERVICE_NAME`; null: the process's own (`stepwise-api`, `stepwise-worker`). */
  serviceName: string | null;
  /** `OTEL_TRACES_SAMPLER`. @default 'parentbased_always_on' */
  sampler: TraceSamplerName;
  /** `OTEL_TRACES_SAMPLER_ARG`: the ratio of the `*traceidratio` samplers, 0…1. @default 1 */
  samplerRatio: number;
}

function tracingConfig(env: Env): TracingConfig {
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? null : protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/v1/traces`);
  const off = env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === 'none';
  return {
    endpoint: off ? null : endpoint,
    protocol,
    serviceName: env.OTEL_SERVICE_NAME ?? null,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `source` (default `process.env`); throws {@link ConfigError} naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const resolved = resolveTemporalEnv(cleaned, source);
  if (!resolved.ok) {
    throw new ConfigError(`Invalid configuration:\n${resolved.errors.map((e) => `  ${e}`).join('\n')}`);
  }
  const connection = resolved.connection;
  const embeddedDevServer = connection.address === null;
  const dataDir = resolve(env.STEPWISE_DATA_DIR);
  return {
    env,
    warnings: resolved.warnings,
    embeddedDevServer,
    dataDir,
    limits: {
      maxInputBytes: env.STEPWISE_MAX_INPUT_BYTES,
      maxControlActions: env.STEPWISE_MAX_CONTROL_ACTIONS,
      maxRunControlActions: env.STEPWISE_MAX_RUN_CONTROL_ACTIONS,
    },
    streams: {
      pollMs: env.STEPWISE_STREAM_POLL_MS,
      heartbeatMs: env.STEPWISE_STREAM_HEARTBEAT_MS,
      maxSubscribers: env.STEPWISE_STREAM_MAX_SUBSCRIBERS,
    },
    dashboard: {
      temporalUiUrl: env.STEPWISE_TEMPORAL_UI_URL ?? null,
      traceUrl: env.STEPWISE_TRACE_URL ?? null,
    },
    tracing: tracingConfig(env),
    edge: {
      allowedHosts: env.STEPWISE_ALLOWED_HOSTS,
      allowedOrigins: env.STEPWISE_ALLOWED_ORIGINS,
      readRateLimit: {
        perMinute: env.STEPWISE_READ_RATE_LIMIT_PER_MINUTE,
        burst: env.STEPWISE_READ_RATE_LIMIT_BURST,
      },
      unauthenticatedPerMinute: env.STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE,
      streams: {
        maxPerCaller: env.STEPWISE_STREAM_MAX_PER_CALLER,
        maxPollers: env.STEPWISE_STREAM_MAX_POLLERS,
        stallMs: env.STEPWISE_STREAM_STALL_MS,
      },
      audit: {
        refusalsPerMinute: env.STEPWISE_AUDIT_REFUSALS_PER_MINUTE,
        retentionDays: env.STEPWISE_AUDIT_RETENTION_DAYS ?? null,
      },
      closedStateCacheBytes: env.STEPWISE_CLOSED_STATE_CACHE_BYTES,
      listSortMax: env.STEPWISE_LIST_SORT_MAX,
      etaOverrunMargin: env.STEPWISE_ETA_OVERRUN_MARGIN,
      concurrencyLimits: env.STEPWISE_CONCURRENCY_LIMITS ?? {},
      bulkMax: env.STEPWISE_BULK_MAX,
      stats: { maxRuns: env.STEPWISE_STATS_MAX, maxStates: env.STEPWISE_STATS_STATES_MAX },
    },
    api: {
      keys: loadApiKeys(env),
      auditDbPath:
        env.STEPWISE_AUDIT_DB_PATH === ':memory:'
          ? ':memory:'
          : resolve(env.STEPWISE_AUDIT_DB_PATH ?? resolve(dataDir, 'audit.sqlite')),
      rateLimit: { perMinute: env.STEPWISE_RATE_LIMIT_PER_MINUTE, burst: env.STEPWISE_RATE_LIMIT_BURST },
    },
    temporal: {
      address: connection.address ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`,
      namespace: connection.namespace ?? 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      tls: connection.tls,
      ...(connection.apiKey !== undefined ? { apiKey: connection.apiKey } : {}),
      ...(connection.metadata !== undefined ? { metadata: connection.metadata } : {}),
      profile: connection.profile,
      configFile: connection.configFile,
    },
  };
}

/** The keys of STEPWISE_API_KEYS plus those of STEPWISE_API_KEYS_FILE; throws naming the variable. */
function loadApiKeys(env: Env): ApiKey[] {
  const keys = [...env.STEPWISE_API_KEYS];
  if (env.STEPWISE_API_KEYS_FILE) {
    let text: string;
    try {
      // `/dev/fd/N` is read from descriptor N itself: the launchers hand the API its keys on a
      // socket there (src/child-env.ts), which cannot be opened again by that name.
      const fd = /^\/dev\/fd\/(\d+)$/.exec(env.STEPWISE_API_KEYS_FILE);
      text = readFileSync(fd ? Number(fd[1]) : env.STEPWISE_API_KEYS_FILE, 'utf8');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError(
        `Invalid configuration:\n  STEPWISE_API_KEYS_FILE: cannot read the file (${why})`,
      );
    }
    const parsed = parseApiKeyFile(text);
    if (parsed.errors.length > 0) {
      const lines = parsed.errors.map((e) => `  STEPWISE_API_KEYS_FILE: ${e}`);
      throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
    }
    keys.push(...parsed.keys);
  }
  const duplicates = duplicateKeyErrors(keys);
  if (duplicates.length > 0) {
    const lines = duplicates.map((e) => `  STEPWISE_API_KEYS: ${e}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return keys;
}

/**
 * The API runs open (every request acts as admin "local") only when no key is configured, and then
 * only on a loopback address: anything else is refused before the server binds.
 */
export function checkApiExposure(config: Config): void {
  if (config.api.keys.length > 0 || isLoopbackHost(config.env.HOST)) return;
  throw new ConfigError(
    `Refusing to start: HOST=${config.env.HOST} is not a loopback address and no API keys are configured.\n` +
      '  Set STEPWISE_API_KEYS (name:role:key, comma-separated) or STEPWISE_API_KEYS_FILE, or bind to 127.0.0.1 ' +
      '(see docs/security.md).',
  );
}

/**
 * Where the Temporal settings came from, for a start-up log line: the temporal.toml profile and
 * file when one was read, and whether TLS, an API key or gRPC metadata are in use (never their values).
 */
export function temporalSource(config: Config): Record<string, string | boolean> {
  const t = config.temporal;
  return {
    ...(t.profile !== null ? { profile: t.profile } : {}),
    ...(t.configFile !== null ? { configFile: t.configFile } : {}),
    tls: t.tls !== false,
    ...(t.apiKey !== undefined ? { apiKeySet: true } : {}),
    ...(t.metadata !== undefined ? { grpcMetadata: Object.keys(t.metadata).join(',') } : {}),
  };
}

/** For process entry points: parse or print the problem and exit 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
