/**
 * All configuration, from one zod schema over the environment, parsed once and failing fast
 * with the name of the bad variable.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
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
  return {
    env,
    embeddedDevServer,
    dataDir: resolve(env.STEPWISE_DATA_DIR),
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
