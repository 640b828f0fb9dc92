import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { FluxbotCore } from '../../src/core/core.js';
import { parseFluxRequest } from '../../src/core/request.js';
import { main } from '../../src/main.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, person, REDIS_URL, silentLogger, target, testPrefix } from '../helpers/core.js';
import { spreadName } from '../../src/core/key-space.js';

/** The composition root with PUBLIC_URL set: the worker hands out webhook URLs and the endpoint verifies what comes. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('webhooks in the app (src/main.ts)', () => {
  it('with PUBLIC_URL, Replicate is given the webhook, its signed call is accepted and forged calls are refused', async () => {
    const fake = await ReplicateFake.start({ latencyMs: 200 });
    cleanups.push(() => fake.close());
    const prefix = testPrefix('app-hooks');
    cleanups.push(() => dropPrefix(prefix));
    const port = await freePort();
    const config = loadConfig({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      ROLE: 'worker',
      HTTP_PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      REPLICATE_API_TOKEN: fake.token,
      REPLICATE_API_URL: fake.baseUrl,
      ALLOW_PRIVATE_URLS: 'true',
    });
    const app = await main(config, silentLogger);
    cleanups.push(() => app.stop());
    const base = `http://127.0.0.1:${app.httpPort}`;

    // A job from the bot side (another core on the same Redis): the worker creates the prediction with the webhook.
    const bot = new FluxbotCore({ redisUrl: REDIS_URL, logger: silentLogger, prefix, quotas: { dailyPerUser: 10, concurrentPerUser: 5, dailyPerGuild: 10, concurrentPerGuild: 5 } });
    cleanups.push(() => bot.close(500));
    await bot.ready();
    const r = parseFluxRequest({ prompt: 'x', output_format: 'png' });
    if (!r.ok) throw r.error;
    const submitted = await bot.service.submit(r.request, person('a'), target, { dedupeKey: 'app-1' });
    expect(submitted.status).toBe('queued');
    const create = await fake.waitFor((c) => c.method === 'POST' && c.path.includes('/predictions'), 15_000);
    expect((create.body as { webhook?: string }).webhook).toMatch(new RegExp(`^${base}/webhooks/replicate\\?job=${(submitted as { jobId: string }).jobId}&token=`));
    await expect.poll(() => fake.webhooksSent.map((w) => w.status), { timeout: 15_000 }).toEqual([200]);

    const unsigned = await fetch(`${base}/webhooks/replicate`, { method: 'POST', body: fake.webhooksSent[0]!.body });
    expect(unsigned.status).toBe(401);
    const forgedFal = await fetch(`${base}/webhooks/fal?job=1&token=forged`, { method: 'POST', body: '{"request_id":"r"}' });
    expect(forgedFal.status).toBe(401);
    expect(await bot.redis.keys(`${spreadName(prefix)}:hook:{fal:*`)).toEqual([]);
  });
});
