/**
 * Which network addresses a download (and a webhook delivery, `src/notifications/send.ts`) may
 * connect to. Every address a download would use — an IP
 * literal in the URL (after WHATWG URL parsing has normalized spellings such as `2130706433`,
 * `0x7f000001`, `0177.1` or `127.1` to `127.0.0.1`) or each address the host name resolves to —
 * is classified here:
 *
 * - `public`: fine.
 * - `private` (loopback, RFC 1918, CGNAT, IPv6 unique-local): only with the explicit opt-in
 *   (`STEPWISE_DOWNLOAD_ALLOW_PRIVATE=true`; for webhooks `STEPWISE_WEBHOOK_ALLOW_PRIVATE=true`), e.g. for a test server on 127.0.0.1.
 * - `never` (unspecified, link-local — cloud metadata services live at 169.254.169.254 —,
 *   multicast, broadcast and other reserved or special-purpose ranges): refused even with it.
 *
 * IPv6 addresses that embed an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`) are
 * judged by the IPv4 address they lead to.
 */
import { isIP } from 'node:net';

export type AddressVerdict = { kind: 'public' } | { kind: 'private' | 'never'; what: string; range: string };

const V4: { base: string; bits: number; kind: 'private' | 'never'; what: string }[] = [
  { base: '0.0.0.0', bits: 8, kind: 'never', what: 'an unspecified ("this network") address' },
  { base: '10.0.0.0', bits: 8, kind: 'private', what: 'a private address' },
  { base: '100.64.0.0', bits: 10, kind: 'private', what: 'a carrier-grade NAT (shared) address' },
  { base: '127.0.0.0', bits: 8, kind: 'private', what: 'a loopback address' },
  { base: '169.254.0.0', bits: 16, kind: 'never', what: 'a link-local address' },
  { base: '172.16.0.0', bits: 12, kind: 'private', what: 'a private address' },
  { base: '192.0.0.0', bits: 24, kind: 'never', what: 'an IETF protocol assignment address' },
  { base: '192.0.2.0', bits: 24, kind: 'never', what: 'a documentation address' },
  { base: '192.168.0.0', bits: 16, kind: 'private', what: 'a private address' },
  { base: '198.18.0.0', bits: 15, kind: 'never', what: 'a benchmarking address' },
  { base: '198.51.100.0', bits: 24, kind: 'never', what: 'a documentation address' },
  { base: '203.0.113.0', bits: 24, kind: 'never', what: 'a documentation address' },
  { base: '224.0.0.0', bits: 4, kind: 'never', what: 'a multicast address' },
  { base: '240.0.0.0', bits: 4, kind: 'never', what: 'a reserved or broadcast address' },
];

function v4ToInt(a: string): number {
  return a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function classifyIPv4(address: string): AddressVerdict {
  const n = v4ToInt(address);
  for (const r of V4) {
    const size = 2 ** (32 - r.bits);
    const base = v4ToInt(r.base);
    if (n >= base && n < base + size) return { kind: r.kind, what: r.what, range: `${r.base}/${r.bits}` };
  }
  return { kind: 'public' };
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or null when it is not one. */
export function parseIPv6(address: string): number[] | null {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(a) !== 6) return null;
  let head = a;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const n = v4ToInt(v4[1]);
    tail = [Math.floor(n / 65536), n % 65536];
    head = a.slice(0, -v4[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const hex = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (head.includes('::')) {
    const [l, r] = head.split('::');
    const left = hex(l);
    const right = [...hex(r), ...tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = [...hex(head), ...tail];
  }
  return groups.length === 8 ? groups : null;
}

const embeddedV4 = (g: number[]): string => [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255].join('.');

export function classifyIPv6(address: string): AddressVerdict {
  const g = parseIPv6(address);
  if (!g) return { kind: 'never', what: 'not a valid IPv6 address', range: address };
  const zeroUntil = (n: number) => g.slice(0, n).every((x) => x === 0);
  const never = (what: string, range: string): AddressVerdict => ({ kind: 'never', what, range });
  if (zeroUntil(8)) return never('the unspecified address', '::/128');
  if (zeroUntil(7) && g[7] === 1) return { kind: 'private', what: 'a loopback address', range: '::1/128' };
  if (zeroUntil(5) && g[5] === 0xffff) {
    const v4 = classifyIPv4(embeddedV4(g));
    return v4.kind === 'public'
      ? v4
      : { ...v4, what: `${v4.what} (IPv4-mapped ${embeddedV4(g)})`, range: `::ffff:${v4.range}` };
  }
  if (zeroUntil(6)) return never('an IPv4-compatible address (deprecated)', '::/96');
  if (g[0] === 0x64 && g[1] === 0xff9b && (g[2] === 0 || g[2] === 1)) {
    const v4 = classifyIPv4(embeddedV4(g));
    return v4.kind === 'public'
      ? v4
      : { ...v4, what: `${v4.what} (NAT64 for ${embeddedV4(g)})`, range: `64:ff9b::/96 → ${v4.range}` };
  }
  if ((g[0] & 0xffc0) === 0xfe80) return never('a link-local address', 'fe80::/10');
  if ((g[0] & 0xffc0) === 0xfec0) return never('a site-local address (deprecated)', 'fec0::/10');
  if ((g[0] & 0xfe00) === 0xfc00)
    return { kind: 'private', what: 'a unique-local address', range: 'fc00::/7' };
  if ((g[0] & 0xff00) === 0xff00) return never('a multicast address', 'ff00::/8');
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) {
    return never('a discard-only address', '100::/64');
  }
  if (g[0] === 0x2001 && g[1] === 0xdb8) return never('a documentation address', '2001:db8::/32');
  if (g[0] === 0x2001 && g[1] === 0) return never('a Teredo address', '2001::/32');
  if (g[0] === 0x2002) return never('a 6to4 address', '2002::/16');
  return { kind: 'public' };
}

/** The verdict on one IP address (IPv4 or IPv6, with or without brackets). */
export function classifyAddress(address: string): AddressVerdict {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return classifyIPv4(bare);
  if (family === 6) return classifyIPv6(bare);
  return { kind: 'never', what: 'not an IP address', range: address };
}
