import { LinkHosts } from '../../helpers/link-hosts.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FluxError } from '../../../src/core/errors.js';
import { LinkRefused } from '../../../src/core/images/link-refusal.js';
import { withMemberLinksGuarded } from '../../../src/core/providers/operator-network.js';
import { createProvider, type ProviderSettings } from '../../../src/core/providers/registry.js';
import { ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import { parseFluxRequest, type FluxRequest } from '../../../src/core/request.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';

/**
 * Links between the bot, the providers and the operator's network, through Replicate (the rules live in shared code:
 * the registry, the guarded downloader, the member-link wrapper):
 * - a provider configured at a private address (here the fake on 127.0.0.1) may serve outputs from private addresses,
 *   whatever ALLOW_PRIVATE_URLS says; one configured at a public address (1.1.1.1, reached through a fetch that leads
 *   to the fake) may not, and the refusal names its output and REPLICATE_API_URL;
 * - a member's link is handed to a hosted provider as is, but to one on a private network only as a data: URI the
 *   bot made with the guarded downloader.
 */

let fake: ReplicateFake;
let hosts: LinkHosts;
let png: Buffer;
let images: LinkHosts['images'];
const internalHits = () => hosts.hits;
const dns: LinkHosts['dns'] = (name) => hosts.dns(name);

const PUBLIC_ORIGIN = 'http://1.1.1.1:';
/** The provider's API at a public address, reached on the fake: only API calls are rewritten, downloads are not. */
const viaPublicAddress: typeof fetch = (url, init) => fetch(String(url).replace(PUBLIC_ORIGIN, 'http://127.0.0.1:'), init);
const publicBase = () => fake.baseUrl.replace('http://127.0.0.1:', PUBLIC_ORIGIN);

beforeAll(async () => {
  hosts = await LinkHosts.start(80, 64);
  ({ png, images } = hosts);
});
afterAll(() => hosts.close());
beforeEach(async () => {
  hosts.hits.length = 0;
  fake = await ReplicateFake.start();
});
afterEach(async () => {
  await fake.close();
});

function settings(over: Partial<ProviderSettings> = {}): ProviderSettings {
  return {
    PROVIDERS: ['replicate'],
    REPLICATE_API_TOKEN: fake.token,
    REPLICATE_API_URL: fake.baseUrl,
    FAL_QUEUE_URL: 'https://queue.fal.run',
    BFL_API_URL: 'https://api.bfl.ai/v1',
    ALLOW_PRIVATE_URLS: false,
    ...over,
  };
}

function req(imagePrompt?: string): FluxRequest {
  // Parsed as the operator CLI does with ALLOW_PRIVATE_URLS, so loopback test links pass the schema.
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-pro', seed: 7, ...(imagePrompt ? { image_prompt: imagePrompt } : {}) }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FluxError);
  return err as FluxError;
}

const sentInput = () => (fake.callsTo('POST', /\/predictions$/)[0]?.body as { input?: Record<string, unknown> } | undefined)?.input;
/** Output files live outside the API base path. */
const outputDownloads = () => fake.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/files/'));

describe('provider outputs on the operator’s network', () => {
  it('a Replicate-compatible proxy on a private address: its outputs download without ALLOW_PRIVATE_URLS', async () => {
    const image = await createProvider('replicate', settings(), { pollIntervalMs: 20 }).generate(req());
    expect(image).toMatchObject({ provider: 'replicate', format: 'webp' });
    expect(outputDownloads()).toHaveLength(1);
    // The same when the provider is built directly, without the test-only override.
    await new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, pollIntervalMs: 20, preferWaitSeconds: 0 }).generate(req());
    expect(outputDownloads()).toHaveLength(2);
  });

  it('a provider at a public address: an output on a private address is refused, naming its output and REPLICATE_API_URL, even with ALLOW_PRIVATE_URLS', async () => {
    for (const allow of [false, true]) {
      const provider = createProvider('replicate', settings({ REPLICATE_API_URL: publicBase(), ALLOW_PRIVATE_URLS: allow }), { fetch: viaPublicAddress, pollIntervalMs: 20 });
      const err = await failure(provider.generate(req()));
      expect(err, `ALLOW_PRIVATE_URLS=${allow}`).toBeInstanceOf(LinkRefused);
      expect(err).toMatchObject({ code: 'image_invalid', owner: 'provider', reason: 'private' });
      expect(err.userMessage).toBe(
        'The image could not be used: the replicate provider’s output link points to a private or local network address (a provider’s outputs may come from private addresses only when the provider itself is configured at one, with REPLICATE_API_URL).',
      );
      expect(err.userMessage).not.toContain(String(new URL(fake.url).port));
    }
    expect(fake.created).toBe(2);
    expect(outputDownloads()).toHaveLength(0);
  });
});

describe('members’ links and providers on the operator’s network', () => {
  const link = () => `http://images.test:${images.port}/cat.png`;
  const guarded = (baseUrl: string, fetchImpl?: typeof fetch) =>
    withMemberLinksGuarded(
      new ReplicateProvider({ baseUrl, token: fake.token, pollIntervalMs: 20, preferWaitSeconds: 0, ...(fetchImpl ? { fetch: fetchImpl } : {}), allowPrivateDownloads: true }),
      { baseUrl, guard: { lookup: dns, trustedAddresses: ['127.0.0.1'] } },
    );

  it('Replicate on a private address gets the member’s image as a data: URI fetched by the bot, never the link', async () => {
    const before = images.calls.length;
    await guarded(fake.baseUrl).generate(req(link()));
    expect(sentInput()?.image_prompt).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(images.calls.slice(before).map((c) => c.path)).toEqual(['/cat.png']);
  });

  it('the registry wires it: with ALLOW_PRIVATE_URLS a loopback link is fetched by the bot and sent inline', async () => {
    const loopbackLink = `${images.url}/cat.png`;
    await createProvider('replicate', settings({ ALLOW_PRIVATE_URLS: true }), { pollIntervalMs: 20 }).generate(req(loopbackLink));
    expect(sentInput()?.image_prompt).toBe(`data:image/png;base64,${png.toString('base64')}`);
    // Without it, the same link is refused before Replicate is called.
    const err = await failure(createProvider('replicate', settings(), { pollIntervalMs: 20 }).generate(req(loopbackLink)));
    expect(err).toMatchObject({ owner: 'member', reason: 'private' });
    expect(fake.created).toBe(1);
  });

  it('a name that resolves to a private address is refused before the private provider is called, without naming the host', async () => {
    for (const target of [`http://instance-data:${images.port}/latest/meta-data/`, `http://169.254.169.254.nip.io:${images.port}/latest/`]) {
      const err = await failure(guarded(fake.baseUrl).generate(req(target)));
      expect(err).toBeInstanceOf(LinkRefused);
      expect(err.userMessage).toMatch(/the image prompt link points to a private or local network address \(.*ALLOW_PRIVATE_URLS=true\)/);
      for (const leak of ['instance-data', 'nip.io', '169.254', String(images.port)]) expect(err.userMessage).not.toContain(leak);
    }
    expect(fake.created).toBe(0);
    expect(internalHits()).toEqual([]);
  });

  it('a hosted provider (public address) gets the link itself: it fetches it from its own network', async () => {
    const before = images.calls.length;
    await guarded(publicBase(), viaPublicAddress).generate(req(link()));
    expect(sentInput()?.image_prompt).toBe(link());
    expect(images.calls.length).toBe(before);
  });
});
