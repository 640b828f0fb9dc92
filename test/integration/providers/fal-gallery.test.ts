import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxError, GenerationCanceled, GenerationFailed } from '../../../src/core/errors.js';
import { inspectImage } from '../../../src/core/images/image.js';
import { FalProvider } from '../../../src/core/providers/fal/fal-provider.js';
import { createProvider } from '../../../src/core/providers/registry.js';
import type { GeneratedImage, ProviderCheckpoint } from '../../../src/core/providers/provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { FAL_IMAGE_COLOURS, FalFake } from '../../fakes/fal-fake.js';
import { makeImage } from '../../fakes/fake-server.js';

/**
 * A gallery made by fal in one call (`num_images`), through real HTTP against the fake: one submit and one checkpoint
 * for all the images, every image downloaded in fal's order, a resumed checkpoint reading the same images, and the
 * endpoints without `num_images` (FLUX.2 pro/max/flex) left to the worker's one call per image.
 */

let fake: FalFake;

beforeEach(async () => {
  fake = await FalFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(): FalProvider {
  return new FalProvider({ key: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: 5_000, timeoutMs: 15_000, allowPrivateDownloads: true });
}

function req(input: Partial<FluxRequestInput> = {}): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-1.1-pro', seed: 7, ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const submits = () => fake.calls.filter((c) => c.method === 'POST');
const downloads = () => fake.callsTo('GET', /^\/files\//).map((c) => c.path);

/** The colour at the image's centre, as `#rrggbb` rounded to the fake's palette (lossy formats shift it a little). */
async function colourOf(image: GeneratedImage): Promise<string> {
  const { data, info } = await sharp(image.bytes).raw().toBuffer({ resolveWithObject: true });
  const at = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  const [r, g, b] = [data[at]!, data[at + 1]!, data[at + 2]!];
  const distance = (hex: string) => {
    const [hr, hg, hb] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
    return Math.abs(hr - r) + Math.abs(hg - g) + Math.abs(hb - b);
  };
  const nearest = [...FAL_IMAGE_COLOURS].sort((a, z) => distance(a) - distance(z))[0]!;
  expect(distance(nearest), `pixel ${r},${g},${b} is one of the fake's colours`).toBeLessThan(30);
  return nearest;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FluxError);
  return err as FluxError;
}

describe('fal: a gallery in one call', () => {
  it('a gallery of 4 on FLUX1.1 [pro] is one submit with num_images 4, one checkpoint, four distinct images in order', async () => {
    const checkpoints: ProviderCheckpoint[] = [];
    let slots = 0;
    const images = await provider().generateMany(req({ count: 4 }), { checkpoint: (c) => void checkpoints.push(c), imageSlot: async () => void (slots += 1) });

    expect(submits()).toHaveLength(1);
    expect(submits()[0]!.path).toBe('/fal-ai/flux-pro/v1.1');
    expect(submits()[0]!.body).toMatchObject({ num_images: 4, seed: 7, image_size: { width: 1024, height: 1024 } });
    expect(fake.created).toBe(1);
    const [request] = [...fake.requests.values()];
    expect(request!.numImages).toBe(4);
    expect(checkpoints).toStrictEqual([{ provider: 'fal', id: request!.id, modelId: 'fal-ai/flux-pro/v1.1' }]);
    expect(slots).toBe(1);

    expect(images).toHaveLength(4);
    expect(await Promise.all(images.map(colourOf))).toStrictEqual([...FAL_IMAGE_COLOURS]);
    for (const image of images) {
      expect(image).toMatchObject({ provider: 'fal', predictionId: request!.id, format: 'webp', width: 1024, height: 1024, nsfw: false });
      // fal reports one seed for the call, so every image carries it.
      expect(image.seed).toBe(7);
      expect((await inspectImage(image.bytes)).format).toBe('webp');
    }
    expect(new Set(images.map((i) => i.bytes.toString('base64'))).size).toBe(4);
    expect(downloads()).toStrictEqual([0, 1, 2, 3].map((i) => `/files/${request!.id}${i === 0 ? '' : `-${i}`}.png`));
  });

  it('a resumed checkpoint yields the same four images without a new submit', async () => {
    const checkpoints: ProviderCheckpoint[] = [];
    const first = await provider().generateMany(req({ count: 4, output_format: 'png' }), { checkpoint: (c) => void checkpoints.push(c) });
    const resumed = await provider().generateMany(req({ count: 4, output_format: 'png' }), { resume: checkpoints[0]! });

    expect(fake.created).toBe(1);
    expect(submits()).toHaveLength(1);
    expect(resumed.map((i) => i.predictionId)).toStrictEqual(first.map((i) => i.predictionId));
    expect(resumed.map((image, i) => image.bytes.equals(first[i]!.bytes))).toStrictEqual([true, true, true, true]);
    expect(await Promise.all(resumed.map(colourOf))).toStrictEqual([...FAL_IMAGE_COLOURS]);
  });

  it('a result with fewer images than asked fails clearly, before downloading any', async () => {
    fake.failNext('short');
    const err = await failure(provider().generateMany(req({ count: 4 })));
    expect(err).toBeInstanceOf(GenerationFailed);
    expect(err.message).toBe('fal generation failed: the result had 3 of the 4 images asked for');
    expect(err.retryable).toBe(false);
    expect(downloads()).toHaveLength(0);
  });

  it('flags nsfw per image from has_nsfw_concepts[i]', async () => {
    fake.nsfwIndexes = [2];
    const images = await provider().generateMany(req({ count: 3 }));
    expect(images.map((i) => i.nsfw)).toStrictEqual([false, false, true]);
    expect(submits()[0]!.body).toMatchObject({ num_images: 3 });
  });

  it('Kontext edits into a gallery in one call, its reference image sent once', async () => {
    const reference = `data:image/png;base64,${(await makeImage(64, 64, 'png', '#777777')).toString('base64')}`;
    const images = await provider().generateMany(req({ model: 'flux-kontext-pro', images: [reference], count: 2, output_format: 'png' }));
    expect(submits()).toHaveLength(1);
    expect(submits()[0]!.path).toBe('/fal-ai/flux-pro/kontext');
    expect(submits()[0]!.body).toMatchObject({ num_images: 2, image_url: reference });
    expect(await Promise.all(images.map(colourOf))).toStrictEqual(FAL_IMAGE_COLOURS.slice(0, 2));
  });

  it('on abort, cancels the one request at fal', async () => {
    fake.failNext('hang');
    const controller = new AbortController();
    const pending = provider().generateMany(req({ count: 4 }), { signal: controller.signal });
    await fake.waitFor((c) => c.path.endsWith('/status'));
    controller.abort();
    expect(await failure(pending)).toBeInstanceOf(GenerationCanceled);
    expect(fake.canceled).toBe(1);
    expect(fake.created).toBe(1);
  });
});

describe('fal: which galleries are one call', () => {
  it('makesMany: a gallery on an endpoint with num_images, not FLUX.2 pro/max/flex, not one image', () => {
    const fal = provider();
    expect(fal.makesMany(req({ count: 4 }))).toBe(true);
    expect(fal.makesMany(req({ model: 'flux-schnell', count: 2 }))).toBe(true);
    expect(fal.makesMany(req({ model: 'flux-2-klein-4b', count: 3 }))).toBe(true);
    expect(fal.makesMany(req())).toBe(false);
    expect(fal.makesMany(req({ count: 1 }))).toBe(false);
    expect(fal.makesMany(req({ model: 'flux-2-pro', count: 4 }))).toBe(false);
    expect(fal.makesMany(req({ model: 'flux-2-max', count: 4 }))).toBe(false);
    expect(fal.makesMany(req({ model: 'flux-2-flex', count: 4, images: ['https://example.com/ref.png'] }))).toBe(false);
    // fal does not serve FLUX.2 [dev]: never one call (the worker's failover refuses it elsewhere).
    expect(fal.makesMany(req({ model: 'flux-2-dev', count: 4 }))).toBe(false);
  });

  it('generateMany refuses a gallery fal cannot make in one call, calling nothing', async () => {
    await expect(provider().generateMany(req({ model: 'flux-2-pro', count: 4 }))).rejects.toThrow(/ask makesMany first/);
    expect(fake.calls).toHaveLength(0);
  });

  it('generate makes one image of a gallery request, num_images not sent, on FLUX.1 and FLUX.2 alike', async () => {
    const one = await provider().generate(req({ count: 4 }));
    const flux2 = await provider().generate(req({ model: 'flux-2-pro', count: 4 }));
    expect([one.provider, flux2.provider]).toStrictEqual(['fal', 'fal']);
    expect(submits().map((c) => c.body)).not.toContainEqual(expect.objectContaining({ num_images: expect.anything() }));
    expect([...fake.requests.values()].map((r) => r.numImages)).toStrictEqual([1, 1]);
    expect(downloads()).toHaveLength(2);
  });

  it('the registry’s fal (wrapped for members’ links) keeps makesMany and generateMany', async () => {
    const fal = createProvider('fal', { PROVIDERS: ['fal'], FAL_KEY: fake.key, FAL_QUEUE_URL: fake.url, REPLICATE_API_URL: 'https://api.replicate.com/v1', BFL_API_URL: 'https://api.bfl.ai/v1' }, { pollIntervalMs: 20 });
    expect(fal).not.toBeInstanceOf(FalProvider);
    expect(fal.makesMany?.(req({ count: 2 }))).toBe(true);
    expect(fal.makesMany?.(req({ model: 'flux-2-pro', count: 2 }))).toBe(false);
    const images = await fal.generateMany!(req({ count: 2 }));
    expect(images).toHaveLength(2);
    expect(submits()).toHaveLength(1);
    expect(submits()[0]!.body).toMatchObject({ num_images: 2 });
  });
});
