import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { ContentModerated, ProviderUnavailable } from '../../../src/core/errors.js';
import { guildKey, userKey, type Requester } from '../../../src/core/ports.js';
import type { GenerateOptions, GeneratedImage } from '../../../src/core/providers/provider.js';
import { gallerySeed, type FluxRequest } from '../../../src/core/request.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/core/queue/retry-policy.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider, type Step } from '../../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

const view = (p: Requester) => core.admin.userView(userKey(p), guildKey(p));
const FAST_RETRIES = { ...DEFAULT_RETRY_POLICY, baseBackoffMs: 20, attemptsPerProvider: 3 };

/** A scripted provider whose steps are chosen per image (by the seed the worker gives each image of the gallery). */
class PerImageProvider extends ScriptedProvider {
  constructor(private readonly plan: (request: FluxRequest, call: number) => Step) {
    super('replicate');
  }
  override async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const step = this.plan(request, this.calls.length);
    if (step instanceof Error) {
      this.calls.push({ request, resumed: options.resume?.id, at: Date.now() });
      throw step;
    }
    if (step !== 'ok') await new Promise((resolve) => setTimeout(resolve, step.hangMs));
    return super.generate(request, options);
  }
}

/** A provider that makes a gallery in one call (as fal's `num_images`): counts its calls and the images each made. */
class BatchProvider extends ScriptedProvider {
  readonly batches: FluxRequest[] = [];
  makesMany(request: FluxRequest): boolean {
    return (request.count ?? 1) > 1;
  }
  async generateMany(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage[]> {
    this.batches.push(request);
    const images: GeneratedImage[] = [];
    for (let i = 0; i < (request.count ?? 1); i++) {
      const { count: _count, ...one } = request;
      images.push(await super.generate({ ...one, seed: request.seed + i }, i === 0 ? options : { ...options, checkpoint: async () => undefined }));
    }
    return images;
  }
}

async function start(provider: ScriptedProvider, delivery = new MemoryDelivery()) {
  await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, policy: FAST_RETRIES }).start();
  return delivery;
}

describe('galleries: count images made together, delivered as one message', () => {
  it('count 4: four images with their own seeds, one message, four images of quota, the record says four', async () => {
    core = await makeCore();
    const provider = new ScriptedProvider('replicate');
    const delivery = await start(provider);
    const alice = person('alice');
    const request = fluxRequest({ count: 4, seed: 100 });
    expect(request.count).toBe(4);

    const submitted = await core.service.submit(request, alice, target, { dedupeKey: 'g-1' });
    expect(submitted.status).toBe('queued');
    expect((await view(alice)).usedToday).toBe(4); // reserved together at admission
    await delivery.until(() => delivery.recorded.length === 1);

    expect(delivery.delivered).toHaveLength(1);
    const posted = delivery.delivered[0]!;
    expect(posted.images).toHaveLength(4);
    expect(posted.image).toBe(posted.images![0]);
    expect(posted.shortfall).toBeUndefined();
    expect(provider.calls.map((c) => c.request.seed).sort((a, b) => a - b)).toEqual([100, 101, 102, 103]);
    expect(provider.calls.every((c) => c.request.count === undefined)).toBe(true); // one image per call
    expect(new Set(posted.images!.map((i) => i.predictionId)).size).toBe(4);
    expect(posted.images!.map((i) => i.seed)).toEqual([0, 1, 2, 3].map((i) => gallerySeed(request, i)));

    await expect.poll(async () => (await view(alice)).inFlight).toBe(0);
    expect((await view(alice)).usedToday).toBe(4);
    const record = await core.records.find('discord', posted.message.messageId);
    expect(record?.images).toBe(4);
    expect(record?.request.count).toBe(4);
    const jobId = submitted.status === 'queued' ? submitted.jobId : '';
    for (const id of [jobId, `${jobId}.1`, `${jobId}.2`, `${jobId}.3`]) expect(await core.stash.get(id)).toBeNull();
  });

  it('a gallery that does not fit the day is refused whole, saying how many are left, and charges nothing', async () => {
    core = await makeCore({ quotas: { dailyPerUser: 5, concurrentPerUser: 5, dailyPerGuild: 100, concurrentPerGuild: 50 } });
    const bob = person('bob');
    await core.service.submit(fluxRequest({ count: 3 }), bob, target, { dedupeKey: 'g-a' });
    expect((await view(bob)).usedToday).toBe(3);
    const refused = await core.service.submit(fluxRequest({ count: 4 }), bob, target, { dedupeKey: 'g-b' });
    expect(refused).toMatchObject({ status: 'refused', reason: 'user_daily', limit: 5, used: 3, asked: 4 });
    expect((await view(bob)).usedToday).toBe(3);
    expect(await core.queue.getJobCounts('waiting', 'prioritized')).toMatchObject({ prioritized: 1 });
    // Two still fit.
    expect((await core.service.submit(fluxRequest({ count: 2 }), bob, target, { dedupeKey: 'g-c' })).status).toBe('queued');
    expect((await view(bob)).usedToday).toBe(5);
  });

  it('an image refused for good: the others are delivered and charged, the missing one given back, the message says why', async () => {
    core = await makeCore();
    const request = fluxRequest({ count: 4, seed: 500 });
    // Image 3 (seed 502) is moderated every time: not retried, no other provider.
    const provider = new PerImageProvider((r) => (r.seed === 502 ? new ContentModerated('replicate', 'flagged') : 'ok'));
    const delivery = await start(provider);
    const carol = person('carol');
    await core.service.submit(request, carol, target, { dedupeKey: 'g-short' });
    await delivery.until(() => delivery.recorded.length === 1);

    const posted = delivery.delivered[0]!;
    expect(posted.images!.map((i) => i.seed)).toEqual([500, 501, 503]);
    expect(posted.shortfall).toMatch(/./);
    expect(delivery.failures).toHaveLength(0);
    await expect.poll(async () => (await view(carol)).inFlight).toBe(0);
    expect((await view(carol)).usedToday).toBe(3);
    expect((await core.records.find('discord', posted.message.messageId))?.images).toBe(3);
  });

  it('a failed image is retried alone: the images already made are not made again (each is checkpointed on its own)', async () => {
    core = await makeCore();
    let failures = 0;
    // Image 2 (seed 11) fails twice with a fault that may pass, then works.
    const provider = new PerImageProvider((r) => (r.seed === 11 && failures++ < 2 ? new ProviderUnavailable('replicate', 'a 503', 503) : 'ok'));
    const delivery = await start(provider);
    const dave = person('dave');
    await core.service.submit(fluxRequest({ count: 3, seed: 10 }), dave, target, { dedupeKey: 'g-retry' });
    await delivery.until(() => delivery.recorded.length === 1);

    const seeds = provider.calls.map((c) => c.request.seed);
    expect(seeds.filter((s) => s === 10)).toHaveLength(1);
    expect(seeds.filter((s) => s === 12)).toHaveLength(1);
    expect(seeds.filter((s) => s === 11)).toHaveLength(3);
    expect(delivery.delivered[0]!.images!.map((i) => i.seed)).toEqual([10, 11, 12]);
    await expect.poll(async () => (await view(dave)).inFlight).toBe(0);
    expect((await view(dave)).usedToday).toBe(3);
  });

  it('every image failing for good ends the gallery with nothing charged, like one image', async () => {
    core = await makeCore();
    const provider = new PerImageProvider(() => new ContentModerated('replicate', 'flagged'));
    const delivery = await start(provider);
    const erin = person('erin');
    await core.service.submit(fluxRequest({ count: 2 }), erin, target, { dedupeKey: 'g-none' });
    await delivery.until(() => delivery.failures.length === 1);
    expect(delivery.delivered).toHaveLength(0);
    await expect.poll(async () => (await view(erin)).inFlight).toBe(0);
    expect((await view(erin)).usedToday).toBe(0);
  });

  it('a provider that makes several in one call (fal num_images) is called once for the gallery', async () => {
    core = await makeCore();
    const provider = new BatchProvider('fal');
    const delivery = await start(provider);
    const frank = person('frank');
    await core.service.submit(fluxRequest({ count: 4, seed: 7 }), frank, target, { dedupeKey: 'g-batch' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(provider.batches).toHaveLength(1);
    expect(provider.batches[0]).toMatchObject({ count: 4, seed: 7 });
    expect(delivery.delivered[0]!.images).toHaveLength(4);
    await expect.poll(async () => (await view(frank)).inFlight).toBe(0);
    expect((await view(frank)).usedToday).toBe(4);
  });

  it('canceled after some images exist: those are delivered and charged, the rest given back', async () => {
    core = await makeCore();
    // Images 1 and 2 are quick; 3 and 4 take long enough to cancel.
    const provider = new ScriptedProvider('replicate', ['ok', 'ok', { hangMs: 20_000 }, { hangMs: 20_000 }]);
    const delivery = await start(provider);
    const gina = person('gina');
    const submitted = await core.service.submit(fluxRequest({ count: 4 }), gina, target, { dedupeKey: 'g-cancel' });
    const jobId = submitted.status === 'queued' ? submitted.jobId : '';
    await expect.poll(async () => (await core.queue.getJob(jobId))?.data.parts?.filter((p) => p.stored).length ?? 0, { timeout: 10_000 }).toBe(2);
    expect(await core.service.cancel(jobId, gina)).toEqual({ status: 'canceling' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(delivery.delivered[0]!.images).toHaveLength(2);
    expect(delivery.delivered[0]!.shortfall).toMatch(/cancel/i);
    await expect.poll(async () => (await view(gina)).inFlight).toBe(0);
    expect((await view(gina)).usedToday).toBe(2);
  });

  it('money: the estimate of all the images is reserved, and the gallery settles to what its images cost', async () => {
    core = await makeCore({ pricedProviders: ['replicate'] });
    const provider = new ScriptedProvider('replicate');
    const delivery = await start(provider);
    const hank = person('hank');
    // flux-pro on replicate: $0.055 an image (the price table), so four reserve $0.22.
    await core.service.submit(fluxRequest({ count: 4 }), hank, target, { dedupeKey: 'g-money' });
    expect((await view(hank)).spentToday).toBe(4 * 55_000);
    await delivery.until(() => delivery.recorded.length === 1);
    const posted = delivery.delivered[0]!;
    expect(posted.costMicros).toBe(4 * 55_000);
    await expect.poll(async () => (await view(hank)).inFlight).toBe(0);
    const record = await core.records.find('discord', posted.message.messageId);
    expect(record?.costMicros).toBe(4 * 55_000);
    expect((await view(hank)).spentToday).toBe(4 * 55_000);
  });

  it('money: a gallery that ends short settles to the images made', async () => {
    core = await makeCore({ pricedProviders: ['replicate'] });
    const provider = new PerImageProvider((r) => (r.seed === 1 ? new ContentModerated('replicate', 'flagged') : 'ok'));
    const delivery = await start(provider);
    const ivy = person('ivy');
    await core.service.submit(fluxRequest({ count: 2, seed: 0 }), ivy, target, { dedupeKey: 'g-money-short' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(delivery.delivered[0]!.costMicros).toBe(55_000);
    await expect.poll(async () => (await view(ivy)).inFlight).toBe(0);
    expect((await view(ivy)).spentToday).toBe(55_000);
  });
});
