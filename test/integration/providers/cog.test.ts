import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ContentModerated,
  FluxError,
  GenerationCanceled,
  GenerationFailed,
  InvalidInput,
  ProviderRateLimited,
  ProviderTimeout,
  ProviderUnavailable,
  UnsupportedByProvider,
} from '../../../src/core/errors.js';
import { LinkHosts } from '../../helpers/link-hosts.js';
import { LinkRefused } from '../../../src/core/images/link-refusal.js';
import { CogProvider, newPredictionId, type CogProviderOptions } from '../../../src/core/providers/cog/cog-provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { CogFake } from '../../fakes/cog-fake.js';

let fake: CogFake;

beforeEach(async () => {
  fake = await CogFake.start({ model: 'flux-dev' });
});
afterEach(async () => {
  await fake.close();
});

function provider(options: Partial<CogProviderOptions> = {}): CogProvider {
  return new CogProvider({ baseUrl: fake.url, model: fake.model, timeoutMs: 15_000, ...options });
}

function req(input: Partial<FluxRequestInput> = {}): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-dev', seed: 7, ...input });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FluxError);
    return err as FluxError;
  }
  throw new Error('expected the generation to fail');
}

const puts = () => fake.callsTo('PUT', /^\/predictions\/[^/]+$/);
const cancels = () => fake.callsTo('POST', /^\/predictions\/[^/]+\/cancel$/);

describe('CogProvider: a generation', () => {
  it('checkpoints a chosen id, PUTs the prediction under it and decodes the data: URI output', async () => {
    const checkpoints: Array<{ id: string; createdBefore: number }> = [];
    const image = await provider().generate(req({ aspect_ratio: '16:9', output_format: 'png' }), {
      checkpoint: (cp) => {
        expect(cp).toMatchObject({ provider: 'cog', modelId: 'flux-dev' });
        checkpoints.push({ id: cp.id, createdBefore: fake.created });
      },
    });
    expect(checkpoints).toEqual([{ id: image.predictionId, createdBefore: 0 }]);
    expect(image.predictionId).toMatch(/^[a-z2-7]{26}$/);
    expect(puts().map((c) => c.path)).toEqual([`/predictions/${image.predictionId}`]);
    expect(puts()[0]!.body).toEqual({
      id: image.predictionId,
      input: {
        prompt: 'a lighthouse at dawn',
        aspect_ratio: '16:9',
        num_inference_steps: 28,
        guidance: 3,
        seed: 7,
        output_format: 'png',
        output_quality: 80,
        num_outputs: 1,
      },
    });
    const meta = await sharp(image.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1344, 768]);
    expect(image).toMatchObject({ provider: 'cog', format: 'png', width: 1344, height: 768, seed: 7, nsfw: false });
  });

  it('reads a single data: URI and converts ultra png to the requested webp', async () => {
    await fake.close();
    fake = await CogFake.start({ model: 'flux-1.1-pro-ultra' });
    fake.arrayOutput = false;
    const image = await provider().generate(req({ model: 'flux-1.1-pro-ultra', aspect_ratio: '1:1', seed: 11 }));
    expect(puts()[0]!.body).toMatchObject({ input: { output_format: 'png' } });
    expect(image).toMatchObject({ format: 'webp', width: 2048, height: 2048, seed: 11 });
    expect((await sharp(image.bytes).metadata()).format).toBe('webp');
  });

  it('waits out a slow container and sends the bearer token of a fronting proxy when configured', async () => {
    fake.latencyMs = 300;
    const image = await provider({ token: 'proxy-secret' }).generate(req());
    expect(image.format).toBe('webp');
    expect(puts()[0]!.headers.authorization).toBe('Bearer proxy-secret');
  });

  it('reports health: READY when idle, BUSY while every slot is taken', async () => {
    expect(await provider().health()).toBe('READY');
    fake.startPrediction(newPredictionId(), { prompt: 'x' }, 'hang');
    expect(await provider().health()).toBe('BUSY');
  });

  it('refuses a model the container does not serve, before calling it', async () => {
    const err = await failure(provider().generate(req({ model: 'flux-schnell' })));
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect((err as UnsupportedByProvider).field).toBe('model');
    expect(fake.calls).toHaveLength(0);
  });
});

describe('CogProvider: faults', () => {
  it('409 from a busy container → ProviderRateLimited with a short wait', async () => {
    fake.startPrediction('someone-else', { prompt: 'x' }, 'hang');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBe(2000);
    fake.failNext('409');
    const configured = await failure(provider({ busyRetryMs: 500 }).generate(req()));
    expect((configured as ProviderRateLimited).retryAfterMs).toBe(500);
  });

  it('500 → ProviderUnavailable; 422 → InvalidInput', async () => {
    fake.failNext('500').failNext('422');
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderUnavailable);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(InvalidInput);
  });

  it('the safety checker → ContentModerated; a model error → GenerationFailed', async () => {
    fake.failNext('moderate').failNext('fail');
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ContentModerated);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(GenerationFailed);
  });

  it('past the deadline: aborts the request, cancels the prediction → ProviderTimeout', async () => {
    fake.failNext('hang');
    let id = '';
    const err = await failure(provider({ timeoutMs: 300 }).generate(req(), { checkpoint: (cp) => void (id = cp.id) }));
    expect(err).toBeInstanceOf(ProviderTimeout);
    expect(cancels().map((c) => c.path)).toEqual([`/predictions/${id}/cancel`]);
    expect(fake.isRunning(id)).toBe(false);
  });

  it('aborting cancels the prediction → GenerationCanceled', async () => {
    fake.failNext('hang');
    const abort = new AbortController();
    let id = '';
    const run = provider().generate(req(), { signal: abort.signal, checkpoint: (cp) => void (id = cp.id) });
    await fake.waitFor((c) => c.method === 'PUT');
    abort.abort();
    expect(await failure(run)).toBeInstanceOf(GenerationCanceled);
    expect(cancels().map((c) => c.path)).toEqual([`/predictions/${id}/cancel`]);
    expect(fake.isRunning(id)).toBe(false);
  });
});

describe('CogProvider: resume (Cog cannot be polled; an idempotent PUT joins or restarts)', () => {
  it('joins the checkpointed prediction while the container still runs it', async () => {
    const id = newPredictionId();
    fake.startPrediction(id, { prompt: 'earlier', aspect_ratio: '1:1', output_format: 'jpg', seed: 5 }, 'hang');
    let checkpoints = 0;
    const run = provider().generate(req({ output_format: 'jpg', seed: 5 }), {
      resume: { provider: 'cog', id },
      checkpoint: () => void checkpoints++,
    });
    await fake.waitFor((c) => c.method === 'PUT' && c.path === `/predictions/${id}`);
    fake.release(id);
    const image = await run;
    expect(image).toMatchObject({ predictionId: id, format: 'jpg', width: 1024, height: 1024, seed: 5 });
    expect(fake.created).toBe(1);
    expect(fake.joined).toBe(1);
    expect(checkpoints).toBe(0);
  });

  it('starts the checkpointed id again when the container no longer has it', async () => {
    const image = await provider().generate(req(), { resume: { provider: 'cog', id: 'forgottenid' } });
    expect(image.predictionId).toBe('forgottenid');
    expect(puts().map((c) => c.path)).toEqual(['/predictions/forgottenid']);
    expect(fake.created).toBe(1);
  });
});

/**
 * A member's image prompt link must never reach the container: Cog sits on the operator's network and downloads a
 * link input from there (the fake does so too, recording `fetchedLinks`). `images` (127.0.0.1, trusted as a public
 * host through the guard's resolver) serves the member's picture; `internal` (127.0.0.2, same port) stands for the
 * metadata service or any private host, and must never receive a request.
 */
describe('CogProvider: members’ image prompt links', () => {
  let hosts: LinkHosts;
  let png: Buffer;
  let images: LinkHosts['images'];
  const internalHits = () => hosts.hits;
  const dns: LinkHosts['dns'] = (name) => hosts.dns(name);
  const imagePromptGuard = { lookup: dns, trustedAddresses: ['127.0.0.1'] };

  beforeAll(async () => {
    hosts = await LinkHosts.start();
    ({ png, images } = hosts);
  });
  afterAll(() => hosts.close());
  beforeEach(async () => {
    hosts.hits.length = 0;
    await fake.close();
    fake = await CogFake.start({ model: 'flux-pro' });
  });

  const proReq = (image_prompt: string) => req({ model: 'flux-pro', image_prompt });

  it('downloads a public link itself (guarded) and sends the container a data: URI, never the link', async () => {
    const image = await provider({ imagePromptGuard }).generate(proReq(`http://images.test:${images.port}/cat.png`));
    expect(image.provider).toBe('cog');
    const input = (puts()[0]!.body as { input: Record<string, unknown> }).input;
    expect(input.image_prompt).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(fake.fetchedLinks).toEqual([]);
    expect(images.callsTo('GET', /^\/cat\.png$/)).toHaveLength(1);
  });

  it('refuses names that resolve to private addresses, and redirects to them, before the container is called', async () => {
    for (const link of [
      `http://169.254.169.254.nip.io:${images.port}/latest/meta-data/`,
      `http://instance-data:${images.port}/latest/meta-data/iam/`,
      `http://images.test:${images.port}/to-metadata`,
    ]) {
      const err = await failure(provider({ imagePromptGuard }).generate(proReq(link)));
      expect(err, link).toBeInstanceOf(LinkRefused);
      expect(err, link).toMatchObject({ owner: 'member', reason: 'private' });
      // It says whose link and which setting, and never which host or port answered.
      expect(err.userMessage, link).toMatch(/^The image could not be used: the image prompt link (points|redirects) to a private or local network address \(.*ALLOW_PRIVATE_URLS=true\)\.$/);
      for (const leak of ['nip.io', 'instance-data', '169.254', '127.0.0', String(images.port)]) expect(err.userMessage, link).not.toContain(leak);
    }
    expect(fake.calls).toHaveLength(0);
    expect(fake.fetchedLinks).toEqual([]);
    expect(internalHits()).toEqual([]);
  });

  it('with ALLOW_PRIVATE_URLS (allowPrivate) a private link is allowed, and still reaches the container only as data', async () => {
    // As the operator CLI parses it with ALLOW_PRIVATE_URLS (the schema refuses literal private addresses otherwise).
    const request = { ...proReq('https://example.com/x.png'), image_prompt: `http://127.0.0.2:${images.port}/private.png` };
    const image = await provider({ imagePromptGuard: { ...imagePromptGuard, allowPrivate: true } }).generate(request);
    expect(image.provider).toBe('cog');
    expect(internalHits()).toEqual(['/private.png']);
    expect((puts()[0]!.body as { input: { image_prompt: string } }).input.image_prompt).toMatch(/^data:image\/png;base64,/);
    expect(fake.fetchedLinks).toEqual([]);
  });

  it('refuses a model without image prompts before fetching anything', async () => {
    const parsed = parseFluxRequest({ prompt: 'x', model: 'flux-dev', image_prompt: `http://images.test:${images.port}/cat.png` });
    expect(parsed.ok).toBe(false);
    const before = images.calls.length;
    const err = await failure(provider({ imagePromptGuard }).generate({ ...proReq(`http://images.test:${images.port}/cat.png`), model: 'flux-dev' }));
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect(images.calls.length).toBe(before);
  });
});
