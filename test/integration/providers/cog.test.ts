import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
