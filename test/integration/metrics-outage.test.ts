import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { Metrics } from '../../src/http/metrics.js';
import { HttpServer } from '../../src/http/server.js';
import { fluxRequest, makeCore, person, silentLogger, target } from '../helpers/core.js';
import { PrivateRedis } from '../helpers/private-redis.js';

let redis: PrivateRedis;
let core: FluxbotCore;
let server: HttpServer;
let base: string;
let metrics: Metrics;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  core = await makeCore({ redisUrl: redis.url });
  metrics = new Metrics().watchQueue(core.queue);
  server = new HttpServer({ port: 0, host: '127.0.0.1', logger: silentLogger, checks: [], metrics: () => metrics.text() });
  base = `http://127.0.0.1:${await server.listen()}`;
}, 30_000);

afterAll(async () => {
  await server.close();
  await redis.up();
  await core.close(500);
  await redis.close();
}, 30_000);

async function scrape(): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

describe('/metrics', () => {
  it('names every metric with one fluxbot_ prefix, default process metrics included', async () => {
    const { body } = await scrape();
    expect(body).toMatch(/^fluxbot_process_cpu_seconds_total \d/m);
    expect(body).toMatch(/^fluxbot_nodejs_heap_size_used_bytes \d/m);
    expect(body).not.toContain('fluxbot_process_process_');
    const names = [...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(name, name).toMatch(/^fluxbot_(?!fluxbot_)/);
  });

  it('answers within a second during a Redis outage with what the process has, and reads the queue again after', async () => {
    await core.service.submit(fluxRequest(), person('alice'), target, { dedupeKey: 'm1' });
    metrics.reroll();
    const before = await scrape();
    expect(before.body).toMatch(/^fluxbot_queue_stats_up 1$/m);
    expect(before.body).toMatch(/^fluxbot_queue_depth 1$/m);

    await redis.down();
    for (let i = 0; i < 3; i++) {
      const during = await scrape();
      expect(during.status).toBe(200);
      expect(during.ms).toBeLessThan(1000);
      expect(during.body).toMatch(/^fluxbot_queue_stats_up 0$/m);
      expect(during.body).not.toMatch(/^fluxbot_queue_depth /m); // no stale totals
      expect(during.body).not.toMatch(/^fluxbot_jobs\{/m);
      expect(during.body).toMatch(/^fluxbot_rerolls_total 1$/m); // the process's own numbers are still served
      expect(during.body).toMatch(/^fluxbot_process_cpu_seconds_total \d/m);
    }

    await redis.up();
    await expect.poll(async () => (await scrape()).body, { timeout: 15_000, interval: 200 }).toMatch(/^fluxbot_queue_stats_up 1$/m);
    expect((await scrape()).body).toMatch(/^fluxbot_queue_depth 1$/m);
  }, 40_000);
});
