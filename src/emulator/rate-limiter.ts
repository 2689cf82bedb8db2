/**
 * The emulator's rate limit: a token bucket per API key. Each key may burst one second's worth of
 * requests (at least one), then `ratePerSecond` requests per second. The real API's numbers are
 * unknown (see shared docs: user-interviews-api, "Limits and errors"); the emulator makes them a knob.
 */

/** What the bucket of one key said to one request. */
export interface RateDecision {
  /** `null` when the request is allowed, else whole seconds (at least 1) to wait: the `Retry-After` value. */
  retryAfter: number | null;
  /** Requests the bucket holds when full: `max(1, ratePerSecond)`, rounded down. */
  limit: number;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Whole seconds until the bucket is full again (0 when it is). */
  resetSeconds: number;
  /** Seconds the bucket takes to fill from empty: `limit / ratePerSecond`. */
  windowSeconds: number;
}

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

  /** Takes one request's token for `key` when there is one; says what is left either way. */
  take(key: string): RateDecision {
    const capacity = Math.max(1, this.ratePerSecond);
    const at = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((at - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = at;
    this.buckets.set(key, bucket);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const limit = Math.floor(capacity);
    return {
      retryAfter: allowed ? null : Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond)),
      limit,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((capacity - bucket.tokens) / this.ratePerSecond),
      windowSeconds: limit / this.ratePerSecond,
    };
  }
}
