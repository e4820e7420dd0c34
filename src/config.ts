/**
 * All configuration, from one zod schema over the environment, parsed once and failing fast
 * with the name of the bad variable.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { PipelineConfig } from '../activities/pipeline-config';
import { TASK_QUEUE } from '../workflows/contracts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(TASK_QUEUE),
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CA_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_DEV_HEADLESS: bool.default(false),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  STEPWISE_DATA_DIR: z.string().min(1).default('.data'),
  DEV_SERVER_START_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  // Data pipelines (dataImport, datasetBuild); folders default to places under STEPWISE_DATA_DIR.
  STEPWISE_IMPORT_ROOT: z.string().min(1).optional(),
  STEPWISE_IMPORT_MAX_FILE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(50 * 1024 * 1024),
  STEPWISE_INDEX_DB_PATH: z.string().min(1).optional(),
  STEPWISE_WORK_DIR: z.string().min(1).optional(),
  STEPWISE_DATASET_ROOT: z.string().min(1).optional(),
  STEPWISE_DOWNLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024 * 1024),
  STEPWISE_DOWNLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  STEPWISE_DOWNLOAD_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  STEPWISE_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  STEPWISE_DOWNLOAD_CONTENT_TYPES: z
    .string()
    .min(1)
    .default('image/*,application/octet-stream')
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  STEPWISE_IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).default(100_000_000),
});

export type Env = z.infer<typeof envSchema>;

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  apiKey?: string;
}

export interface Config {
  env: Env;
  /** Where the worker and API connect; the embedded dev server's address unless TEMPORAL_ADDRESS is set. */
  temporal: TemporalConnectionConfig;
  /** True when no TEMPORAL_ADDRESS is set and `npm start` runs the embedded dev server. */
  embeddedDevServer: boolean;
  dataDir: string;
  /** Folders and limits the data pipeline activities work with. */
  pipelines: PipelineConfig;
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
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError(
      'Invalid configuration:\n  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together',
    );
  }
  const embeddedDevServer = env.TEMPORAL_ADDRESS === undefined;
  const dataDir = resolve(env.STEPWISE_DATA_DIR);
  return {
    env,
    embeddedDevServer,
    dataDir,
    pipelines: {
      importRoot: resolve(env.STEPWISE_IMPORT_ROOT ?? resolve(dataDir, 'imports')),
      importMaxFileBytes: env.STEPWISE_IMPORT_MAX_FILE_BYTES,
      indexDbPath: resolve(env.STEPWISE_INDEX_DB_PATH ?? resolve(dataDir, 'index.sqlite')),
      workDir: resolve(env.STEPWISE_WORK_DIR ?? resolve(dataDir, 'work')),
      datasetRoot: resolve(env.STEPWISE_DATASET_ROOT ?? resolve(dataDir, 'datasets')),
      download: {
        maxBytes: env.STEPWISE_DOWNLOAD_MAX_BYTES,
        concurrency: env.STEPWISE_DOWNLOAD_CONCURRENCY,
        attempts: env.STEPWISE_DOWNLOAD_ATTEMPTS,
        timeoutMs: env.STEPWISE_DOWNLOAD_TIMEOUT_MS,
        contentTypes: env.STEPWISE_DOWNLOAD_CONTENT_TYPES,
      },
      imageMaxPixels: env.STEPWISE_IMAGE_MAX_PIXELS,
    },
    temporal: {
      address: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      tls: env.TEMPORAL_TLS || Boolean(env.TEMPORAL_TLS_CERT_PATH) || Boolean(env.TEMPORAL_API_KEY),
      tlsCertPath: env.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: env.TEMPORAL_TLS_KEY_PATH,
      tlsCaPath: env.TEMPORAL_TLS_CA_PATH,
      tlsServerName: env.TEMPORAL_TLS_SERVER_NAME,
      apiKey: env.TEMPORAL_API_KEY,
    },
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
