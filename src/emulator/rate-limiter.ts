/**
 * The emulator's rate limit: a token bucket per API key. Each key may burst one second's worth of
 * requests, then `ratePerSecond` requests per second. The real API's numbers are unknown (see shared
 * docs: user-interviews-api, "Limits and errors"); the emulator makes them a knob.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param ratePerSecond requests per second per key (> 0)
   * @param now clock, epoch ms
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes one request's token for `key`. Returns `null` when allowed, else the whole number of
   * seconds (at least 1) to wait before the next request is allowed: the `Retry-After` value.
   */
  take(key: string): number | null {
    const capacity = Math.max(1, this.ratePerSecond);
    const at = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((at - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = at;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }
}
