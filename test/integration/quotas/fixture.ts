import { afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { QuotaAdmin } from '../../../src/core/quotas/quota-admin.js';
import { QuotaStore } from '../../../src/core/quotas/quota-store.js';
import type { QuotaDefaults } from '../../../src/core/quotas/types.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export const DEFAULTS: QuotaDefaults = { dailyPerUser: 10, concurrentPerUser: 2, dailyPerGuild: 200, concurrentPerGuild: 10 };

/** A controllable clock: tests move time by hand. */
export class TestClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface QuotaFixture {
  prefix: string;
  redis: Redis;
  clock: TestClock;
  store: QuotaStore;
  admin: QuotaAdmin;
  /** Stores on their own connections (same prefix), so concurrent calls really interleave on the server. */
  storesOnConnections(n: number): QuotaStore[];
  /** Deletes every key under the prefix and closes the connections. */
  cleanup(): Promise<void>;
}

export interface FixtureOptions {
  defaults?: Partial<QuotaDefaults>;
  timeZone?: string;
  /** Initial clock value, epoch ms. */
  at?: number;
}

export function quotaFixture(options: FixtureOptions = {}): QuotaFixture {
  const prefix = `{fluxbot-test-${randomBytes(6).toString('hex')}}`;
  const redis = new Redis(REDIS_URL, { lazyConnect: false });
  const extra: Redis[] = [];
  const clock = new TestClock(options.at ?? Date.UTC(2026, 10, 21, 12, 0, 0));
  const storeOptions = (r: Redis) => ({
    redis: r,
    prefix,
    clock: clock.now,
    defaults: { ...DEFAULTS, ...options.defaults },
    timeZone: options.timeZone ?? 'UTC',
  });
  return {
    prefix,
    redis,
    clock,
    store: new QuotaStore(storeOptions(redis)),
    admin: new QuotaAdmin(storeOptions(redis)),
    storesOnConnections(n) {
      return Array.from({ length: n }, () => {
        const r = new Redis(REDIS_URL);
        extra.push(r);
        return new QuotaStore(storeOptions(r));
      });
    },
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await Promise.all([redis, ...extra].map((r) => r.quit()));
    },
  };
}

/** Every key under the fixture's prefix. */
export async function keysUnder(f: QuotaFixture): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await f.redis.scan(cursor, 'MATCH', `${f.prefix}*`, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/**
 * A fixture per test, cleaned up after each: call in a suite file's top level, then `setup(options)` in each test.
 */
export function fixturePerTest(): (options?: FixtureOptions) => QuotaFixture {
  let current: QuotaFixture | undefined;
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return (options = {}) => (current = quotaFixture(options));
}
