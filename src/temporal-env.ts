/**
 * The Temporal connection as Temporal's SDKs and CLI read it, with `@temporalio/envconfig`: the
 * standard `TEMPORAL_*` variables and one profile of a `temporal.toml` file (TEMPORAL_CONFIG_FILE,
 * else the SDK's default location; TEMPORAL_PROFILE, else `default`). A variable wins over the
 * file, field by field. Stepwise's former names are deprecated aliases of the standard ones: each
 * one set adds a warning; set together with its standard name to a different value, it is an error
 * naming both. Messages name variables and files, never a value (an API key or a key's PEM).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { platform } from 'node:os';
import type { TLSConfig } from '@temporalio/client';
import {
  loadClientConfig,
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ClientConfigTLS,
  type ConfigDataSource,
} from '@temporalio/envconfig';

/** Stepwise's former name of each connection variable → the SDK's and CLI's name (docs/configuration.md). */
export const TEMPORAL_ENV_ALIASES = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA_PATH: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;

/** The prefix of the variables that add gRPC metadata (`TEMPORAL_GRPC_META_X_Y` → header `x-y`). */
export const GRPC_META_PREFIX = 'TEMPORAL_GRPC_META_';

/**
 * Variables that say where Temporal is and how to reach it — the standard names, their aliases,
 * and the profile's: what a launcher takes out of its children's environment when it hands them a
 * profile of its own (`npm run cluster`), so that none of them overrides it.
 */
export const TEMPORAL_CONNECTION_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  ...Object.keys(TEMPORAL_ENV_ALIASES),
] as const;

/** Whether `name` is one of {@link TEMPORAL_CONNECTION_ENV} or a TEMPORAL_GRPC_META_* variable. */
export function isTemporalConnectionVar(name: string): boolean {
  return (TEMPORAL_CONNECTION_ENV as readonly string[]).includes(name) || name.startsWith(GRPC_META_PREFIX);
}

/** The connection, resolved from the variables and the profile. */
export interface ResolvedTemporalConnection {
  /** `host:port`, or null when neither the variables nor the profile name one. */
  address: string | null;
  /** Null when neither the variables nor the profile name one. */
  namespace: string | null;
  /** False: plain text; true: TLS with the system's roots; else TLS with these (files already read). */
  tls: boolean | TLSConfig;
  apiKey?: string;
  /** gRPC metadata sent with every call (TEMPORAL_GRPC_META_*, a profile's `grpc_meta`). */
  metadata?: Record<string, string>;
  /** The profile read from the file, or null when no file or no profile of that name was used. */
  profile: string | null;
  /** The profile file read, or null. */
  configFile: string | null;
}

export type TemporalEnvResult =
  | { ok: true; connection: ResolvedTemporalConnection; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

const DOCS = 'docs/configuration.md#temporal-connection';
const HOST_PORT = /^[^\s:]+:\d+$/;
const truthy = (v: string | undefined): boolean | undefined =>
  v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes';

/** The TLS fields of a profile, the variable that sets each one and its key in the file. */
const TLS_SOURCES = [
  { field: 'clientCert', env: 'TEMPORAL_TLS_CLIENT_CERT', toml: 'tls.client_cert' },
  { field: 'clientKey', env: 'TEMPORAL_TLS_CLIENT_KEY', toml: 'tls.client_key' },
  { field: 'serverCACert', env: 'TEMPORAL_TLS_SERVER_CA_CERT', toml: 'tls.server_ca_cert' },
] as const;

/**
 * Where the SDK looks for `temporal.toml` when TEMPORAL_CONFIG_FILE is unset (the same rule as
 * `@temporalio/envconfig` and the CLI), or null; only for naming the file in messages and logs.
 */
function defaultConfigFile(env: Record<string, string | undefined>): string | null {
  let dir: string | undefined;
  if (platform() === 'win32') dir = env.APPDATA;
  else if (platform() === 'darwin') dir = env.HOME && join(env.HOME, 'Library', 'Application Support');
  else {
    const xdg = env.XDG_CONFIG_HOME;
    dir = xdg ? (isAbsolute(xdg) ? xdg : undefined) : env.HOME && join(env.HOME, '.config');
  }
  return dir ? join(dir, 'temporalio', 'temporal.toml') : null;
}

const errorText = (err: unknown): string =>
  (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));

/**
 * Resolves the connection from `source` (the process's variables, empty values already dropped,
 * valid as `envSchema` checks them) and `raw` (the same with empty values: an empty
 * TEMPORAL_GRPC_META_X removes header `x` of the profile, as in the SDK).
 */
export function resolveTemporalEnv(
  source: Record<string, string | undefined>,
  raw: Record<string, string | undefined> = source,
): TemporalEnvResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (
      value !== undefined &&
      (name.startsWith('TEMPORAL_') || ['HOME', 'XDG_CONFIG_HOME', 'APPDATA'].includes(name))
    )
      vars[name] = value;
  }
  for (const [alias, standard] of Object.entries(TEMPORAL_ENV_ALIASES)) {
    const value = vars[alias];
    if (value === undefined) continue;
    delete vars[alias];
    if (vars[standard] !== undefined && vars[standard] !== value) {
      errors.push(`${alias} and ${standard}: both set, to different values; set ${standard} only`);
      continue;
    }
    vars[standard] = value;
    warnings.push(`${alias} is deprecated: use ${standard} (${DOCS})`);
  }
  // The SDK reads only `true`/`1` as true; Stepwise's booleans also take `yes` (and `no`, `0`).
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    if (vars[name] !== undefined) vars[name] = String(truthy(vars[name]));
  }
  for (const { env } of TLS_SOURCES) {
    if (vars[`${env}_PATH`] !== undefined && vars[`${env}_DATA`] !== undefined) {
      errors.push(`${env}_PATH and ${env}_DATA: both set; set one`);
    }
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  // The profile file, through the SDK's loader (it finds the file as the CLI does).
  const explicitFile = vars.TEMPORAL_CONFIG_FILE;
  const candidate = explicitFile ?? defaultConfigFile(vars);
  const configFile = candidate !== null && existsSync(candidate) ? candidate : null;
  if (explicitFile !== undefined && configFile === null) {
    return { ok: false, errors: [`TEMPORAL_CONFIG_FILE: cannot read the file (ENOENT)`], warnings };
  }
  let fileProfile: ClientConfigProfile = {};
  let profile: string | null = null;
  const wanted = vars.TEMPORAL_PROFILE;
  if (configFile !== null) {
    let profiles: Record<string, ClientConfigProfile>;
    try {
      profiles = loadClientConfig({ configSource: { path: configFile } }).profiles;
    } catch (err) {
      const where = explicitFile !== undefined ? `TEMPORAL_CONFIG_FILE (${configFile})` : configFile;
      return { ok: false, errors: [`${where}: ${errorText(err).split('\n')[0]}`], warnings };
    }
    const name = wanted ?? 'default';
    if (profiles[name] !== undefined) {
      fileProfile = profiles[name];
      profile = name;
    } else if (wanted !== undefined) {
      const known = Object.keys(profiles);
      return {
        ok: false,
        errors: [
          `TEMPORAL_PROFILE: no profile "${wanted}" in ${configFile} (${known.length > 0 ? `it has ${known.map((k) => `"${k}"`).join(', ')}` : 'it has none'})`,
        ],
        warnings,
      };
    }
  } else if (wanted !== undefined) {
    return {
      ok: false,
      errors: [
        `TEMPORAL_PROFILE: "${wanted}" asked for, but there is no profile file (set TEMPORAL_CONFIG_FILE)`,
      ],
      warnings,
    };
  }
  // The variables, through the same loader with the file left out; then merged field by field.
  let envProfile: ClientConfigProfile;
  try {
    envProfile = loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars });
  } catch (err) {
    return { ok: false, errors: [`TEMPORAL_*: ${errorText(err)}`], warnings };
  }
  const tls: ClientConfigTLS | undefined =
    fileProfile.tls || envProfile.tls ? { ...fileProfile.tls, ...envProfile.tls } : undefined;
  const grpcMeta: Record<string, string> = { ...fileProfile.grpcMeta, ...envProfile.grpcMeta };
  for (const [name, value] of Object.entries(raw)) {
    // The SDK's header name: lower case, the first `_` a `-`.
    if (name.startsWith(GRPC_META_PREFIX) && (value === '' || value === undefined)) {
      delete grpcMeta[name.slice(GRPC_META_PREFIX.length).toLowerCase().replace('_', '-')];
    }
  }
  const merged: ClientConfigProfile = {
    address: envProfile.address ?? fileProfile.address,
    namespace: envProfile.namespace ?? fileProfile.namespace,
    apiKey: envProfile.apiKey ?? fileProfile.apiKey,
    tls,
    grpcMeta: Object.keys(grpcMeta).length > 0 ? grpcMeta : undefined,
  };

  /** Who set a field: the variable, or the profile's key in its file. */
  const origin = (envName: string, tomlKey: string): string => {
    const alias = Object.entries(TEMPORAL_ENV_ALIASES).find(([, s]) => s === envName)?.[0];
    if (vars[envName] !== undefined) return alias && source[alias] !== undefined ? alias : envName;
    return `${tomlKey} of profile "${profile ?? 'default'}" in ${configFile ?? 'the profile file'}`;
  };
  if (merged.address !== undefined && !HOST_PORT.test(merged.address)) {
    errors.push(`${origin('TEMPORAL_ADDRESS', 'address')}: must be host:port`);
  }
  if (Boolean(tls?.clientCert) !== Boolean(tls?.clientKey)) {
    errors.push(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA, or tls.client_cert_* and tls.client_key_* of the profile) must be set together',
    );
  }
  for (const { field, env, toml } of TLS_SOURCES) {
    const src: ConfigDataSource | undefined = tls?.[field];
    if (src === undefined || !('path' in src)) continue;
    try {
      readFileSync(src.path);
    } catch (err) {
      errors.push(`${origin(`${env}_PATH`, `${toml}_path`)}: cannot read the file (${errorText(err)})`);
    }
  }
  const disableHostVerification = truthy(vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION);
  if (disableHostVerification) {
    warnings.push(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK and is ignored: the server certificate's host name is still verified (TEMPORAL_TLS_SERVER_NAME sets the name checked)",
    );
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  let options: ReturnType<typeof toClientOptions>['connectionOptions'];
  try {
    options = toClientOptions(merged).connectionOptions;
  } catch (err) {
    return { ok: false, errors: [`TEMPORAL_TLS_*: ${errorText(err)}`], warnings };
  }
  const tlsOption = options.tls ?? false;
  if (merged.apiKey !== undefined && tlsOption === false) {
    warnings.push(
      `TEMPORAL_API_KEY is sent without TLS (${origin('TEMPORAL_TLS', 'tls.disabled')} turns TLS off): use it only on a trusted network`,
    );
  }
  return {
    ok: true,
    warnings,
    connection: {
      address: merged.address ?? null,
      namespace: merged.namespace ?? null,
      tls: tlsOption === null ? false : tlsOption,
      ...(merged.apiKey !== undefined ? { apiKey: merged.apiKey } : {}),
      ...(merged.grpcMeta !== undefined ? { metadata: merged.grpcMeta } : {}),
      profile,
      configFile,
    },
  };
}
