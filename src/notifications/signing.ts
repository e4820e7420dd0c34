/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, `spec/standard-webhooks.md`):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed
 * with the bytes the secret `whsec_<base64>` encodes. Several signatures are space-separated (a
 * rotated secret's overlap).
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** A new secret: `whsec_` and the base64 of 32 random bytes. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** True for `whsec_<base64 of 24–64 bytes>` (what a deployment file may give too). */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return false;
  const n = Buffer.from(b64, 'base64').length;
  return n >= 24 && n <= 64;
}

/** `v1,<base64 signature>` of one message with one secret. */
export function sign(secret: string, webhookId: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestampS}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a delivery, signed with every secret given (current first). */
export function webhookHeaders(
  secrets: readonly string[],
  webhookId: string,
  timestampS: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': secrets.map((s) => sign(s, webhookId, timestampS, body)).join(' '),
  };
}
