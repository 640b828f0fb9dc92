import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { FluxbotCore, type CoreOptions } from '../../src/core/core.js';
import { SpreadKeys } from '../../src/core/key-space.js';
import type { Requester } from '../../src/core/ports.js';
import { createRedisClient, scanKeys, type RedisTarget } from '../../src/core/redis-connection.js';
import { parseFluxRequest, type FluxRequest } from '../../src/core/request.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A unique key prefix (with a hash tag) per test, so suites can share one Redis. */
export function testPrefix(name = 'test'): string {
  return `{fbt-${name}-${randomUUID().slice(0, 8)}}`;
}

export async function makeCore(overrides: Partial<CoreOptions> = {}): Promise<FluxbotCore> {
  const core = new FluxbotCore({
    redisUrl: REDIS_URL,
    logger: silentLogger,
    prefix: testPrefix(),
    quotas: { dailyPerUser: 100, concurrentPerUser: 20, dailyPerGuild: 1000, concurrentPerGuild: 100 },
    ...overrides,
  });
  await core.ready();
  return core;
}

/** Deletes every key under a prefix (tests and benchmarks): the queue's (`{p}…`) and the spread ones (`p:…`), on a REDIS_URL or on every master of a cluster. */
export async function dropPrefix(prefix: string, redis: string | RedisTarget = REDIS_URL): Promise<void> {
  const client = createRedisClient(typeof redis === 'string' ? { url: redis } : redis);
  try {
    for (const pattern of [`${prefix}*`, new SpreadKeys(prefix).pattern]) {
      // One DEL per key: spread keys sit in many slots (a multi-key DEL must not span slots on a cluster).
      await scanKeys(client, pattern, async (keys, node) => void (await Promise.all(keys.map((key) => node.del(key)))));
    }
  } finally {
    client.disconnect();
  }
}

export function person(userId: string, guildId = 'g1'): Requester {
  return { platform: 'discord', guildId, userId };
}

export const target = { platform: 'discord' as const, channelId: 'c1' };

/** A valid request for tests: flux-pro, a small png at 1:1 unless `input` says otherwise. Throws on invalid input. */
export function fluxRequest(input: Record<string, unknown> = {}): FluxRequest {
  const r = parseFluxRequest({ prompt: 'p', model: 'flux-pro', output_format: 'png', aspect_ratio: '1:1', ...input });
  if (!r.ok) throw r.error;
  return r.request;
}
