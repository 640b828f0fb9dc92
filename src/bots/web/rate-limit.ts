/** A token bucket's shape: `burst` requests at once, then one every `refillMs`. */
export interface BucketShape {
  burst: number;
  refillMs: number;
}

/**
 * Token buckets per key (a session, a client address), in memory: a flood from one browser is cut off with a clear
 * 429 before it reaches Redis. Per process, so several bot processes each allow their own share; quotas, which live
 * in Redis, hold regardless. At most `maxKeys` buckets are kept (the oldest dropped first).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly shape: BucketShape,
    private readonly clock: () => number = Date.now,
    private readonly maxKeys = 50_000,
  ) {}

  /** Takes one token for `key`: 0 when allowed, else the milliseconds until the next token. */
  take(key: string): number {
    const now = this.clock();
    const { burst, refillMs } = this.shape;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) / refillMs);
    bucket.at = now;
    this.buckets.delete(key); // re-inserted last: Map order is the eviction order
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) * refillMs);
  }
}
