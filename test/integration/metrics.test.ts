import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { ContentModerated, ProviderUnavailable } from '../../src/core/errors.js';
import { Metrics } from '../../src/http/metrics.js';
import { MemoryDelivery } from '../fakes/memory-delivery.js';
import { ScriptedProvider } from '../fakes/scripted-provider.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

const req = (model = 'flux-dev') => fluxRequest({ prompt: 'm', model });
const value = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? NaN);

describe('metrics move with real jobs', () => {
  it('counts generations, deliveries, provider errors, failures, refusals and rerolls', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    core = await makeCore({ metrics, quotas: { dailyPerUser: 2, concurrentPerUser: 5, dailyPerGuild: 100, concurrentPerGuild: 100 } });
    metrics.watchQueue(core.queue);
    const replicate = new ScriptedProvider('replicate', [new ProviderUnavailable('replicate', 'x', 502), 'ok', new ContentModerated('replicate')]);
    const delivery = new MemoryDelivery();
    await core
      .createWorker({ providers: [replicate], deliveries: { discord: delivery }, policy: { attemptsPerProvider: 2, maxRateLimitWaits: 1, baseBackoffMs: 10, maxBackoffMs: 50, followPredictionMs: 0 } })
      .start();

    await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a' });
    await delivery.until(() => delivery.recorded.length === 1);
    await core.service.submit(req(), person('bob'), target, { dedupeKey: 'b' });
    await delivery.until(() => delivery.failures.length === 1);
    await core.service.reroll({ platform: 'discord', messageId: delivery.recorded[0]!.messageId }, person('alice'), { dedupeKey: 'r' });
    await delivery.until(() => delivery.recorded.length === 2);
    expect(await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a3' })).toMatchObject({ status: 'refused', reason: 'user_daily' });

    const { body } = await metrics.text();
    expect(value(body, /fluxbot_generation_seconds_count\{provider="replicate",model="flux-dev"\} (\d+)/)).toBe(2);
    expect(value(body, /fluxbot_delivery_seconds_count\{platform="discord"\} (\d+)/)).toBe(2);
    expect(value(body, /fluxbot_provider_errors_total\{provider="replicate",type="unavailable"\} (\d+)/)).toBe(1);
    expect(value(body, /fluxbot_provider_errors_total\{provider="replicate",type="moderated"\} (\d+)/)).toBe(1);
    expect(value(body, /fluxbot_jobs_finished_total\{outcome="delivered"\} (\d+)/)).toBe(2);
    expect(value(body, /fluxbot_jobs_finished_total\{outcome="failed"\} (\d+)/)).toBe(1);
    expect(value(body, /fluxbot_quota_refusals_total\{reason="user_daily"\} (\d+)/)).toBe(1);
    expect(value(body, /fluxbot_rerolls_total (\d+)/)).toBe(1);
    // Two delivered flux-dev images on Replicate at the catalogue's $0.025; the moderated one cost nothing.
    expect(value(body, /fluxbot_spend_usd_total\{provider="replicate",model="flux-dev"\} ([\d.]+)/)).toBeCloseTo(0.05, 10);
    expect(value(body, /fluxbot_queue_wait_seconds_count (\d+)/)).toBe(3);
    expect(value(body, /fluxbot_jobs\{state="completed"\} (\d+)/)).toBe(2);
    expect(value(body, /fluxbot_jobs\{state="failed"\} (\d+)/)).toBe(1);
    expect(value(body, /fluxbot_active_workers (\d+)/)).toBeGreaterThanOrEqual(1);
  });
});
