/**
 * Secrets kept out of log lines: the values of credential-named fields (`authorization`,
 * `access_token`, `password`, …), credentials inside text (`Bearer …`, `access_token=…` in a URL or
 * a message, `sha256:<digest>` key entries), and URL query parameters that carry them. The logger
 * applies {@link redactSecrets} to every line (src/logger.ts); the request log and the exception
 * filter also redact at the source, whatever logger Nest was given.
 */

export const REDACTED = '[redacted]';

/** Field names whose values are credentials (compared without case, `-` and `_`). */
const SECRET_FIELDS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'accesstoken',
  'token',
  'apikey',
  'xapikey',
  'password',
  'secret',
  'clientsecret',
]);

export const isSecretField = (name: string): boolean =>
  SECRET_FIELDS.has(name.toLowerCase().replace(/[-_]/g, ''));

/** `name=value` pairs of a query string (or of text quoting one) whose name is a credential. */
const QUERY_SECRET = /([?&;\s]|^)((?:access[_-]?token|token|api[_-]?key|password|secret)=)[^&#\s"'<>]*/gi;
/** An HTTP credential in text: `Bearer <token>`, `Basic <token>`. */
const AUTH_SCHEME = /\b(Bearer|Basic)([ \t]+)[^\s"',;]+/gi;
/** A key entry written as its digest (STEPWISE_API_KEYS' `sha256:<64 hex digits>`). */
const DIGEST = /\bsha256:[0-9a-f]{64}\b/gi;

/** `text` with the credentials it quotes replaced by {@link REDACTED}. */
export function redactText(text: string): string {
  if (!/bearer|basic|token|key|password|secret|sha256:/i.test(text)) return text;
  return text
    .replace(QUERY_SECRET, `$1$2${REDACTED}`)
    .replace(AUTH_SCHEME, `$1$2${REDACTED}`)
    .replace(DIGEST, `sha256:${REDACTED}`);
}

/** A URL (or a path with a query) with the values of credential-named parameters redacted. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/**
 * `value` with every credential-named field's value and every credential in its strings redacted.
 * Plain data (objects, arrays, strings); an `Error` becomes `{type, message, stack, cause}`, as the
 * logger writes errors. Bounded in depth: what lies deeper is replaced, not walked.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (depth > 20) return '[too deep]' as T;
  if (value instanceof Error) {
    const plain = { type: value.name, message: value.message, stack: value.stack, cause: value.cause };
    return redactSecrets(plain, depth) as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => redactSecrets(v, depth + 1)) as T;
  if (Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = isSecretField(k) && v !== null && v !== undefined ? REDACTED : redactSecrets(v, depth + 1);
  }
  return out as T;
}
