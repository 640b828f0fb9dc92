import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { coreOptions } from '../../../src/core-options.js';
import { FluxbotCore } from '../../../src/core/core.js';
import { ProviderUnavailable, UnsupportedByProvider } from '../../../src/core/errors.js';
import type { RetryPolicy } from '../../../src/core/queue/retry-policy.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider, type Step } from '../../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, person, silentLogger, target, testPrefix } from '../../helpers/core.js';

/*
 * PROVIDER_ROUTING=cheapest end to end: the settings (PRICES_FILE included) build the core as the app does, and the
 * worker tries its providers cheapest first. PROVIDERS lists replicate, fal, bfl; the prices make it fal, bfl,
 * replicate for flux-pro.
 */

const dir = mkdtempSync(join(tmpdir(), 'fluxbot-routing-'));
const pricesFile = join(dir, 'prices.json');
writeFileSync(pricesFile, JSON.stringify({ 'flux-pro': { replicate: 0.06, fal: 0.03, bfl: 0.04 } }));
const policy: RetryPolicy = { attemptsPerProvider: 2, maxRateLimitWaits: 3, baseBackoffMs: 20, maxBackoffMs: 200, followPredictionMs: 0 };

const cores: FluxbotCore[] = [];
let prefix: string;
afterEach(async () => {
  for (const core of cores.splice(0)) await core.close(500);
  await dropPrefix(prefix);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A core as main.ts builds it, from settings. */
async function coreFromSettings(): Promise<FluxbotCore> {
  const config = loadConfig({
    REDIS_PREFIX: prefix,
    REPLICATE_API_TOKEN: 'r8_test',
    FAL_KEY: 'fal-test',
    BFL_API_KEY: 'bfl-test',
    PROVIDERS: 'replicate,fal,bfl',
    PROVIDER_ROUTING: 'cheapest',
    PRICES_FILE: pricesFile,
  });
  const core = new FluxbotCore(coreOptions(config, silentLogger));
  cores.push(core);
  await core.ready();
  return core;
}

/** One worker's providers, in PROVIDERS order, each with its script. */
function providers(scripts: { replicate?: Step[]; fal?: Step[]; bfl?: Step[] } = {}) {
  return {
    replicate: new ScriptedProvider('replicate', scripts.replicate),
    fal: new ScriptedProvider('fal', scripts.fal),
    bfl: new ScriptedProvider('bfl', scripts.bfl),
  };
}

async function submit(core: FluxbotCore, key: string) {
  const submitted = await core.service.submit(fluxRequest(), person('alice'), target, { dedupeKey: key });
  if (submitted.status !== 'queued') throw new Error(`not queued: ${submitted.status}`);
  return submitted.jobId;
}

describe('PROVIDER_ROUTING=cheapest on the queue', () => {
  it('the core prices with PRICES_FILE', async () => {
    prefix = testPrefix('routing');
    const core = await coreFromSettings();
    expect(core.prices.rule('flux-pro', 'fal')).toEqual({ per: 'image', usd: 0.03 });
    expect(core.prices.cost('flux-pro', 'replicate', { width: 1024, height: 1024 })).toBe(60_000);
  });

  it('tries the cheapest provider first; when it refuses the model, the next cheapest', async () => {
    prefix = testPrefix('routing');
    const core = await coreFromSettings();
    const p = providers({ fal: [new UnsupportedByProvider('fal', 'the model flux-pro')] });
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [p.replicate, p.fal, p.bfl], deliveries: { discord: delivery }, policy }).start();
    const jobId = await submit(core, 'unsupported');
    await delivery.until(() => delivery.recorded.length + delivery.failures.length > 0);
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered[0]!.image.provider).toBe('bfl');
    expect([p.fal.calls.length, p.bfl.calls.length, p.replicate.calls.length]).toEqual([1, 1, 0]);
    const job = await core.queue.getJob(jobId);
    expect(job?.data.providerIndex).toBe(1);
    expect(job?.attemptsMade).toBe(0);
  });

  it('after faults on the cheapest it fails over by price, and a worker that takes the job over stays on that provider', async () => {
    prefix = testPrefix('routing');
    const first = await coreFromSettings();
    const a = providers({ fal: [new ProviderUnavailable('fal', 'boom', 500), new ProviderUnavailable('fal', 'boom', 502)], bfl: [{ hangMs: 10_000 }] });
    const delivery = new MemoryDelivery();
    const worker = first.createWorker({ providers: [a.replicate, a.fal, a.bfl], deliveries: { discord: delivery }, policy });
    await worker.start();
    const jobId = await submit(first, 'fault');
    // Two faults on fal (its attempts), then bfl, the next cheapest, which is still generating when this worker stops.
    await delivery.until(() => a.bfl.calls.length === 1, 10_000);
    expect(a.fal.calls).toHaveLength(2);
    expect(a.replicate.calls).toHaveLength(0);
    await worker.close(0);
    expect((await first.queue.getJob(jobId))?.data).toMatchObject({ providerIndex: 1, checkpoint: { provider: 'bfl', id: 'bfl-1' } });

    // Another worker process, same settings, its own provider instances: index 1 is bfl there too, and it resumes
    // the prediction the first one started instead of paying fal or replicate for another.
    const second = await coreFromSettings();
    const b = providers();
    await second.createWorker({ providers: [b.replicate, b.fal, b.bfl], deliveries: { discord: delivery }, policy }).start();
    await delivery.until(() => delivery.recorded.length > 0, 10_000);
    expect(b.bfl.calls.map((c) => c.resumed)).toEqual(['bfl-1']);
    expect([b.fal.calls.length, b.replicate.calls.length]).toEqual([0, 0]);
    expect(delivery.delivered).toHaveLength(1);
    expect(delivery.delivered[0]!.image).toMatchObject({ provider: 'bfl', predictionId: 'bfl-1' });
  }, 30_000);
});
