import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContentModerated,
  FluxError,
  GenerationCanceled,
  GenerationFailed,
  ProviderOutOfCredits,
  ProviderRateLimited,
  ProviderTimeout,
  ProviderUnauthorized,
  ProviderUnavailable,
  UnsupportedByProvider,
} from '../../../src/core/errors.js';
import type { ProviderProgress } from '../../../src/core/providers/provider.js';
import { toReplicateParams } from '../../../src/core/providers/replicate/params.js';
import { ReplicateProvider, type ReplicateProviderOptions } from '../../../src/core/providers/replicate/replicate-provider.js';
import { validateReplicateWebhook } from '../../../src/core/providers/replicate/webhook.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { FakeServer, sendJson } from '../../fakes/fake-server.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';

let fake: ReplicateFake;

beforeEach(async () => {
  fake = await ReplicateFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(options: Partial<ReplicateProviderOptions> = {}): ReplicateProvider {
  return new ReplicateProvider({
    baseUrl: fake.baseUrl,
    token: fake.token,
    pollIntervalMs: 20,
    requestTimeoutMs: 5_000,
    timeoutMs: 15_000,
    preferWaitSeconds: 0,
    allowPrivateDownloads: true,
    ...options,
  });
}

/** A request (flux-pro unless `input` names a model); loopback image links pass, as with ALLOW_PRIVATE_URLS. */
function req(input: Partial<FluxRequestInput> = {}): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-pro', seed: 7, ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FluxError);
    const e = err as FluxError;
    // The token never reaches what is logged or shown.
    expect(`${e.message} ${e.userMessage}`).not.toContain(fake.token);
    return e;
  }
  throw new Error('expected the generation to fail');
}

const creates = () => fake.callsTo('POST', /^\/models\/[^/]+\/[^/]+\/predictions$/);
const polls = () => fake.callsTo('GET', /^\/predictions\/[^/]+$/);
const cancels = () => fake.callsTo('POST', /^\/predictions\/[^/]+\/cancel$/);
const lists = () => fake.callsTo('GET', /^\/predictions$/);

describe('ReplicateProvider: a generation', () => {
  it('answers from the held create call (Prefer: wait) with the image in the requested size, format and seed', async () => {
    const image = await provider({ preferWaitSeconds: 5 }).generate(req({ aspect_ratio: '16:9' }));
    const meta = await sharp(image.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1344, 768]);
    expect(image).toMatchObject({ format: 'webp', contentType: 'image/webp', width: 1344, height: 768, seed: 7, provider: 'replicate', nsfw: false });
    const [create] = creates();
    expect(create!.path).toBe('/v1/models/black-forest-labs/flux-pro/predictions');
    expect(create!.headers).toMatchObject({ authorization: `Bearer ${fake.token}`, prefer: 'wait=5', 'cancel-after': '10m' });
    expect(create!.body).toEqual({ input: expect.objectContaining({ prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', seed: 7 }) });
    expect(polls()).toHaveLength(0);
    // A first create looks for nothing: the lookup's request is kept off the common path.
    expect(lists()).toHaveLength(0);
    expect(image.predictionId).toBe(fake.calls.find((c) => c.path.startsWith('/files/'))!.path.slice(7, -5));
  });

  it('polls the configured base (never urls.get), checkpoints the id before the result and reports progress', async () => {
    // The prediction stays unfinished until the client has reported it running, so every state is seen.
    fake.failNext('hang');
    const progress: ProviderProgress[] = [];
    const statusAtCheckpoint: string[] = [];
    let id = '';
    const image = await provider().generate(req({ output_format: 'png' }), {
      checkpoint: (cp) => {
        expect(cp).toMatchObject({ provider: 'replicate', modelId: 'black-forest-labs/flux-pro' });
        id = cp.id;
        statusAtCheckpoint.push(fake.prediction(cp.id)!.status);
      },
      onProgress: (p) => {
        progress.push(p);
        if (p.state === 'running') void fake.release(id);
      },
    });
    expect(statusAtCheckpoint).toHaveLength(1);
    expect(['starting', 'processing']).toContain(statusAtCheckpoint[0]);
    expect(creates()[0]!.headers.prefer).toBeUndefined();
    expect(polls().length).toBeGreaterThan(0);
    expect(polls().every((c) => c.path === `/v1/predictions/${image.predictionId}`)).toBe(true);
    expect(progress).toContainEqual({ state: 'queued' });
    expect(progress).toContainEqual({ state: 'running' });
    expect(image).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  });

  it('works behind a proxy base path whose urls.get points at another host', async () => {
    await fake.close();
    fake = await ReplicateFake.start({ basePath: '/replicate/v1', latencyMs: 100 });
    const image = await provider().generate(req({ model: 'flux-1.1-pro', width: 512, height: 768, output_format: 'jpg' }));
    expect(image).toMatchObject({ format: 'jpg', width: 512, height: 768 });
    const api = fake.calls.filter((c) => !c.path.startsWith('/files/'));
    expect(api.length).toBeGreaterThan(1);
    expect(api.every((c) => c.path.startsWith('/replicate/v1/'))).toBe(true);
  });

  it('reads the array output of flux-dev and a string output forced on flux-schnell', async () => {
    const dev = await provider().generate(req({ model: 'flux-dev', aspect_ratio: '21:9', output_format: 'png' }));
    expect(dev).toMatchObject({ format: 'png', width: 1536, height: 640 });
    expect(creates()[0]!.body).toMatchObject({ input: { num_inference_steps: 28, guidance: 3, num_outputs: 1 } });
    fake.arrayOutput = false;
    const schnell = await provider().generate(req({ model: 'flux-schnell', aspect_ratio: '4:5' }));
    expect(schnell).toMatchObject({ format: 'webp', width: 896, height: 1088 });
  });

  it('takes an output that is already there while the status still says processing', async () => {
    fake.outputBeforeSucceeded = true;
    const image = await provider().generate(req());
    expect(image.format).toBe('webp');
    expect(fake.prediction(image.predictionId)!.status).toBe('processing');
  });

  it('asks ultra for png and converts it to the requested webp', async () => {
    const image = await provider().generate(req({ model: 'flux-1.1-pro-ultra', aspect_ratio: '16:9' }));
    expect(creates()[0]!.body).toMatchObject({ input: { output_format: 'png', aspect_ratio: '16:9' } });
    expect(image).toMatchObject({ format: 'webp', contentType: 'image/webp', width: 2720, height: 1536 });
    expect((await sharp(image.bytes).metadata()).format).toBe('webp');
  });

  it('asks for a completed webhook when given a URL; the fake signs it so validateReplicateWebhook accepts it', async () => {
    const received: Array<{ headers: Record<string, unknown>; raw: Buffer }> = [];
    const hook = await new FakeServer((call, res) => {
      received.push({ headers: call.headers, raw: call.rawBody });
      sendJson(res, 200, {});
    }).listen();
    try {
      const secret = (await (await fetch(`${fake.baseUrl}/webhooks/default/secret`, { headers: { authorization: `Bearer ${fake.token}` } })).json()) as { key: string };
      await provider().generate(req(), { webhookUrl: `${hook.url}/hooks/replicate` });
      expect(creates()[0]!.body).toMatchObject({ webhook: `${hook.url}/hooks/replicate`, webhook_events_filter: ['completed'] });
      await hook.waitFor((c) => c.path === '/hooks/replicate');
      const { headers, raw } = received[0]!;
      const check = validateReplicateWebhook({
        id: headers['webhook-id'] as string,
        timestamp: headers['webhook-timestamp'] as string,
        signature: headers['webhook-signature'] as string,
        body: raw,
        secret: secret.key,
      });
      expect(check).toEqual({ ok: true });
      expect(JSON.parse(raw.toString())).toMatchObject({ status: 'succeeded' });
    } finally {
      await hook.close();
    }
  });

  it('survives slow answers, and gives up on one slower than the request timeout → ProviderTimeout', async () => {
    fake.responseDelayMs = 150;
    const image = await provider().generate(req());
    expect(image.format).toBe('webp');
    fake.responseDelayMs = 2_000;
    expect(await failure(provider({ requestTimeoutMs: 100 }).generate(req()))).toBeInstanceOf(ProviderTimeout);
  });

  it('status polls slower than the request timeout, past the retries → ProviderUnavailable: the prediction lives on', async () => {
    fake.failNext('stall', { on: 'get', times: 4 });
    let id = '';
    const err = await failure(provider({ requestTimeoutMs: 200 }).generate(req(), { checkpoint: (cp) => void (id = cp.id) }));
    // Not ProviderTimeout: that means the prediction was given up on, and the job's retry would pay for a new one.
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).not.toBeInstanceOf(ProviderTimeout);
    expect(polls()).toHaveLength(4);
    expect(cancels()).toHaveLength(0);
    await fake.prediction(id)!.finished;
    expect(fake.prediction(id)!.status).toBe('succeeded');
    // The retry resumes it: one prediction, one image.
    const image = await provider().generate(req(), { resume: { provider: 'replicate', id } });
    expect(image.predictionId).toBe(id);
    expect(fake.created).toBe(1);
  });

  it('an image download slower than the request timeout → ProviderUnavailable, the prediction kept', async () => {
    fake.failNext('stall', { on: 'file' });
    const err = await failure(provider({ requestTimeoutMs: 200 }).generate(req()));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).not.toBeInstanceOf(ProviderTimeout);
    expect(cancels()).toHaveLength(0);
  });

  it('keeps polling through a 429 and a 500 on status calls', async () => {
    fake.latencyMs = 200;
    fake.failNext('429', { on: 'get', retryAfterSec: 0 }).failNext('500', { on: 'get' });
    const image = await provider().generate(req());
    expect(image.format).toBe('webp');
    expect(fake.created).toBe(1);
    // The 429 and the 500 were both answered to polls, then polling went on.
    expect(polls().length).toBeGreaterThanOrEqual(3);
  });
});

describe('ReplicateProvider: faults', () => {
  it('429 with Retry-After → ProviderRateLimited with that wait, nothing created', async () => {
    fake.failNext('429', { retryAfterSec: 7 });
    const err = await failure(provider().generate(req()));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBe(7000);
    expect(fake.created).toBe(0);
  });

  it('429 without Retry-After → the wait from the real body, or none for a bare body', async () => {
    fake.failNext('429-no-header').failNext('429-bare');
    const first = await failure(provider().generate(req()));
    expect((first as ProviderRateLimited).retryAfterMs).toBe(30_000);
    const second = await failure(provider().generate(req()));
    expect(second).toBeInstanceOf(ProviderRateLimited);
    expect((second as ProviderRateLimited).retryAfterMs).toBeUndefined();
  });

  it('500 → ProviderUnavailable; 401 (forced or a wrong token) → ProviderUnauthorized; 402 → ProviderOutOfCredits', async () => {
    fake.failNext('500').failNext('401').failNext('402');
    const unavailable = await failure(provider().generate(req()));
    expect(unavailable).toBeInstanceOf(ProviderUnavailable);
    expect((unavailable as ProviderUnavailable).status).toBe(500);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderUnauthorized);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderOutOfCredits);
    const wrong = await failure(provider({ token: 'r8_wrong_token' }).generate(req()));
    expect(wrong).toBeInstanceOf(ProviderUnauthorized);
    expect(`${wrong.message} ${wrong.userMessage}`).not.toContain('r8_wrong_token');
  });

  it('flagged output → ContentModerated (both wordings); a model error → GenerationFailed', async () => {
    fake.failNext('moderate').failNext('nsfw').failNext('fail');
    expect(await failure(provider({ preferWaitSeconds: 5 }).generate(req()))).toBeInstanceOf(ContentModerated);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ContentModerated);
    const failed = await failure(provider().generate(req()));
    expect(failed).toBeInstanceOf(GenerationFailed);
    expect(failed.userMessage).toContain('CUDA out of memory');
  });

  it('aborted is terminal → ProviderTimeout; canceled at Replicate → GenerationCanceled', async () => {
    fake.failNext('aborted').failNext('canceled');
    expect(await failure(provider().generate(req()))).toBeInstanceOf(ProviderTimeout);
    expect(await failure(provider().generate(req()))).toBeInstanceOf(GenerationCanceled);
    expect(cancels()).toHaveLength(0);
  });

  it('a prediction past the deadline is canceled at Replicate → ProviderTimeout', async () => {
    fake.failNext('hang');
    let id = '';
    const err = await failure(provider({ timeoutMs: 400 }).generate(req(), { checkpoint: (cp) => void (id = cp.id) }));
    expect(err).toBeInstanceOf(ProviderTimeout);
    expect(cancels().map((c) => c.path)).toEqual([`/v1/predictions/${id}/cancel`]);
    expect(fake.prediction(id)!.status).toBe('canceled');
  });

  it('aborting cancels the prediction at Replicate → GenerationCanceled', async () => {
    fake.failNext('hang');
    const abort = new AbortController();
    let id = '';
    const run = provider().generate(req(), { signal: abort.signal, checkpoint: (cp) => void (id = cp.id) });
    await fake.waitFor((c) => c.method === 'GET' && c.path.startsWith('/v1/predictions/'));
    abort.abort();
    expect(await failure(run)).toBeInstanceOf(GenerationCanceled);
    expect(cancels().map((c) => c.path)).toEqual([`/v1/predictions/${id}/cancel`]);
    expect(fake.prediction(id)!.status).toBe('canceled');
  });

  it('a request aborted before it starts sends nothing', async () => {
    const err = await failure(provider().generate(req(), { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(GenerationCanceled);
    expect(fake.calls).toHaveLength(0);
  });

  it('a checkpoint that cannot be saved cancels the unrecorded prediction', async () => {
    fake.latencyMs = 5_000;
    await expect(
      provider().generate(req(), {
        checkpoint: () => {
          throw new Error('redis down');
        },
      }),
    ).rejects.toThrow('redis down');
    expect(cancels()).toHaveLength(1);
  });

  it('refuses what the model cannot express before calling anything', async () => {
    const err = await failure(provider().generate({ ...req({ model: 'flux-1.1-pro' }), steps: 10 }));
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect(fake.calls).toHaveLength(0);
  });
});

describe('ReplicateProvider: resume', () => {
  it('polls the checkpointed prediction and creates nothing', async () => {
    fake.latencyMs = 200;
    const earlier = fake.createPrediction({ input: { prompt: 'x', aspect_ratio: '3:2', output_format: 'jpg', seed: 9 } });
    let checkpoints = 0;
    const image = await provider().generate(req({ aspect_ratio: '3:2', output_format: 'jpg', seed: 9 }), {
      resume: { provider: 'replicate', id: earlier.id },
      checkpoint: () => void checkpoints++,
    });
    expect(image).toMatchObject({ predictionId: earlier.id, format: 'jpg', width: 1216, height: 832, seed: 9 });
    expect(creates()).toHaveLength(0);
    expect(fake.created).toBe(1);
    expect(polls().length).toBeGreaterThan(0);
    expect(checkpoints).toBe(0);
  });

  it('a checkpoint the API no longer knows → ProviderUnavailable 404, still no create', async () => {
    const err = await failure(provider().generate(req(), { resume: { provider: 'replicate', id: 'gone0000000000000000000000' } }));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect((err as ProviderUnavailable).status).toBe(404);
    expect(creates()).toHaveLength(0);
  });
});

describe('ReplicateProvider: a slow create (the prediction exists and is billed, the answer is lost)', () => {
  it('an answer later than the request timeout: the prediction is found in the list and resumed, not created again', async () => {
    fake.failNext('slow-create');
    const checkpoints: string[] = [];
    const image = await provider({ requestTimeoutMs: 300 }).generate(req(), { checkpoint: (cp) => void checkpoints.push(cp.id) });
    expect(image).toMatchObject({ format: 'webp', width: 1024, height: 1024, seed: 7 });
    expect(creates()).toHaveLength(1);
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(checkpoints).toEqual([image.predictionId]);
    // Asked once, from the configured base, for predictions since this create (less a clock slack).
    expect(lists()).toHaveLength(1);
    const after = Date.parse(lists()[0]!.query.get('created_after')!);
    expect(creates()[0]!.at - after).toBeGreaterThanOrEqual(60_000);
    expect(creates()[0]!.at - after).toBeLessThan(61_000);
    expect(cancels()).toHaveLength(0);
  });

  it('a connection dropped while Replicate holds the answer (Prefer: wait): found and resumed', async () => {
    fake.failNext('dropped-create');
    const image = await provider({ preferWaitSeconds: 5 }).generate(req({ output_format: 'png' }));
    expect(image).toMatchObject({ format: 'png', seed: 7 });
    expect(creates()[0]!.headers.prefer).toBe('wait=5');
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(fake.prediction(image.predictionId)?.status).toBe('succeeded');
  });

  it('not found in the call (the list failed): the create’s error stands, and a re-run finds the prediction', async () => {
    fake.failNext('slow-create').failNext('500', { on: 'list' });
    const since = Date.now();
    expect(await failure(provider({ requestTimeoutMs: 300 }).generate(req()))).toBeInstanceOf(ProviderTimeout);
    const image = await provider().generate(req(), { lookup: { since } });
    expect(image.format).toBe('webp');
    expect(creates()).toHaveLength(1);
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(lists()).toHaveLength(2);
  });

  it('canceled while the create is held: the unanswered prediction is found and canceled', async () => {
    fake.latencyMs = 5_000;
    fake.failNext('slow-create');
    const abort = new AbortController();
    const run = provider({ preferWaitSeconds: 5 }).generate(req(), { signal: abort.signal });
    await fake.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'));
    abort.abort();
    expect(await failure(run)).toBeInstanceOf(GenerationCanceled);
    expect(fake.created).toBe(1);
    expect(cancels()).toHaveLength(1);
    expect(fake.prediction(cancels()[0]!.path.split('/')[3]!)?.status).toBe('canceled');
  });
});

describe('ReplicateProvider: a re-run looks for the prediction an earlier run never checkpointed', () => {
  const input = () => toReplicateParams(req()).input;

  it('matches model, input and seed, pages through newer predictions, and resumes it without creating', async () => {
    fake.listPageSize = 2;
    const since = Date.now();
    const ours = fake.createPrediction({ input: input() });
    // Newer predictions of other jobs: another seed, another prompt, the same input on another model.
    for (const seed of [8, 9]) fake.createPrediction({ input: { ...input(), seed } });
    fake.createPrediction({ input: { ...input(), prompt: 'another prompt' } });
    fake.createPrediction({ model: 'black-forest-labs/flux-1.1-pro', input: input() });
    let checkpointed = '';
    const image = await provider().generate(req(), { lookup: { since }, checkpoint: (cp) => void (checkpointed = cp.id) });
    expect(image.predictionId).toBe(ours.id);
    expect(checkpointed).toBe(ours.id);
    expect(creates()).toHaveLength(0);
    expect(fake.created).toBe(5);
    // Five predictions two a page: the cursor of `next` (which names another host) was followed on the configured base.
    expect(lists().map((c) => c.query.get('cursor'))).toEqual([null, '2', '4']);
  });

  it('an identical prediction from before the job is not its own: a new one is created', async () => {
    const old = fake.createPrediction({ input: input(), createdAt: new Date(Date.now() - 10 * 60_000) });
    const image = await provider().generate(req(), { lookup: { since: Date.now() } });
    expect(image.predictionId).not.toBe(old.id);
    expect(creates()).toHaveLength(1);
    expect(fake.created).toBe(2);
  });

  it('with webhooks, the URL carrying the job id tells apart two jobs that asked for the same input and seed', async () => {
    fake.showsWebhook = true;
    const hook = (job: string) => `http://127.0.0.1:1/webhooks/replicate?job=${job}&token=t${job}`;
    const mine = fake.createPrediction({ input: input(), webhook: hook('1') });
    fake.createPrediction({ input: input(), webhook: hook('2') });
    const image = await provider().generate(req(), { lookup: { since: Date.now() - 1000 }, webhookUrl: hook('1') });
    expect(image.predictionId).toBe(mine.id);
    expect(creates()).toHaveLength(0);
  });

  it('skips a prediction given up on (canceled); of two running ones, resumes the newer and cancels the other', async () => {
    const since = Date.now();
    const gone = fake.createPrediction({ input: input(), fault: 'canceled' });
    await gone.finished;
    const fresh = await provider().generate(req(), { lookup: { since } });
    expect(fresh.predictionId).not.toBe(gone.id);
    expect(creates()).toHaveLength(1);

    fake.latencyMs = 300;
    const older = fake.createPrediction({ input: { ...input(), seed: 11 } });
    const newer = fake.createPrediction({ input: { ...input(), seed: 11 } });
    const image = await provider().generate(req({ seed: 11 }), { lookup: { since } });
    expect(image.predictionId).toBe(newer.id);
    expect(fake.prediction(older.id)?.status).toBe('canceled');
    expect(creates()).toHaveLength(1);
  });

  it('a proxy without the list (404): creates as before', async () => {
    fake.listPredictions = false;
    const image = await provider().generate(req(), { lookup: { since: Date.now() } });
    expect(image.format).toBe('webp');
    expect(lists()).toHaveLength(1);
    expect(creates()).toHaveLength(1);
  });

  it('a list that fails (5xx) stops the create: the queue retries rather than risk paying twice', async () => {
    fake.failNext('500', { on: 'list' });
    const err = await failure(provider().generate(req(), { lookup: { since: Date.now() } }));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(creates()).toHaveLength(0);
  });
});
