import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ImageInvalid, UnsupportedByProvider } from '../../../src/core/errors.js';
import { CATALOGUE, type PriceRule } from '../../../src/core/catalogue/index.js';
import { costOf, toUsd, type Size } from '../../../src/core/prices.js';
import { BflProvider } from '../../../src/core/providers/bfl/bfl-provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { BflFake } from '../../fakes/bfl-fake.js';
import { References } from './references.js';

/**
 * FLUX.2 and Kontext on BFL through real HTTP: each reference image sent as bare base64 in `input_image`,
 * `input_image_2` … (links fetched by the bot through the guarded downloader), and the cost BFL reports (credits at
 * $0.01) returned as `costUsd`, equal to what the catalogue's price rule says.
 */

let fake: BflFake;
let refs: References;

beforeAll(async () => {
  refs = await References.start();
});
afterAll(() => refs.close());
beforeEach(async () => {
  fake = await BflFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(allowPrivateDownloads = true): BflProvider {
  return new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: 5_000, timeoutMs: 15_000, allowPrivateDownloads });
}

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-2-pro', seed: 7, ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const submitted = () => fake.calls.filter((c) => c.method === 'POST');
const body = () => submitted()[0]!.body as Record<string, unknown>;
const onlyTask = () => [...fake.tasks.values()][0]!;
const bflPrice = (model: keyof typeof CATALOGUE): PriceRule => CATALOGUE[model].providers.bfl!.price;
const priced = (rule: PriceRule, output: Size, inputs: Size[] = []) => toUsd(costOf(rule, output, inputs));

describe('BFL: FLUX.2 and Kontext', () => {
  it('flux-2-pro from text alone: width/height, no reference field, and the reported cost of one megapixel', async () => {
    const image = await provider().generate(req({ output_format: 'jpg' }));
    expect(submitted()[0]!.path).toBe('/v1/flux-2-pro');
    expect(body()).toStrictEqual({ prompt: 'a lighthouse at dawn', width: 1024, height: 1024, safety_tolerance: 2, seed: 7, output_format: 'jpeg' });
    expect(image).toMatchObject({ provider: 'bfl', format: 'jpg', width: 1024, height: 1024 });
    expect(image.costUsd).toBeCloseTo(0.03, 10);
    expect(image.costUsd).toBeCloseTo(priced(bflPrice('flux-2-pro'), { width: 1024, height: 1024 }), 10);
  });

  it('flux-2-pro with two references: input_image and input_image_2 in order, bare base64 of the exact bytes; each input megapixel billed', async () => {
    const image = await provider().generate(req({ images: [refs.link, refs.dataUri], width: 1440, height: 1440 }));
    expect(body().input_image).toBe(refs.a.toString('base64'));
    expect(body().input_image_2).toBe(refs.b.toString('base64'));
    expect(Object.keys(body()).slice(0, 3)).toStrictEqual(['prompt', 'input_image', 'input_image_2']);
    const [a, b] = onlyTask().images;
    expect([a!.equals(refs.a), b!.equals(refs.b)]).toStrictEqual([true, true]);
    // 1440² is two megapixels, each small reference one: 3¢ + 1.5¢ × 3.
    const expected = priced(bflPrice('flux-2-pro'), { width: 1440, height: 1440 }, [
      { width: 96, height: 80 },
      { width: 72, height: 72 },
    ]);
    expect(expected).toBeCloseTo(0.075, 10);
    expect(image.costUsd).toBeCloseTo(expected, 10);
  });

  it('Kontext with one image: its endpoint, an aspect ratio and the flat price', async () => {
    const image = await provider().generate(req({ model: 'flux-kontext-max', images: [refs.dataUri], aspect_ratio: '16:9' }));
    expect(submitted()[0]!.path).toBe('/v1/flux-kontext-max');
    expect(body()).toMatchObject({ input_image: refs.b.toString('base64'), aspect_ratio: '16:9', safety_tolerance: 2, prompt_upsampling: false });
    expect(onlyTask().images[0]!.equals(refs.b)).toBe(true);
    expect(image).toMatchObject({ width: 1344, height: 768 });
    expect(image.costUsd).toBeCloseTo(priced(bflPrice('flux-kontext-max'), { width: 1344, height: 768 }), 10);
  });

  it('ultra with raw mode', async () => {
    await provider().generate(req({ model: 'flux-1.1-pro-ultra', raw: true }));
    expect(body()).toMatchObject({ raw: true, aspect_ratio: '16:9' });
  });

  it('a resumed task reports its cost from the result answer', async () => {
    const task = fake.createTask({ endpoint: 'flux-2-max', body: { width: 1024, height: 1024 } });
    const image = await provider().generate(req({ model: 'flux-2-max' }), { resume: { provider: 'bfl', id: task.id, pollUrl: task.pollingUrl } });
    expect(submitted()).toHaveLength(0);
    expect(image.costUsd).toBeCloseTo(priced(bflPrice('flux-2-max'), { width: 1024, height: 1024 }), 10);
  });

  it('refuses flex’s ninth and tenth reference (BFL takes eight) before fetching or submitting, naming images', async () => {
    const before = refs.downloads;
    const err = await provider()
      .generate(req({ model: 'flux-2-flex', images: Array.from({ length: 10 }, () => refs.link) }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect((err as UnsupportedByProvider).field).toBe('images');
    expect(fake.calls).toHaveLength(0);
    expect(refs.downloads).toBe(before);
  });

  it('refuses a reference link to a private address unless allowed, before submitting', async () => {
    const err = await provider(false)
      .generate(req({ images: [refs.dataUri, refs.link] }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageInvalid);
    expect(fake.created).toBe(0);
  });
});
