import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ContentModerated,
  FluxError,
  GenerationCanceled,
  GenerationFailed,
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
import { LinkRefused } from '../../../src/core/images/link-refusal.js';
import { BflProvider, type BflProviderOptions } from '../../../src/core/providers/bfl/bfl-provider.js';
import { BflTaskNotFound, readBflPoll } from '../../../src/core/providers/bfl/poll-result.js';
import type { ProviderCheckpoint, ProviderProgress } from '../../../src/core/providers/provider.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { BflFake } from '../../fakes/bfl-fake.js';
import { FakeServer, makeImage, sleep, type RecordedCall } from '../../fakes/fake-server.js';

let fake: BflFake;

beforeEach(async () => {
  fake = await BflFake.start();
});
afterEach(async () => {
  await fake.close();
});

function provider(options: Partial<BflProviderOptions> = {}): BflProvider {
  return new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: 5_000, timeoutMs: 15_000, ...options });
}

/** A request (flux-pro unless `input` names a model). */
function req(input: FluxRequestInput): FluxRequest {
  // Image prompt links point at local test servers here.
  const parsed = parseFluxRequest({ model: 'flux-pro', ...input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function failure(promise: Promise<unknown>): Promise<FluxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FluxError);
    const e = err as FluxError;
    // The API key never leaks into what is logged or shown.
    expect(`${e.message} ${e.userMessage}`).not.toContain(fake.key);
    return e;
  }
  throw new Error('expected the generation to fail');
}

const onServer = (server: FakeServer) => (call: RecordedCall) => call.headers.host === `127.0.0.1:${server.port}`;
const polls = () => fake.callsTo('GET', /\/get_result$/);

describe('BflProvider: a generation', () => {
  it('submits, polls the regional polling_url with the key, downloads the sample and converts webp', async () => {
    const image = await provider().generate(req({ prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', seed: 7 }));

    const decoded = await inspectImage(image.bytes);
    expect(decoded).toMatchObject({ format: 'webp', width: 1344, height: 768 });
    expect(image).toMatchObject({ format: 'webp', contentType: 'image/webp', width: 1344, height: 768, seed: 7, provider: 'bfl', nsfw: false });
    expect(fake.tasks.has(image.predictionId)).toBe(true);

    const [submit] = fake.callsTo('POST', /^\/v1\/flux-pro$/);
    expect(submit?.headers['x-key']).toBe(fake.key);
    expect(submit?.body).toMatchObject({ prompt: 'a lighthouse at dawn', width: 1344, height: 768, seed: 7, output_format: 'png' });
    // Every poll went to the regional server named by polling_url, carrying the key; none to the global host.
    expect(polls().length).toBeGreaterThan(0);
    expect(polls().every(onServer(fake.region))).toBe(true);
    expect(polls().every((c) => c.headers['x-key'] === fake.key)).toBe(true);
    // The signed sample URL gets no key.
    const [download] = fake.callsTo('GET', /^\/samples\//);
    expect(download?.headers['x-key']).toBeUndefined();
  });

  it('checkpoints the task id and polling URL before the result exists', async () => {
    const seen: Array<{ checkpoint: ProviderCheckpoint; pollsBefore: number; ready: boolean }> = [];
    const image = await provider().generate(req({ prompt: 'a cat', seed: 1 }), {
      checkpoint: (checkpoint) => {
        seen.push({ checkpoint, pollsBefore: polls().length, ready: fake.tasks.get(checkpoint.id)?.readyAt !== undefined });
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toStrictEqual({
      checkpoint: { provider: 'bfl', id: image.predictionId, pollUrl: `${fake.regionUrl}/get_result?id=${image.predictionId}` },
      pollsBefore: 0,
      ready: false,
    });
  });

  it('reports progress while the task is Pending', async () => {
    fake.latencyMs = 500;
    const progress: ProviderProgress[] = [];
    await provider().generate(req({ prompt: 'a cat' }), { onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.state === 'running' && p.fraction !== undefined && p.fraction >= 0 && p.fraction < 1)).toBe(true);
  });

  it.each([
    ['flux-pro', { aspect_ratio: '3:2', output_format: 'jpg' }, 'jpg', 1216, 832],
    ['flux-1.1-pro', { width: 512, height: 768, output_format: 'png' }, 'png', 512, 768],
    ['flux-1.1-pro-ultra', { aspect_ratio: '1:1', output_format: 'webp' }, 'webp', 2048, 2048],
    ['flux-dev', { aspect_ratio: '4:5', output_format: 'jpg' }, 'jpg', 896, 1088],
  ] as const)('renders %s at the right size and format', async (model, extra, format, width, height) => {
    const image = await provider().generate(req({ prompt: 'a tree', model, ...extra }));
    expect(await inspectImage(image.bytes)).toMatchObject({ format, width, height });
    expect(image).toMatchObject({ format, width, height });
    expect(fake.created).toBe(1);
  });

  it('returns the seed BFL reports', async () => {
    const task = fake.createTask({ body: { seed: 1234 } });
    const image = await provider().generate(req({ prompt: 'x', seed: 5 }), { resume: { provider: 'bfl', id: task.id, pollUrl: task.pollingUrl } });
    expect(image.seed).toBe(1234);
  });

  it('downloads the sample at once: it still works with a short expiry that later turns it into a 404', async () => {
    fake.sampleTtlMs = 1_000;
    const image = await provider().generate(req({ prompt: 'x', output_format: 'png' }));
    expect(image.format).toBe('png');
    await sleep(1_100);
    expect((await fetch(fake.sampleUrl(image.predictionId))).status).toBe(404);
  });

  it('sends an image prompt link as base64 of the downloaded image', async () => {
    const png = await makeImage(64, 48, 'png', '#cc3300');
    const host = await new FakeServer((_call, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    }).listen();
    try {
      await provider({ allowPrivateDownloads: true }).generate(req({ prompt: 'x', image_prompt: `${host.url}/cat.png` }));
      expect(fake.callsTo('POST', /flux-pro$/)[0]?.body).toMatchObject({ image_prompt: png.toString('base64') });
    } finally {
      await host.close();
    }
  });

  it('refuses an image prompt link to a private address unless allowed, before submitting', async () => {
    const err = await failure(provider().generate(req({ prompt: 'x', image_prompt: 'http://127.0.0.1:9/cat.png' })));
    expect(err).toBeInstanceOf(ImageInvalid);
    expect(fake.created).toBe(0);
  });

  it('sends a data: image prompt as its base64 payload', async () => {
    const b64 = (await makeImage(32, 32, 'jpeg')).toString('base64');
    await provider().generate(req({ prompt: 'x', model: 'flux-1.1-pro', image_prompt: `data:image/jpeg;base64,${b64}` }));
    expect(fake.callsTo('POST', /flux-pro-1\.1$/)[0]?.body).toMatchObject({ image_prompt: b64 });
  });

  it("sends ultra's raw mode and image prompt strength when asked (the fake refuses fields the endpoint lacks)", async () => {
    const b64 = (await makeImage(32, 32, 'jpeg')).toString('base64');
    const image_prompt = `data:image/jpeg;base64,${b64}`;
    await provider().generate(req({ prompt: 'x', model: 'flux-1.1-pro-ultra', raw: true, image_prompt, image_prompt_strength: 0.4 }));
    expect(fake.callsTo('POST', /flux-pro-1\.1-ultra$/)[0]?.body).toMatchObject({ raw: true, image_prompt: b64, image_prompt_strength: 0.4 });
  });

  it('asks for a webhook with its secret and, without a polling_url in the answer, polls the result endpoint', async () => {
    const image = await provider({ webhookSecret: 'whs-1' }).generate(req({ prompt: 'x' }), { webhookUrl: 'https://bot.example/hooks/bfl' });
    expect(fake.callsTo('POST', /flux-pro$/)[0]?.body).toMatchObject({ webhook_url: 'https://bot.example/hooks/bfl', webhook_secret: 'whs-1' });
    expect(polls().length).toBeGreaterThan(0);
    expect(polls().every(onServer(fake.api))).toBe(true);
    expect(polls()[0]?.query.get('id')).toBe(image.predictionId);
  });

  it('rides out a few transient polling failures', async () => {
    fake.failNext('poll-500');
    fake.failNext('poll-429');
    const image = await provider().generate(req({ prompt: 'x' }));
    expect(image.format).toBe('webp');
    expect(fake.created).toBe(1);
  });

  it('answers slowly but within the request timeout: still an image', async () => {
    fake.submitDelayMs = 300;
    expect((await provider().generate(req({ prompt: 'x' }))).format).toBe('webp');
  });
});

describe('BflProvider: resume', () => {
  it('polls the checkpointed task without creating anything', async () => {
    const task = fake.createTask({ body: { width: 768, height: 512, output_format: 'jpeg', seed: 3 } });
    const checkpoints: ProviderCheckpoint[] = [];
    const image = await provider().generate(req({ prompt: 'x', output_format: 'jpg', seed: 3 }), {
      resume: { provider: 'bfl', id: task.id, pollUrl: task.pollingUrl },
      checkpoint: (c) => void checkpoints.push(c),
    });
    expect(image).toMatchObject({ predictionId: task.id, format: 'jpg', width: 768, height: 512 });
    expect(fake.created).toBe(0);
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
    expect(polls().length).toBeGreaterThan(0);
    expect(checkpoints).toHaveLength(0);
  });

  it('falls back to {base}/get_result when the checkpoint has no polling URL', async () => {
    fake.regionalPolling = false;
    const task = fake.createTask();
    const image = await provider().generate(req({ prompt: 'x' }), { resume: { provider: 'bfl', id: task.id } });
    expect(image.predictionId).toBe(task.id);
    expect(polls().every(onServer(fake.api))).toBe(true);
  });

  it('says the checkpoint is stale when BFL no longer knows the task', async () => {
    const err = await failure(provider().generate(req({ prompt: 'x' }), { resume: { provider: 'bfl', id: 'gone', pollUrl: `${fake.regionUrl}/get_result?id=gone` } }));
    expect(err).toBeInstanceOf(BflTaskNotFound);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).toMatchObject({ taskId: 'gone', staleCheckpoint: true });
    expect(err.message).toContain('stale');
    expect(fake.created).toBe(0);
  });
});

describe('BflProvider: faults', () => {
  it('refuses flux-schnell without calling BFL', async () => {
    const err = await failure(provider().generate(req({ prompt: 'x', model: 'flux-schnell' })));
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    expect(fake.calls).toHaveLength(0);
  });

  it('429 without Retry-After → ProviderRateLimited without a delay', async () => {
    fake.failNext('429');
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBeUndefined();
  });

  it('429 with Retry-After → ProviderRateLimited with the delay', async () => {
    fake.failNext('429-retry-after');
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderRateLimited);
    expect((err as ProviderRateLimited).retryAfterMs).toBe(2_000);
  });

  it.each([
    ['500', ProviderUnavailable],
    ['401', ProviderUnauthorized],
    ['402', ProviderOutOfCredits],
    ['422', InvalidInput],
  ] as const)('submit answering %s → %s', async (kind, type) => {
    fake.failNext(kind);
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(type);
    expect(fake.created).toBe(0);
  });

  it('a 422 names the field BFL refused', async () => {
    fake.failNext('422');
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe('prompt');
    expect(err.message).toContain('Field required');
  });

  it('a wrong key → ProviderUnauthorized, the key kept out of the error', async () => {
    const err = await failure(provider({ apiKey: 'wrong-secret-key' }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderUnauthorized);
    expect(`${err.message} ${err.userMessage}`).not.toContain('wrong-secret-key');
  });

  it.each(['request-moderated', 'content-moderated'] as const)('%s → ContentModerated, not retried', async (kind) => {
    fake.failNext(kind);
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ContentModerated);
    expect(err.retryable).toBe(false);
    expect(fake.created).toBe(1);
  });

  it('Error → ProviderTaskFailed (retryable, with a new task); an Error about the input → GenerationFailed', async () => {
    fake.failNext('error');
    const unavailable = await failure(provider().generate(req({ prompt: 'x' })));
    expect(unavailable).toBeInstanceOf(ProviderTaskFailed);
    expect(unavailable).toBeInstanceOf(ProviderUnavailable);
    expect(unavailable.retryable).toBe(true);

    fake.failNext('error-input');
    const failed = await failure(provider().generate(req({ prompt: 'x' })));
    expect(failed).toBeInstanceOf(GenerationFailed);
    expect(failed.retryable).toBe(false);
  });

  it('Task not found for a fresh task → BflTaskNotFound, not a stale checkpoint', async () => {
    fake.failNext('task-not-found');
    const err = await failure(provider().generate(req({ prompt: 'x' })));
    expect(err).toMatchObject({ staleCheckpoint: false });
    expect(err).toBeInstanceOf(BflTaskNotFound);
  });

  it('Failed (undocumented) ends the task like Error instead of being polled until the deadline', () => {
    const task = { id: 't', resumed: false };
    expect(() => readBflPoll({ id: 't', status: 'Failed', details: { message: 'Internal error' } }, task)).toThrow(ProviderTaskFailed);
    expect(() => readBflPoll({ id: 't', status: 'Failed', details: { message: 'Invalid image prompt' } }, task)).toThrow(GenerationFailed);
  });

  it('status polls slower than the request timeout, past the retries → ProviderUnavailable: the task is kept', async () => {
    fake.failNext('poll-stall', 3);
    const err = await failure(provider({ requestTimeoutMs: 200, maxPollErrors: 2 }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err).not.toBeInstanceOf(ProviderTimeout);
    expect(err).not.toBeInstanceOf(ProviderTaskFailed);
    expect(polls()).toHaveLength(3);
  });

  it('gives up after too many polling failures in a row', async () => {
    fake.failNext('poll-500', 3);
    const err = await failure(provider({ maxPollErrors: 2 }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect((err as ProviderUnavailable).status).toBe(500);
  });

  it('a submit slower than the request timeout → ProviderTimeout', async () => {
    fake.submitDelayMs = 5_000;
    const err = await failure(provider({ requestTimeoutMs: 200 }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderTimeout);
  });

  it('a task that never finishes → ProviderTimeout at the deadline, and polling stops (BFL has no cancel endpoint)', async () => {
    fake.failNext('hang');
    const err = await failure(provider({ timeoutMs: 1_000 }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderTimeout);
    expect(polls().length).toBeGreaterThan(0);
    await expectPollingStopped();
  });

  it('abort → GenerationCanceled and polling stops', async () => {
    fake.failNext('hang');
    const controller = new AbortController();
    const running = provider().generate(req({ prompt: 'x' }), { signal: controller.signal });
    await fake.waitFor((c) => c.path === '/v1/get_result');
    controller.abort();
    const err = await failure(running);
    expect(err).toBeInstanceOf(GenerationCanceled);
    expect(err.message).toContain('no cancel endpoint');
    await expectPollingStopped();
  });
});

/** Several poll intervals pass with no new poll. (Can only pass wrongly, never fail wrongly, on a slow machine.) */
async function expectPollingStopped(): Promise<void> {
  const before = polls().length;
  await sleep(200);
  expect(polls().length).toBe(before);
}

/**
 * The key goes to BFL hosts only: the configured base's host and `*.bfl.ai` over https. `thief` (127.0.0.2, another
 * host) stands for any other host a polling URL or a redirect could name; it records every key it is sent.
 */
describe('BflProvider: where x-key may go', () => {
  let thief: Server;
  let thiefUrl: string;
  let stolen: Array<{ url: string; key: unknown }> = [];

  beforeAll(async () => {
    thief = createServer((req, res) => {
      stolen.push({ url: req.url ?? '', key: req.headers['x-key'] });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', status: 'Pending' }));
    });
    await new Promise<void>((resolve) => thief.listen(0, '127.0.0.2', resolve));
    thiefUrl = `http://127.0.0.2:${(thief.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    thief.closeAllConnections();
    await new Promise<void>((resolve) => thief.close(() => resolve()));
  });
  beforeEach(() => {
    stolen = [];
  });

  it('never follows a poll redirected to another host: nothing is sent there, the poll fails as unavailable', async () => {
    fake.pollRedirect = (call) => `${thiefUrl}${call.url}`;
    const err = await failure(provider({ maxPollErrors: 1 }).generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect(err.message).toMatch(/redirected outside its API hosts/);
    expect(polls().length).toBeGreaterThan(0);
    expect(stolen).toEqual([]);
  });

  it('follows a redirect on the same host by hand, with the key', async () => {
    fake.pollRedirect = (call) => (call.query.has('hop') ? undefined : `${fake.region.url}${call.url}&hop=1`);
    const image = await provider().generate(req({ prompt: 'x' }));
    expect(image.provider).toBe('bfl');
    const hops = polls().filter((c) => c.query.has('hop'));
    expect(hops.length).toBeGreaterThan(0);
    expect(hops.every((c) => c.headers['x-key'] === fake.key)).toBe(true);
  });

  it('a polling_url on another host is not polled with the key: the global result endpoint is, and the image comes', async () => {
    await fake.close();
    fake = await BflFake.start({ regionalPolling: false });
    fake.pollingBase = `${thiefUrl}/v1`;
    let checkpoint: ProviderCheckpoint | undefined;
    const image = await provider().generate(req({ prompt: 'x' }), { checkpoint: (c) => void (checkpoint = c) });
    expect(image.provider).toBe('bfl');
    expect(stolen).toEqual([]);
    expect(polls().length).toBeGreaterThan(0);
    expect(polls().every(onServer(fake.api))).toBe(true);
    // What is checkpointed (and polled on resume) is the safe URL.
    expect(checkpoint?.pollUrl).toBe(`${fake.url}/get_result?id=${image.predictionId}`);
  });

  it('accepts BFL’s own *.bfl.ai polling hosts over https only', async () => {
    const sample = `data:image/png;base64,${(await makeImage(32, 32, 'png')).toString('base64')}`;
    const seen: Array<{ url: string; key: string | null }> = [];
    const bfl: typeof fetch = async (url, init) => {
      seen.push({ url: String(url), key: new Headers(init?.headers).get('x-key') });
      return Response.json({ id: 't1', status: 'Ready', result: { sample, seed: 1 } });
    };
    const hosted = new BflProvider({ apiKey: 'k-1', fetch: bfl, pollIntervalMs: 20 });
    const resumeAt = (pollUrl: string) => hosted.generate(req({ prompt: 'x' }), { resume: { provider: 'bfl', id: 't1', pollUrl } });
    await resumeAt('https://api.eu.bfl.ai/v1/get_result?id=t1');
    await resumeAt('http://api.eu.bfl.ai/v1/get_result?id=t1');
    await resumeAt('https://api.bfl.ai.evil.example/v1/get_result?id=t1');
    await resumeAt('https://evilbfl.ai/v1/get_result?id=t1');
    expect(seen).toEqual([
      { url: 'https://api.eu.bfl.ai/v1/get_result?id=t1', key: 'k-1' },
      { url: 'https://api.bfl.ai/v1/get_result?id=t1', key: 'k-1' },
      { url: 'https://api.bfl.ai/v1/get_result?id=t1', key: 'k-1' },
      { url: 'https://api.bfl.ai/v1/get_result?id=t1', key: 'k-1' },
    ]);
  });
});

describe('BflProvider: where the sample may come from', () => {
  it('BFL at a public address: a sample on a private address is refused, naming BFL’s output and BFL_API_URL', async () => {
    await fake.close();
    fake = await BflFake.start({ regionalPolling: false });
    // The API at a public address (1.1.1.1), reached through a fetch that leads to the fake; samples stay on 127.0.0.1.
    const viaPublicAddress: typeof fetch = (url, init) => fetch(String(url).replace('http://1.1.1.1:', 'http://127.0.0.1:'), init);
    const hosted = provider({ baseUrl: fake.url.replace('127.0.0.1', '1.1.1.1'), fetch: viaPublicAddress });
    const err = await failure(hosted.generate(req({ prompt: 'x' })));
    expect(err).toBeInstanceOf(LinkRefused);
    expect(err).toMatchObject({ owner: 'provider', reason: 'private' });
    expect(err.userMessage).toBe(
      'The image could not be used: the bfl provider’s output link points to a private or local network address (a provider’s outputs may come from private addresses only when the provider itself is configured at one, with BFL_API_URL).',
    );
    expect(fake.callsTo('GET', /^\/samples\//)).toHaveLength(0);
  });
});
