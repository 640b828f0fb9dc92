import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContentModerated,
  FluxError,
  GenerationCanceled,
  ImageInvalid,
  InvalidInput,
  ProviderOutOfCredits,
  ProviderRateLimited,
  ProviderTaskFailed,
  ProviderTimeout,
  ProviderUnauthorized,
  ProviderUnavailable,
  UnsupportedByProvider,
} from '../../../src/core/errors.js';
import { inspectImage } from '../../../src/core/images/image.js';
import { pixelSize } from '../../../src/core/models.js';
import { FalProvider, type FalProviderOptions } from '../../../src/core/providers/fal/fal-provider.js';
import { FalQueueClient } from '../../../src/core/providers/fal/queue-client.js';
import type { ProviderCheckpoint, ProviderProgress } from '../../../src/core/providers/provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { FalFake } from '../../fakes/fal-fake.js';
import { FakeServer, sendJson } from '../../fakes/fake-server.js';

let fake: FalFake;

beforeEach(async () => {
  fake = await FalFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(options: Partial<FalProviderOptions> = {}): FalProvider {
  return new FalProvider({
    key: fake.key,
    baseUrl: fake.url,
    pollIntervalMs: 20,
    requestTimeoutMs: 5_000,
    timeoutMs: 15_000,
    allowPrivateDownloads: true,
    ...options,
  });
}

function req(input: Partial<FluxRequestInput> = {}): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-1.1-pro', seed: 7, ...input });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FluxError);
    const e = err as FluxError;
    // The key never reaches what is logged or shown.
    expect(`${e.message} ${e.userMessage}`).not.toContain(fake.key);
    return e;
  }
  throw new Error('expected the generation to fail');
}

const statusPolls = () => fake.callsTo('GET', /\/requests\/[^/]+\/status$/);
const cancels = () => fake.callsTo('PUT', /\/requests\/[^/]+\/cancel$/);
const submits = () => fake.calls.filter((c) => c.method === 'POST');

describe('FalProvider: a generation', () => {
  it('submits with the key, polls under the app id, downloads without the key and converts to webp', async () => {
    const image = await provider().generate(req({ aspect_ratio: '16:9' }));

    expect(await inspectImage(image.bytes)).toMatchObject({ format: 'webp', width: 1344, height: 768 });
    expect(image).toMatchObject({ format: 'webp', contentType: 'image/webp', width: 1344, height: 768, seed: 7, provider: 'fal', nsfw: false });
    expect(fake.requests.has(image.predictionId)).toBe(true);

    const [submit] = submits();
    expect(submit?.path).toBe('/fal-ai/flux-pro/v1.1');
    expect(submit?.headers.authorization).toBe(`Key ${fake.key}`);
    expect(submit?.body).toMatchObject({ prompt: 'a lighthouse at dawn', image_size: { width: 1344, height: 768 }, seed: 7, output_format: 'png', safety_tolerance: '2' });
    // Status and result drop the model's sub-path (fal-ai/flux-pro, not fal-ai/flux-pro/v1.1).
    expect(statusPolls().length).toBeGreaterThan(0);
    expect(statusPolls().every((c) => c.path === `/fal-ai/flux-pro/requests/${image.predictionId}/status`)).toBe(true);
    expect(fake.callsTo('GET', new RegExp(`^/fal-ai/flux-pro/requests/${image.predictionId}$`))).toHaveLength(1);
    // The image host gets no key.
    const [download] = fake.callsTo('GET', /^\/files\//);
    expect(download?.headers.authorization).toBeUndefined();
    // The status_url / response_url in the answers name another host; they were never followed.
    expect(fake.decoy.calls).toHaveLength(0);
  });

  it('keeps fal’s jpeg for jpg at the default quality, and renders ultra at its aspect ratio', async () => {
    const image = await provider().generate(req({ model: 'flux-1.1-pro-ultra', aspect_ratio: '21:9', output_format: 'jpg' }));
    const size = pixelSize('flux-1.1-pro-ultra', '21:9');
    expect(image).toMatchObject({ format: 'jpg', contentType: 'image/jpeg', ...size });
    expect(submits()[0]?.path).toBe('/fal-ai/flux-pro/v1.1-ultra');
    expect(submits()[0]?.body).toMatchObject({ aspect_ratio: '21:9', output_format: 'jpeg' });
    expect(statusPolls().every((c) => c.path.startsWith('/fal-ai/flux-pro/requests/'))).toBe(true);
  });

  it('returns png as png', async () => {
    const image = await provider().generate(req({ output_format: 'png' }));
    expect((await inspectImage(image.bytes)).format).toBe('png');
  });

  it('reports the queue position counting down, then running', async () => {
    fake.queuePosition = 2;
    const progress: ProviderProgress[] = [];
    await provider().generate(req(), { onProgress: (p) => progress.push(p) });
    // The submit answer, two queued polls, then the poll that finds it running; the next poll finds it done.
    expect(progress).toStrictEqual([
      { state: 'queued', queuePosition: 2 },
      { state: 'queued', queuePosition: 2 },
      { state: 'queued', queuePosition: 1 },
      { state: 'running' },
    ]);
  });

  it('checkpoints the request id and model id before the result exists', async () => {
    fake.latencyMs = 200;
    const seen: Array<{ checkpoint: ProviderCheckpoint; resultCalls: number; state: string | undefined }> = [];
    const image = await provider().generate(req(), {
      checkpoint: (checkpoint) => {
        seen.push({ checkpoint, resultCalls: fake.callsTo('GET', /\/requests\/[^/]+$/).length, state: fake.requests.get(checkpoint.id)?.state });
      },
    });
    expect(seen).toStrictEqual([{ checkpoint: { provider: 'fal', id: image.predictionId, modelId: 'fal-ai/flux-pro/v1.1' }, resultCalls: 0, state: 'queued' }]);
  });

  it('flags nsfw from has_nsfw_concepts', async () => {
    fake.nsfw = true;
    expect((await provider().generate(req())).nsfw).toBe(true);
  });

  it('passes the webhook URL as fal_webhook and still polls to the image', async () => {
    const receiver = await new FakeServer((_call, res) => sendJson(res, 200, { ok: true })).listen();
    try {
      const webhookUrl = `${receiver.url}/webhooks/fal?job=1`;
      const image = await provider().generate(req(), { webhookUrl });
      expect(submits()[0]?.query.get('fal_webhook')).toBe(webhookUrl);
      const delivery = await receiver.waitFor((c) => c.method === 'POST');
      expect(delivery.body).toMatchObject({ request_id: image.predictionId, status: 'OK' });
    } finally {
      await receiver.close();
    }
  });

  it('survives slow answers', async () => {
    fake.responseDelayMs = 150;
    const image = await provider().generate(req());
    expect(image.width).toBe(1024);
  });

  it('rides out a failing status poll (500, then 429) without losing the request', async () => {
    fake.failNext('500', { route: 'status' });
    fake.failNext('429', { route: 'status', retryAfter: '0' });
    const image = await provider().generate(req());
    expect(image.format).toBe('webp');
    expect(fake.created).toBe(1);
  });
});

describe('FalProvider: resume', () => {
  it('polls the checkpointed request without creating one, and reports fal’s seed', async () => {
    const id = fake.createOutOfBand('fal-ai/flux-pro/v1.1', { prompt: 'earlier', image_size: { width: 1024, height: 1024 }, output_format: 'png' });
    const image = await provider().generate(req(), { resume: { provider: 'fal', id, modelId: 'fal-ai/flux-pro/v1.1' } });
    expect(fake.created).toBe(0);
    expect(submits()).toHaveLength(0);
    expect(statusPolls().length).toBeGreaterThan(0);
    expect(image.predictionId).toBe(id);
    expect(image.seed).toBe(fake.requests.get(id)!.seed);
  });

  it('starts over when fal no longer knows the checkpointed request', async () => {
    const checkpoints: ProviderCheckpoint[] = [];
    const image = await provider().generate(req(), {
      resume: { provider: 'fal', id: 'expired-request', modelId: 'fal-ai/flux-pro/v1.1' },
      checkpoint: (c) => void checkpoints.push(c),
    });
    expect(fake.created).toBe(1);
    expect(checkpoints).toStrictEqual([{ provider: 'fal', id: image.predictionId, modelId: 'fal-ai/flux-pro/v1.1' }]);
  });

  it('creates a request when the checkpoint belongs to another provider', async () => {
    await provider().generate(req(), { resume: { provider: 'replicate', id: 'abc123' } });
    expect(fake.created).toBe(1);
    expect(fake.callsTo('GET', /abc123/)).toHaveLength(0);
  });
});

describe('FalProvider: faults', () => {
  it('429 with Retry-After → ProviderRateLimited with retryAfterMs', async () => {
    fake.failNext('429', { retryAfter: '3' });
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBe(3000);
  });

  it('429 without Retry-After → ProviderRateLimited without retryAfterMs', async () => {
    fake.failNext('429-no-retry-after');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBeUndefined();
  });

  it('500 → ProviderUnavailable', async () => {
    fake.failNext('500');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err.retryable).toBe(true);
  });

  it('422 → InvalidInput naming our field and fal’s message', async () => {
    fake.failNext('422');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe('steps');
    expect(err.message).toContain('less than or equal to 50');
  });

  it('401 → ProviderUnauthorized, and so does a wrong key', async () => {
    fake.failNext('401');
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderUnauthorized);
    expect(await failure(provider({ key: 'not-the-key' }).generate(req()))).toBeInstanceOf(ProviderUnauthorized);
  });

  it('an exhausted balance (403) → ProviderOutOfCredits', async () => {
    fake.failNext('out_of_credits');
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderOutOfCredits);
  });

  it('a completed request refused by the safety checker → ContentModerated', async () => {
    fake.failNext('moderate');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ContentModerated);
    expect(err.retryable).toBe(false);
  });

  it('a completed request that failed on fal’s runner → ProviderTaskFailed (retry with a new request) with the error type', async () => {
    fake.failNext('error');
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderTaskFailed);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err.message).toContain('runner_server_error');
  });

  it('a 500 of the result endpoint for a request that completed fine → ProviderUnavailable, the request kept', async () => {
    fake.failNext('500', { route: 'result' });
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).not.toBeInstanceOf(ProviderTaskFailed);
  });

  it('status polls slower than the request timeout, past the retries → ProviderUnavailable; the request is not canceled', async () => {
    for (let i = 0; i < 4; i++) fake.failNext('stall', { route: 'status' });
    const err = await failure(provider({ requestTimeoutMs: 200 }).generate(req()));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).not.toBeInstanceOf(ProviderTimeout);
    expect(statusPolls()).toHaveLength(4);
    expect(cancels()).toHaveLength(0);
  });

  it('an unanswered submit → ProviderTimeout, with nothing to cancel', async () => {
    fake.failNext('stall');
    const err = await failure(provider({ requestTimeoutMs: 200 }).generate(req()));
    expect(err).toBeInstanceOf(ProviderTimeout);
    expect(cancels()).toHaveLength(0);
  });

  it('past the deadline → ProviderTimeout and the request is canceled at fal', async () => {
    fake.failNext('hang');
    const err = await failure(provider({ timeoutMs: 300 }).generate(req()));
    expect(err).toBeInstanceOf(ProviderTimeout);
    const [request] = [...fake.requests.values()];
    expect(cancels().map((c) => c.path)).toStrictEqual([`/fal-ai/flux-pro/requests/${request!.id}/cancel`]);
    expect(request!.state).toBe('canceled');
  });

  it('refuses what fal cannot express before calling it', async () => {
    const err = await failure(provider().generate(req({ model: 'flux-pro', interval: 3 })));
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect(fake.calls).toHaveLength(0);
  });

  it('refuses an image over maxDownloadBytes', async () => {
    expect(await failure(provider({ maxDownloadBytes: 100 }).generate(req()))).toBeInstanceOf(ImageInvalid);
  });

  it('downloads outputs from a private address when fal itself is configured at one (a gateway on the operator’s network)', async () => {
    const image = await provider({ allowPrivateDownloads: false }).generate(req());
    expect(image.provider).toBe('fal');
    expect(fake.callsTo('GET', /^\/files\//)).toHaveLength(1);
  });

  it('refuses outputs from a private address when fal is configured at a public one, naming fal’s output and FAL_QUEUE_URL', async () => {
    // The queue at a public address (1.1.1.1), reached through a fetch that leads to the fake; its image links stay on
    // 127.0.0.1.
    const viaPublicAddress: typeof fetch = (url, init) => fetch(String(url).replace('http://1.1.1.1:', 'http://127.0.0.1:'), init);
    const hosted = provider({ allowPrivateDownloads: false, baseUrl: fake.url.replace('127.0.0.1', '1.1.1.1'), fetch: viaPublicAddress });
    const err = await failure(hosted.generate(req()));
    expect(err).toBeInstanceOf(ImageInvalid);
    expect(err).toMatchObject({ owner: 'provider', reason: 'private' });
    expect(err.userMessage).toBe(
      'The image could not be used: the fal provider’s output link points to a private or local network address (a provider’s outputs may come from private addresses only when the provider itself is configured at one, with FAL_QUEUE_URL).',
    );
    expect(submits()).toHaveLength(1);
    expect(fake.callsTo('GET', /^\/files\//)).toHaveLength(0);
  });
});

describe('FalProvider: cancel', () => {
  it('on abort, cancels at fal and rejects with GenerationCanceled', async () => {
    fake.failNext('hang');
    const controller = new AbortController();
    const pending = provider().generate(req(), { signal: controller.signal });
    await fake.waitFor((c) => c.path.endsWith('/status'));
    controller.abort();
    const err = await failure(pending);
    expect(err).toBeInstanceOf(GenerationCanceled);
    const [request] = [...fake.requests.values()];
    expect(cancels().map((c) => c.path)).toStrictEqual([`/fal-ai/flux-pro/requests/${request!.id}/cancel`]);
    expect(fake.canceled).toBe(1);
  });

  it('an already aborted signal creates nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await failure(provider().generate(req(), { signal: controller.signal }))).toBeInstanceOf(GenerationCanceled);
    expect(fake.created).toBe(0);
  });

  it('cancels the request when the checkpoint cannot be saved', async () => {
    fake.failNext('hang');
    const pending = provider().generate(req(), {
      checkpoint: () => {
        throw new Error('redis is down');
      },
    });
    await expect(pending).rejects.toThrow('redis is down');
    expect(cancels()).toHaveLength(1);
    expect(fake.canceled).toBe(1);
  });

  it('a finished request answers ALREADY_COMPLETED, which the best-effort cancel tolerates', async () => {
    const image = await provider().generate(req());
    const client = new FalQueueClient({ baseUrl: fake.url, key: fake.key, requestTimeoutMs: 2_000 });
    expect(await client.cancel('fal-ai/flux-pro/v1.1', image.predictionId, 2_000)).toBe(false);
    expect(fake.requests.get(image.predictionId)?.state).toBe('completed');
    expect(fake.canceled).toBe(0);
  });
});
