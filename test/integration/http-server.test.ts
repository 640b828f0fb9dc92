import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { Metrics } from '../../src/http/metrics.js';
import { HttpServer } from '../../src/http/server.js';
import { parseFluxRequest } from '../../src/core/request.js';
import { dropPrefix, makeCore, person, silentLogger, target } from '../helpers/core.js';

let core: FluxbotCore;
let server: HttpServer;
afterEach(async () => {
  await server.close();
  await core.close(500);
  await dropPrefix(core.prefix);
});

async function start(ready: () => boolean) {
  core = await makeCore();
  const metrics = new Metrics({ defaultMetrics: false }).watchQueue(core.queue);
  server = new HttpServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    checks: [
      { name: 'redis', check: async () => (await core.redis.ping()) === 'PONG' },
      { name: 'discord', check: ready },
    ],
    metrics: () => metrics.text(),
    webhooks: { handle: async (provider) => ({ status: 202, body: { provider } }) },
    maxBodyBytes: 1024,
  });
  const port = await server.listen();
  return { base: `http://127.0.0.1:${port}`, metrics };
}

describe('operator HTTP endpoint', () => {
  it('/healthz is alive; /readyz reflects Redis and platform connections', async () => {
    let discordUp = false;
    const { base } = await start(() => discordUp);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'unavailable', checks: { redis: true, discord: false } });
    discordUp = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('/metrics exposes queue state and pipeline counters in Prometheus format', async () => {
    const { base, metrics } = await start(() => true);
    const r = parseFluxRequest({ prompt: 'x' });
    if (!r.ok) throw r.error;
    await core.service.submit(r.request, person('a'), target, { dedupeKey: 'm1' });
    metrics.refusal('user_daily');
    metrics.generation('replicate', 'flux-pro', 1500);
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/fluxbot_jobs\{state="prioritized"\} 1/);
    expect(text).toMatch(/fluxbot_queue_depth 1/);
    expect(text).toMatch(/fluxbot_quota_refusals_total\{reason="user_daily"\} 1/);
    expect(text).toMatch(/fluxbot_generation_seconds_count\{provider="replicate",model="flux-pro"\} 1/);
  });

  it('answers bad requests with JSON errors: unknown route, wrong method, oversized body', async () => {
    const { base } = await start(() => true);
    const unknown = await fetch(`${base}/admin`);
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: 'no route /admin' }]);
    const wrong = await fetch(`${base}/healthz`, { method: 'POST', body: 'x' });
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET']);
    const big = await fetch(`${base}/webhooks/replicate`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    const ok = await fetch(`${base}/webhooks/replicate`, { method: 'POST', body: '{}' });
    expect([ok.status, await ok.json()]).toEqual([202, { provider: 'replicate' }]);
    expect((await fetch(`${base}/webhooks/replicate`)).status).toBe(405);
  });
});
