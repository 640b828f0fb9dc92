import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { BflProvider } from '../../../src/core/providers/bfl/bfl-provider.js';
import type { ImageProvider } from '../../../src/core/providers/provider.js';
import { ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import type { RetryPolicy } from '../../../src/core/queue/retry-policy.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { BflFake } from '../../fakes/bfl-fake.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { dropPrefix, makeCore, person, target } from '../../helpers/core.js';
import { makeImage } from '../../fakes/fake-server.js';

/**
 * A model × field one provider cannot express moves the job to the next provider, through the worker's own failover
 * (real Redis, real HTTP to the fakes): the refusing provider is never called over HTTP, the next one serves the
 * request with every reference image, in order, as the bytes given.
 */

const policy: RetryPolicy = { attemptsPerProvider: 1, maxRateLimitWaits: 1, baseBackoffMs: 20, maxBackoffMs: 100, followPredictionMs: 0 };

let core: FluxbotCore | undefined;
let replicate: ReplicateFake | undefined;
let bfl: BflFake | undefined;

afterEach(async () => {
  if (core) {
    await core.close(1000);
    await dropPrefix(core.prefix);
  }
  await replicate?.close();
  await bfl?.close();
  core = undefined;
});

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'swap the two hats', seed: 11, output_format: 'png', ...input });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

/** Runs one job through a worker with these providers, in this order; returns what was delivered or failed. */
async function run(providers: ImageProvider[], request: FluxRequest) {
  core = await makeCore();
  const delivery = new MemoryDelivery();
  await core.createWorker({ providers, deliveries: { discord: delivery }, policy }).start();
  const submitted = await core.service.submit(request, person('alice'), target, { dedupeKey: 'failover' });
  if (submitted.status !== 'queued') throw new Error(`not queued: ${JSON.stringify(submitted)}`);
  await delivery.until(() => delivery.delivered.length + delivery.failures.length > 0, 20_000);
  return delivery;
}

const replicateProvider = (fake: ReplicateFake) =>
  new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, pollIntervalMs: 20, preferWaitSeconds: 0, allowPrivateDownloads: true, timeoutMs: 15_000 });
const bflProvider = (fake: BflFake) => new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 20, timeoutMs: 15_000 });

async function pictures(count: number): Promise<Buffer[]> {
  const colours = ['#aa0000', '#00aa00', '#0000aa', '#aaaa00', '#00aaaa', '#aa00aa', '#777777', '#222222', '#dddddd', '#aa5500'];
  return Promise.all(Array.from({ length: count }, (_, i) => makeImage(64 + i, 64, 'png', colours[i])));
}
const asDataUri = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

describe('failover on what a provider cannot express', () => {
  it('Kontext with two references: Replicate takes one image, so BFL (four) serves it', async () => {
    replicate = await ReplicateFake.start({ latencyMs: 20 });
    bfl = await BflFake.start({ latencyMs: 20 });
    const [first, second] = await pictures(2);
    const delivery = await run([replicateProvider(replicate), bflProvider(bfl)], req({ model: 'flux-kontext-pro', images: [asDataUri(first!), asDataUri(second!)] }));
    expect(delivery.failures).toStrictEqual([]);
    expect(delivery.delivered[0]!.image.provider).toBe('bfl');
    expect(replicate.calls).toHaveLength(0);
    const [task] = [...bfl.tasks.values()];
    expect(task!.endpoint).toBe('flux-kontext-pro');
    expect([task!.images[0]!.equals(first!), task!.images[1]!.equals(second!)]).toStrictEqual([true, true]);
  });

  it('FLUX.2 [flex] with ten references: BFL takes eight, so Replicate (ten) serves it, in order', async () => {
    replicate = await ReplicateFake.start({ latencyMs: 20 });
    bfl = await BflFake.start({ latencyMs: 20 });
    const ten = await pictures(10);
    const delivery = await run([bflProvider(bfl), replicateProvider(replicate)], req({ model: 'flux-2-flex', images: ten.map(asDataUri) }));
    expect(delivery.failures).toStrictEqual([]);
    expect(delivery.delivered[0]!.image.provider).toBe('replicate');
    expect(bfl.calls).toHaveLength(0);
    const [prediction] = replicate.all();
    expect(prediction!.model).toBe('black-forest-labs/flux-2-flex');
    expect(prediction!.images.map((bytes, i) => bytes.equals(ten[i]!))).toStrictEqual(ten.map(() => true));
  });
});
