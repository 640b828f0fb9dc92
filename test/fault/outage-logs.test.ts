import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FluxbotCore } from '../../src/core/core.js';
import { errorLog } from '../../src/core/error-log.js';
import { MemoryDelivery } from '../fakes/memory-delivery.js';
import { ScriptedProvider } from '../fakes/scripted-provider.js';
import { testPrefix } from '../helpers/core.js';
import { PrivateRedis } from '../helpers/private-redis.js';

/** A pino logger whose JSON lines are kept, to read what an operator's log would show. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

let redis: PrivateRedis | undefined;
afterAll(async () => redis?.close());

describe('logs during a Redis outage', () => {
  it('every BullMQ object (queue, worker, progress feed) logs JSON, once per kind of error, and nothing reaches console.error', async () => {
    redis = await PrivateRedis.start();
    const { logger, lines } = capturingLogger();
    const consoleError = vi.spyOn(console, 'error');
    const stderr = vi.spyOn(process.stderr, 'write');
    const core = new FluxbotCore({
      redisUrl: redis.url,
      logger,
      prefix: testPrefix('outage-logs'),
      quotas: { dailyPerUser: 10, concurrentPerUser: 2, dailyPerGuild: 100, concurrentPerGuild: 10 },
    });
    try {
      await core.ready();
      const feed = core.createProgressFeed();
      await feed.ready();
      await core.createWorker({ providers: [new ScriptedProvider('replicate')], deliveries: { discord: new MemoryDelivery() } }).start();
      await core.queue.waitUntilReady();

      await redis.down();
      await new Promise((r) => setTimeout(r, 4000)); // ioredis retries many times in this long
      await redis.up();
      // BullMQ's reconnect backoff can take seconds (tens of them on a loaded machine: a CI run had it outlast the old
      // 60 s budget); closing before the worker is back would wait for it.
      await expect.poll(() => core.queue.getWorkersCount(), { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(1);

      expect(consoleError).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
      const errors = lines.filter((l) => l.level === 50);
      const byMsg = new Map<string, number>();
      for (const l of errors) byMsg.set(String(l.msg), (byMsg.get(String(l.msg)) ?? 0) + 1);
      // One line per object and kind of error (ECONNREFUSED, a closed connection, …), never one per reconnect attempt.
      for (const [msg, n] of byMsg) expect(n, msg).toBeLessThanOrEqual(4);
      expect(errors.length).toBeLessThanOrEqual(12);
    } finally {
      consoleError.mockRestore();
      stderr.mockRestore();
      await core.close(500);
    }
  }, 120_000);
});

describe('errorLog', () => {
  it('logs the first error of a kind, counts repeats for the quiet time, then logs again with the count', () => {
    const { logger, lines } = capturingLogger();
    vi.useFakeTimers({ now: 0 });
    try {
      const log = errorLog(logger, 'queue error', 60_000);
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      for (let i = 0; i < 50; i++) log(refused);
      log(new Error('Connection is closed.'));
      vi.setSystemTime(61_000);
      log(refused);
      expect(lines.map((l) => [l.msg, (l.err as { message: string }).message, l.repeated])).toEqual([
        ['queue error', 'connect ECONNREFUSED 127.0.0.1:1', undefined],
        ['queue error', 'Connection is closed.', undefined],
        ['queue error', 'connect ECONNREFUSED 127.0.0.1:1', 49],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
