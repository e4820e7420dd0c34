/**
 * What a launcher hands its children. A process's environment stays readable in
 * `/proc/<pid>/environ` for its whole life (deleting from `process.env` changes nothing there), so
 * the API keys never go into a child's environment: the workers, the dev server, PostgreSQL and
 * Temporal get none, and the API reads its keys — as sha256 digests — from a pipe on descriptor 3
 * (`STEPWISE_API_KEYS_FILE=/dev/fd/3`), re-read from the launcher's configuration at each start.
 */
import { loadConfig } from './config';

/** Variables no child inherits. */
export const SECRET_ENV = ['STEPWISE_API_KEYS', 'STEPWISE_API_KEYS_FILE'] as const;

/** `base` plus `extra`, without the API keys. */
export function childEnv(base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  for (const name of SECRET_ENV) delete env[name];
  return env;
}

/** The descriptor the API reads its keys from. */
export const API_KEYS_FD_PATH = '/dev/fd/3';

/**
 * The API's keys for its descriptor: one `name:role:sha256:<hex>` line per key of
 * STEPWISE_API_KEYS and STEPWISE_API_KEYS_FILE in `source` (so the API never sees a plain key), or
 * null when none is configured (open mode). Throws the configuration's error when the key file
 * became unreadable or invalid.
 */
export function apiKeyLines(source: NodeJS.ProcessEnv): string | null {
  const keys = loadConfig(source).api.keys;
  if (keys.length === 0) return null;
  return keys.map((k) => `${k.name}:${k.role}:sha256:${k.hash.toString('hex')}\n`).join('');
}

/**
 * LOG_FORMAT for the children: the launcher's choice made once — `auto` means pretty when the
 * launcher's own output is a terminal — since a child's output is a pipe and would otherwise
 * always be JSON. Colours follow the terminal too (FORCE_COLOR), unless NO_COLOR is set.
 */
export function childLogEnv(format: 'auto' | 'json' | 'pretty', stdoutIsTty: boolean): NodeJS.ProcessEnv {
  const chosen = format === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : format;
  const env: NodeJS.ProcessEnv = { LOG_FORMAT: chosen };
  if (chosen === 'pretty' && stdoutIsTty && !process.env.NO_COLOR) env.FORCE_COLOR = '1';
  return env;
}
