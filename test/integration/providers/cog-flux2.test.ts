import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedByProvider } from '../../../src/core/errors.js';
import { CogProvider } from '../../../src/core/providers/cog/cog-provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { CogFake } from '../../fakes/cog-fake.js';
import { LinkHosts } from '../../helpers/link-hosts.js';
import { References } from './references.js';

/**
 * FLUX.2 on a Cog container through real HTTP. A container serves open weights ([dev], [klein]); the closed models
 * (FLUX.2 [pro], Kontext) are refused naming the model, so the failover list moves on. Reference images reach the
 * container only as `data:` URIs: a member's link is fetched by the bot through the guarded downloader.
 */

let fake: CogFake | undefined;
let refs: References;
let hosts: LinkHosts;
/** `images.test` resolves to the image host, trusted as a public address; nothing private is allowed. */
const guard = () => ({ lookup: hosts.dns, trustedAddresses: ['127.0.0.1'] });

beforeAll(async () => {
  refs = await References.start();
  hosts = await LinkHosts.start();
});
afterAll(async () => {
  await refs.close();
  await hosts.close();
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function container(model: FluxRequest['model']): Promise<CogProvider> {
  fake = await CogFake.start({ model, latencyMs: 20 });
  return new CogProvider({ baseUrl: fake.url, timeoutMs: 15_000, imagePromptGuard: guard() });
}

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-2-dev', seed: 7, ...input });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const sentInput = () => (fake!.callsTo('PUT', /^\/predictions\/[^/]+$/)[0]!.body as { input: Record<string, unknown> }).input;

describe('Cog: FLUX.2', () => {
  it('flux-2-dev from text alone: Replicate’s FLUX.2 input under the container, no reference field', async () => {
    const image = await (await container('flux-2-dev')).generate(req({ aspect_ratio: '3:2' }));
    expect(sentInput()).toStrictEqual({ prompt: 'a lighthouse at dawn', aspect_ratio: '3:2', seed: 7, output_format: 'webp', output_quality: 80 });
    expect(image).toMatchObject({ provider: 'cog', format: 'webp', width: 1248, height: 832 });
    expect(image.costUsd).toBeUndefined();
  });

  it('flux-2-dev with two references: both as data URIs in order, the link fetched by the bot, each the exact bytes', async () => {
    const link = `http://images.test:${hosts.port}/cat.png`;
    await (await container('flux-2-dev')).generate(req({ images: [link, refs.dataUri] }));
    expect(sentInput().input_images).toStrictEqual([`data:image/png;base64,${hosts.png.toString('base64')}`, refs.dataUri]);
    expect(fake!.fetchedLinks).toStrictEqual([]);
    const [received] = [...fake!.images.values()];
    expect([received![0]!.equals(hosts.png), received![1]!.equals(refs.b)]).toStrictEqual([true, true]);
  });

  it('flux-2-pro and Kontext are closed models no container serves: refused naming the model, nothing called', async () => {
    await container('flux-2-dev');
    // No `model` setting: the refusal comes from the catalogue, not from the container's configured model.
    for (const request of [req({ model: 'flux-2-pro' }), req({ model: 'flux-kontext-pro', images: [refs.dataUri] })]) {
      const err = await new CogProvider({ baseUrl: fake!.url }).generate(request).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedByProvider);
      expect((err as UnsupportedByProvider).field).toBe('model');
    }
    expect(fake!.calls).toHaveLength(0);
  });

  it('klein: more references than it takes are refused naming images, before any link is fetched', async () => {
    const before = hosts.images.calls.length;
    const five = Array.from({ length: 5 }, () => `http://images.test:${hosts.port}/cat.png`);
    const request = { ...req({ model: 'flux-2-klein-4b' }), images: [...five, refs.dataUri] };
    const err = await (await container('flux-2-klein-4b')).generate(request).catch((e: unknown) => e);
    expect((err as UnsupportedByProvider).field).toBe('images');
    expect(hosts.images.calls.length).toBe(before);
    expect(fake!.calls).toHaveLength(0);
  });

  it('ultra with raw mode', async () => {
    await (await container('flux-1.1-pro-ultra')).generate(req({ model: 'flux-1.1-pro-ultra', raw: true, output_format: 'png' }));
    expect(sentInput()).toMatchObject({ raw: true, output_format: 'png' });
  });
});
