/**
 * Token buckets per caller (a key's name, or a client address): `burst` requests at once, refilled
 * at `perMinute` a minute. At most `maxBuckets` callers are tracked: the least recently seen is
 * forgotten first (it gets a full bucket when it comes back), so addresses cannot grow the map.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxBuckets = 10_000,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /**
   * Takes one token for `caller`: 0 when the request may go ahead, else the whole seconds until a
   * token is back (the `Retry-After` value). A refused request takes nothing.
   */
  take(caller: string): number {
    const t = this.now();
    const b = this.buckets.get(caller) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    // Re-inserted: the map's order is the order callers were last seen in.
    this.buckets.delete(caller);
    this.buckets.set(caller, b);
    if (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }
}
