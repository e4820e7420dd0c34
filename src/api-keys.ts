/**
 * API keys and roles: parsing `name:role:key` entries (STEPWISE_API_KEYS, STEPWISE_API_KEYS_FILE),
 * hashing plain keys at load (only sha256 digests are kept), constant-time lookup, and whether the
 * API may listen on a host without keys. Pure functions; the config schema and the API's guard use them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** Lowest to highest: each role may do everything the roles before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const roleRank = (role: Role): number => ROLES.indexOf(role);

/** One configured key: its name (the actor recorded on actions), its role and the sha256 of the key. */
export interface ApiKey {
  name: string;
  role: Role;
  /** sha256 digest of the key (32 bytes). */
  hash: Buffer;
}

/** Who a request acts as: a key's name and role (or the open-mode actor). */
export interface Actor {
  name: string;
  role: Role;
}

/** The actor of every request when no key is configured (loopback only). */
export const OPEN_MODE_ACTOR: Actor = { name: 'local', role: 'admin' };

/** Plain keys shorter than this are refused: they are guessable. */
export const MIN_PLAIN_KEY_LENGTH = 16;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

export const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * One `name:role:key` entry; a key written `sha256:<64 hex digits>` is the digest itself. Returns an
 * error message otherwise — one that never repeats the key (nor the role field, which holds the key
 * when the fields are out of order), since it ends up in logs.
 */
export function parseApiKeyEntry(entry: string): ApiKey | string {
  const first = entry.indexOf(':');
  const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
  if (second < 0) return 'expected name:role:key';
  const name = entry.slice(0, first).trim();
  const role = entry.slice(first + 1, second).trim();
  const key = entry.slice(second + 1).trim();
  if (!NAME.test(name)) {
    return 'the name must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)';
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    return `key "${name}": the role must be one of ${ROLES.join(', ')}`;
  }
  if (key.startsWith('sha256:')) {
    const hex = key.slice('sha256:'.length);
    if (!HEX_DIGEST.test(hex)) return `key "${name}": a sha256: key must be 64 hexadecimal digits`;
    return { name, role: role as Role, hash: Buffer.from(hex, 'hex') };
  }
  if (key.length < MIN_PLAIN_KEY_LENGTH || /\s/.test(key)) {
    return `key "${name}": a plain key must be at least ${MIN_PLAIN_KEY_LENGTH} characters without spaces`;
  }
  return { name, role: role as Role, hash: sha256(key) };
}

export interface ParsedApiKeys {
  keys: ApiKey[];
  /** Each problem, prefixed with where it is (`entry 2`, `line 7`). */
  errors: string[];
}

/** Entries of STEPWISE_API_KEYS: comma-separated; blank entries are skipped. */
export function parseApiKeyList(value: string): ParsedApiKeys {
  return collect(value.split(',').map((text, i) => ({ text, where: `entry ${i + 1}` })));
}

/** Lines of STEPWISE_API_KEYS_FILE: one entry a line; blank lines and `#` comments are skipped. */
export function parseApiKeyFile(text: string): ParsedApiKeys {
  return collect(
    text.split(/\r?\n/).map((line, i) => ({ text: line.replace(/(^|\s)#.*$/, ''), where: `line ${i + 1}` })),
  );
}

function collect(entries: { text: string; where: string }[]): ParsedApiKeys {
  const keys: ApiKey[] = [];
  const errors: string[] = [];
  for (const { text, where } of entries) {
    if (text.trim() === '') continue;
    const parsed = parseApiKeyEntry(text);
    if (typeof parsed === 'string') errors.push(`${where}: ${parsed}`);
    else keys.push(parsed);
  }
  return { keys, errors };
}

/** Names must be unique (they are the actors), and so must keys (one key, one identity). */
export function duplicateKeyErrors(keys: ApiKey[]): string[] {
  const errors: string[] = [];
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  for (const k of keys) {
    if (names.has(k.name)) errors.push(`the name "${k.name}" is used by more than one key`);
    names.add(k.name);
    const hex = k.hash.toString('hex');
    const other = hashes.get(hex);
    if (other !== undefined) errors.push(`keys "${other}" and "${k.name}" are the same key`);
    else hashes.set(hex, k.name);
  }
  return errors;
}

/**
 * The key a bearer token belongs to. The token's digest is compared with every configured digest in
 * constant time, with no early exit on a match, so the answer's timing says nothing about which
 * key (or how much of one) matched.
 */
export function findApiKey(keys: readonly ApiKey[], token: string): ApiKey | undefined {
  const digest = sha256(token);
  let found: ApiKey | undefined;
  for (const k of keys) {
    const match = timingSafeEqual(digest, k.hash);
    if (match && found === undefined) found = k;
  }
  return found;
}

/** `Bearer <token>` → the token; anything else → undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 4096) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped and bracketed) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIPv4(v4) && v4.split('.')[0] === '127';
}
