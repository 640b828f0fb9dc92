import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedByProvider } from '../../../src/core/errors.js';
import { FAL_MAX_DATA_URI_CHARS, FalProvider } from '../../../src/core/providers/fal/fal-provider.js';
import type { ProviderCheckpoint } from '../../../src/core/providers/provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { FalFake } from '../../fakes/fal-fake.js';
import { noisePng, References } from './references.js';

/**
 * FLUX.2 and Kontext on fal through real HTTP: the text-to-image app, its `/edit` variant when there are references
 * (status and result still under the app id), Kontext's single `image_url`, and the fake reading each reference as
 * fal would. The fake refuses fields an endpoint's schema does not list.
 */

let fake: FalFake;
let refs: References;

beforeAll(async () => {
  refs = await References.start();
});
afterAll(() => refs.close());
beforeEach(async () => {
  fake = await FalFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(): FalProvider {
  return new FalProvider({ key: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: 5_000, timeoutMs: 15_000, allowPrivateDownloads: true });
}

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-2-pro', seed: 7, ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const submits = () => fake.calls.filter((c) => c.method === 'POST');
const statusPolls = () => fake.callsTo('GET', /\/requests\/[^/]+\/status$/);
const onlyRequest = () => [...fake.requests.values()][0]!;

describe('fal: FLUX.2 and Kontext', () => {
  it('flux-2-pro from text alone: the text-to-image app with its exact size and no num_images, no reported cost', async () => {
    const image = await provider().generate(req({ width: 1200, height: 800, output_format: 'png' }));
    expect(submits()[0]!.path).toBe('/fal-ai/flux-2-pro');
    expect(submits()[0]!.body).toStrictEqual({
      prompt: 'a lighthouse at dawn',
      seed: 7,
      output_format: 'png',
      image_size: { width: 1200, height: 800 },
      safety_tolerance: '2',
    });
    expect(image).toMatchObject({ provider: 'fal', format: 'png', width: 1200, height: 800 });
    expect(image.costUsd).toBeUndefined();
  });

  it('flux-2-pro with two references: the /edit variant, image_urls in order, each read as the exact bytes given', async () => {
    const checkpoints: ProviderCheckpoint[] = [];
    const image = await provider().generate(req({ images: [refs.link, refs.dataUri] }), { checkpoint: (c) => void checkpoints.push(c) });
    expect(submits()[0]!.path).toBe('/fal-ai/flux-2-pro/edit');
    expect((submits()[0]!.body as { image_urls: unknown }).image_urls).toStrictEqual([refs.link, refs.dataUri]);
    const [a, b] = onlyRequest().images;
    expect([a!.equals(refs.a), b!.equals(refs.b)]).toStrictEqual([true, true]);
    // Status and result live under the app id; the checkpoint keeps the variant it was submitted to.
    expect(statusPolls().every((c) => c.path.startsWith('/fal-ai/flux-2-pro/requests/'))).toBe(true);
    expect(checkpoints).toStrictEqual([{ provider: 'fal', id: image.predictionId, modelId: 'fal-ai/flux-2-pro/edit' }]);
  });

  it('Kontext with one image: its own endpoint, image_url and an aspect ratio', async () => {
    const image = await provider().generate(req({ model: 'flux-kontext-pro', images: [refs.link], aspect_ratio: '3:2' }));
    expect(submits()[0]!.path).toBe('/fal-ai/flux-pro/kontext');
    expect(submits()[0]!.body).toMatchObject({ image_url: refs.link, aspect_ratio: '3:2', safety_tolerance: '2', enhance_prompt: false });
    expect(onlyRequest().images[0]!.equals(refs.a)).toBe(true);
    expect(image).toMatchObject({ width: 1216, height: 832 });
  });

  it('ultra with raw mode', async () => {
    await provider().generate(req({ model: 'flux-1.1-pro-ultra', raw: true, aspect_ratio: '21:9' }));
    expect(submits()[0]!.path).toBe('/fal-ai/flux-pro/v1.1-ultra');
    expect(submits()[0]!.body).toMatchObject({ raw: true, aspect_ratio: '21:9' });
  });

  it('a data URI past the inline size is re-encoded to fit, the link beside it kept as is', async () => {
    const large = `data:image/png;base64,${(await noisePng(1300)).toString('base64')}`;
    expect(large.length).toBeGreaterThan(FAL_MAX_DATA_URI_CHARS);
    await provider().generate(req({ model: 'flux-2-flex', images: [refs.link, large] }));
    const [link, fitted] = (submits()[0]!.body as { image_urls: string[] }).image_urls;
    expect(link).toBe(refs.link);
    expect(fitted!.length).toBeLessThanOrEqual(FAL_MAX_DATA_URI_CHARS);
    expect(fitted).toMatch(/^data:image\/jpeg;base64,/);
    expect(onlyRequest().images).toHaveLength(2);
  });

  it('refuses references on an app without an edit variant (klein) before submitting, naming images', async () => {
    const err = await provider()
      .generate(req({ model: 'flux-2-klein-4b', images: [refs.link] }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect((err as UnsupportedByProvider).field).toBe('images');
    expect(fake.calls).toHaveLength(0);
  });
});
