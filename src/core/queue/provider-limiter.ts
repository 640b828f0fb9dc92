import type { RedisClient } from '../redis-connection.js';

/**
 * A global (all workers, all machines) concurrency and rate limit toward one provider, kept in Redis so that adding
 * workers does not multiply the load on a provider's account. Holders are leases that expire unless renewed, so a
 * crashed worker's slot comes back by itself.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, maxc, rate, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  return {1, 0}
end
if redis.call('ZCARD', KEYS[1]) >= maxc then return {0, 250} end
if redis.call('ZCARD', KEYS[2]) >= rate then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1] .. ':' .. now)
redis.call('PEXPIRE', KEYS[1], lease * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
return {1, 0}
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return r
`;

export interface ProviderLimit {
  /** Generations in flight at once toward this provider, across all workers. */
  concurrency: number;
  /** New generations started per `windowMs`. */
  rate: number;
  windowMs?: number;
}

export interface AcquireResult {
  acquired: boolean;
  /** When not acquired: how long to wait before trying again. */
  retryInMs: number;
}

export class ProviderLimiter {
  private readonly leaseMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = '{fluxbot}',
    options: { leaseMs?: number } = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  private keys(provider: string): [string, string] {
    return [`${this.prefix}:limit:${provider}:holders`, `${this.prefix}:limit:${provider}:starts`];
  }

  async tryAcquire(provider: string, holder: string, limit: ProviderLimit): Promise<AcquireResult> {
    const [holders, starts] = this.keys(provider);
    const [ok, wait] = (await this.redis.eval(
      ACQUIRE,
      2,
      holders,
      starts,
      holder,
      this.leaseMs,
      limit.concurrency,
      limit.rate,
      limit.windowMs ?? 60_000,
    )) as [number, number];
    return { acquired: ok === 1, retryInMs: wait };
  }

  /**
   * Holds a slot for the duration of `fn`, renewing the lease while it runs. Returns undefined without running `fn`
   * when no slot frees within `maxWaitMs` (the caller delays the job instead of blocking a worker slot).
   */
  async withSlot<T>(provider: string, holder: string, limit: ProviderLimit, maxWaitMs: number, fn: () => Promise<T>): Promise<{ value: T } | { retryInMs: number }> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const r = await this.tryAcquire(provider, holder, limit);
      if (r.acquired) break;
      if (Date.now() + r.retryInMs > deadline) return { retryInMs: r.retryInMs };
      await new Promise((resolve) => setTimeout(resolve, r.retryInMs));
    }
    const [holders] = this.keys(provider);
    const timer = setInterval(() => {
      this.redis.eval(RENEW, 1, holders, holder, this.leaseMs).catch(() => undefined);
    }, Math.max(1000, this.leaseMs / 3));
    try {
      return { value: await fn() };
    } finally {
      clearInterval(timer);
      await this.redis.zrem(holders, holder).catch(() => undefined);
    }
  }
}
