/** Token buckets per actor: `burst` requests at once, refilled at `perMinute` a minute. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = perMinute / 60_000;
  }

  /**
   * Takes one token for `actor`: 0 when the request may go ahead, else the whole seconds until a
   * token is back (the `Retry-After` value). A refused request takes nothing.
   */
  take(actor: string): number {
    const t = this.now();
    const b = this.buckets.get(actor) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    this.buckets.set(actor, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }
}
