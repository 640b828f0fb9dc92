import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FluxError, UnsupportedByProvider } from '../../../src/core/errors.js';
import { withMemberLinksGuarded } from '../../../src/core/providers/operator-network.js';
import { REPLICATE_MAX_DATA_URI_CHARS, ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { dataUriBytes, noisePng, References } from './references.js';

/**
 * FLUX.2 and Kontext on Replicate through real HTTP: the model paths, each model's input as its schema takes it (the
 * fake refuses unknown fields), and reference images arriving in order as the exact bytes given.
 */

let fake: ReplicateFake;
let refs: References;

beforeAll(async () => {
  refs = await References.start();
});
afterAll(() => refs.close());
beforeEach(async () => {
  fake = await ReplicateFake.start({ latencyMs: 30 });
});
afterEach(async () => {
  await fake.close();
});

function provider(): ReplicateProvider {
  return new ReplicateProvider({
    baseUrl: fake.baseUrl,
    token: fake.token,
    pollIntervalMs: 20,
    requestTimeoutMs: 5_000,
    timeoutMs: 15_000,
    preferWaitSeconds: 0,
    allowPrivateDownloads: true,
  });
}

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-2-pro', seed: 7, ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const creates = () => fake.callsTo('POST', /^\/models\/[^/]+\/[^/]+\/predictions$/);
const sentInput = () => (creates()[0]?.body as { input: Record<string, unknown> }).input;

describe('Replicate: FLUX.2 and Kontext', () => {
  it('flux-2-pro from text alone: its own model path, no reference field, the size it renders, no reported cost', async () => {
    const image = await provider().generate(req({ aspect_ratio: '16:9' }));
    expect(creates()[0]!.path).toBe('/v1/models/black-forest-labs/flux-2-pro/predictions');
    expect(sentInput()).toStrictEqual({ prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', safety_tolerance: 2, seed: 7, output_format: 'webp', output_quality: 80 });
    expect(image).toMatchObject({ provider: 'replicate', format: 'webp', width: 1360, height: 768 });
    expect(image.costUsd).toBeUndefined();
  });

  it('flux-2-pro with two references: input_images in order, a link as is and a data URI as given, read as the exact bytes', async () => {
    await provider().generate(req({ images: [refs.link, refs.dataUri] }));
    expect(sentInput().input_images).toStrictEqual([refs.link, refs.dataUri]);
    const [prediction] = fake.all();
    expect(prediction!.images).toHaveLength(2);
    expect(prediction!.images[0]!.equals(refs.a)).toBe(true);
    expect(prediction!.images[1]!.equals(refs.b)).toBe(true);
  });

  it('Kontext with one image: input_image, asked as png (it writes no webp) and converted', async () => {
    const image = await provider().generate(req({ model: 'flux-kontext-pro', images: [refs.dataUri], aspect_ratio: '4:3' }));
    expect(creates()[0]!.path).toBe('/v1/models/black-forest-labs/flux-kontext-pro/predictions');
    expect(sentInput()).toMatchObject({ input_image: refs.dataUri, aspect_ratio: '4:3', output_format: 'png', prompt_upsampling: false });
    expect(fake.all()[0]!.images[0]!.equals(refs.b)).toBe(true);
    expect(image).toMatchObject({ format: 'webp', width: 1152, height: 896 });
  });

  it('klein takes its references as `images` and answers an array', async () => {
    const image = await provider().generate(req({ model: 'flux-2-klein-4b', images: [refs.link] }));
    expect(sentInput().images).toStrictEqual([refs.link]);
    expect(Array.isArray(fake.all()[0]!.output)).toBe(true);
    expect(image.width).toBe(1024);
  });

  it('ultra with raw mode', async () => {
    await provider().generate(req({ model: 'flux-1.1-pro-ultra', raw: true, output_format: 'jpg' }));
    expect(sentInput()).toMatchObject({ raw: true, output_format: 'jpg' });
  });

  it('a data URI past Replicate’s inline size is re-encoded to fit, not dropped; the one that fits stays as given', async () => {
    const large = `data:image/png;base64,${(await noisePng(700)).toString('base64')}`;
    expect(large.length).toBeGreaterThan(REPLICATE_MAX_DATA_URI_CHARS);
    await provider().generate(req({ images: [large, refs.dataUri] }));
    const [fitted, kept] = sentInput().input_images as string[];
    expect(fitted!.length).toBeLessThanOrEqual(REPLICATE_MAX_DATA_URI_CHARS);
    expect(fitted).toMatch(/^data:image\/jpeg;base64,/);
    const meta = await sharp(dataUriBytes(fitted!)).metadata();
    expect(meta.width).toBe(meta.height);
    expect(kept).toBe(refs.dataUri);
    expect(fake.all()[0]!.images[1]!.equals(refs.b)).toBe(true);
  });

  it('refuses more references than the model takes on Replicate (Kontext: one) before calling, naming images', async () => {
    const err = await provider()
      .generate(req({ model: 'flux-kontext-max', images: [refs.dataUri, refs.dataUri] }))
      .catch((e: unknown) => e as FluxError);
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect((err as UnsupportedByProvider).field).toBe('images');
    expect(fake.calls).toHaveLength(0);
  });

  it('on a private network every reference link is fetched by the bot and sent as data, in order, as the exact bytes', async () => {
    const guarded = withMemberLinksGuarded(provider(), { baseUrl: fake.baseUrl, guard: { allowPrivate: true } });
    const before = refs.downloads;
    await guarded.generate(req({ images: [refs.dataUri, refs.link] }));
    const sent = sentInput().input_images as string[];
    expect(sent[0]).toBe(refs.dataUri);
    expect(sent[1]).toBe(`data:image/png;base64,${refs.a.toString('base64')}`);
    // Only the bot downloaded the link; Replicate got bytes.
    expect(refs.downloads - before).toBe(1);
    const [first, second] = fake.all()[0]!.images;
    expect([first!.equals(refs.b), second!.equals(refs.a)]).toStrictEqual([true, true]);
  });

  it('on a private network a request the model cannot take is refused before any link is fetched', async () => {
    const guarded = withMemberLinksGuarded(provider(), { baseUrl: fake.baseUrl, guard: { allowPrivate: true } });
    const before = refs.downloads;
    const err = await guarded.generate(req({ model: 'flux-kontext-pro', images: [refs.link, refs.link] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect(refs.downloads).toBe(before);
  });
});
