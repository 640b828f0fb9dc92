import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { BflProvider } from '../../../src/core/providers/bfl/bfl-provider.js';
import { CogProvider } from '../../../src/core/providers/cog/cog-provider.js';
import { FalProvider } from '../../../src/core/providers/fal/fal-provider.js';
import type { ImageProvider } from '../../../src/core/providers/provider.js';
import { ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import type { RetryPolicy } from '../../../src/core/queue/retry-policy.js';
import { BflFake } from '../../fakes/bfl-fake.js';
import { CogFake } from '../../fakes/cog-fake.js';
import { FalFake } from '../../fakes/fal-fake.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

/*
 * What a job's retry does with the provider's prediction, with the real provider clients against the fakes of their
 * HTTP contracts: a prediction that may still deliver is resumed (paid once), one that is over is replaced.
 */

const policy: RetryPolicy = { attemptsPerProvider: 2, maxRateLimitWaits: 3, baseBackoffMs: 20, maxBackoffMs: 200, followPredictionMs: 60_000 };
/** Short enough that a stalled call times out quickly; long enough for a local answer. */
const REQUEST_TIMEOUT_MS = 300;

let core: FluxbotCore | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  if (core) {
    await core.close(1000);
    await dropPrefix(core.prefix);
    core = undefined;
  }
  for (const close of closers.splice(0)) await close();
});

async function run(provider: ImageProvider, model: 'flux-pro' | 'flux-1.1-pro' = 'flux-pro') {
  core = await makeCore();
  const delivery = new MemoryDelivery();
  await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, policy }).start();
  const submitted = await core.service.submit(fluxRequest({ model }), person('alice'), target, { dedupeKey: 'i' });
  if (submitted.status !== 'queued') throw new Error(`not queued: ${submitted.status}`);
  await delivery.until(() => delivery.recorded.length + delivery.failures.length > 0, 20_000);
  const job = await core.queue.getJob(submitted.jobId);
  return { delivery, job: job! };
}

async function replicateFake(): Promise<ReplicateFake> {
  const fake = await ReplicateFake.start();
  closers.push(() => fake.close());
  return fake;
}

function replicate(fake: ReplicateFake, timeoutMs = 15_000): ReplicateProvider {
  return new ReplicateProvider({
    baseUrl: fake.baseUrl,
    token: fake.token,
    pollIntervalMs: 20,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    timeoutMs,
    preferWaitSeconds: 0,
    allowPrivateDownloads: true,
  });
}

describe('a per-request timeout of a prediction that exists: the retry resumes it', () => {
  it('Replicate: status polls that outlive the request timeout → one prediction, resumed and delivered, never canceled', async () => {
    const fake = await replicateFake();
    // One more than the polling loop rides out, so the attempt fails and the job is retried.
    fake.failNext('stall', { on: 'get', times: 4 });
    const { delivery, job } = await run(replicate(fake));
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(0); // following a prediction that exists spends no attempt
    expect(fake.created).toBe(1);
    const id = delivery.delivered[0]!.image.predictionId;
    expect(fake.prediction(id)?.status).toBe('succeeded');
    expect(new Set(fake.callsTo('GET', /^\/predictions\//).map((c) => c.path))).toEqual(new Set([`/v1/predictions/${id}`]));
    expect(fake.callsTo('POST', /\/cancel$/)).toHaveLength(0);
  });

  it('Replicate: an image download that outlives the request timeout → the same prediction is read and downloaded again', async () => {
    const fake = await replicateFake();
    fake.failNext('stall', { on: 'file' });
    const { delivery } = await run(replicate(fake));
    expect(delivery.delivered).toHaveLength(1);
    expect(fake.created).toBe(1);
    const id = delivery.delivered[0]!.image.predictionId;
    expect(fake.calls.filter((c) => c.path.startsWith(`/files/${id}.`))).toHaveLength(2);
    expect(fake.callsTo('POST', /\/cancel$/)).toHaveLength(0);
  });

  it('fal: status polls that outlive the request timeout → one request, resumed and delivered, never canceled', async () => {
    const fake = await FalFake.start();
    closers.push(() => fake.close());
    for (let i = 0; i < 4; i++) fake.failNext('stall', { route: 'status' });
    const fal = new FalProvider({ key: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: REQUEST_TIMEOUT_MS, timeoutMs: 15_000, allowPrivateDownloads: true });
    const { delivery, job } = await run(fal, 'flux-1.1-pro');
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(0); // following a prediction that exists spends no attempt
    expect(fake.created).toBe(1);
    expect(delivery.delivered[0]!.image.predictionId).toBe([...fake.requests.keys()][0]);
    expect(fake.canceled).toBe(0);
  });

  it('BFL: status polls that outlive the request timeout → one task, resumed and delivered', async () => {
    const fake = await BflFake.start();
    closers.push(() => fake.close());
    fake.failNext('poll-stall', 4);
    const bfl = new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 20, requestTimeoutMs: REQUEST_TIMEOUT_MS, timeoutMs: 15_000 });
    const { delivery, job } = await run(bfl);
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(0); // following a prediction that exists spends no attempt
    expect(fake.created).toBe(1);
    expect(delivery.delivered[0]!.image.predictionId).toBe([...fake.tasks.keys()][0]);
  });

  it('Replicate: past the whole generation’s deadline the prediction is canceled and the retry starts a new one', async () => {
    const fake = await replicateFake();
    fake.failNext('hang');
    const { delivery } = await run(replicate(fake, 1_000));
    expect(delivery.delivered).toHaveLength(1);
    expect(fake.created).toBe(2);
    const cancels = fake.callsTo('POST', /\/cancel$/);
    expect(cancels).toHaveLength(1);
    const first = cancels[0]!.path.split('/')[3]!;
    expect(fake.prediction(first)?.status).toBe('canceled');
    expect(delivery.delivered[0]!.image.predictionId).not.toBe(first);
  });
});

describe('a slow create (the prediction exists and is billed, its answer is lost): never paid twice', () => {
  it('Replicate: a create answered too late → found in the list and resumed in the same attempt; one billed, one image', async () => {
    const fake = await replicateFake();
    fake.failNext('slow-create');
    const { delivery, job } = await run(replicate(fake));
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(job.data.providerFailures).toBe(0);
    expect(job.data.checkpoint?.id).toBe(delivery.delivered[0]!.image.predictionId);
  });

  it('Replicate: not found in that attempt (the list failed) → the job’s retry looks before it creates; one billed', async () => {
    const fake = await replicateFake();
    fake.failNext('slow-create').failNext('500', { on: 'list' });
    const { delivery, job } = await run(replicate(fake));
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(1);
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(fake.callsTo('POST', /^\/models\//)).toHaveLength(1);
    // The attempt's own look (failed), then the retry's.
    expect(fake.callsTo('GET', /^\/predictions$/)).toHaveLength(2);
  });

  it('Replicate: a connection dropped after the create → found with one look and resumed; one billed', async () => {
    const fake = await replicateFake();
    fake.failNext('dropped-create');
    const { delivery } = await run(replicate(fake));
    expect(delivery.delivered).toHaveLength(1);
    expect([fake.created, fake.billed]).toEqual([1, 1]);
    expect(fake.callsTo('GET', /^\/predictions$/)).toHaveLength(1);
  });
});

describe('a slow create on Cog (the id is ours, checkpointed before the PUT): the retry joins the same prediction', () => {
  it('Cog: a PUT whose connection drops while the prediction runs → the retry PUTs the same id and joins it; one run', async () => {
    const fake = await CogFake.start({ model: 'flux-pro', latencyMs: 1_000 });
    closers.push(() => fake.close());
    fake.failNext('dropped');
    const { delivery, job } = await run(new CogProvider({ baseUrl: fake.url, model: 'flux-pro', timeoutMs: 15_000 }));
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(0); // following a prediction that exists spends no attempt
    const puts = fake.callsTo('PUT', /^\/predictions\/[^/]+$/);
    expect(puts).toHaveLength(2);
    expect(puts[1]!.path).toBe(puts[0]!.path);
    expect([fake.created, fake.joined]).toEqual([1, 1]);
    expect(delivery.delivered[0]!.image.predictionId).toBe(job.data.checkpoint?.id);
  });
});

describe('a provider task that ended in failure: the retry submits a new one', () => {
  it('BFL: a task that answers Error is not read again; the second task delivers', async () => {
    const fake = await BflFake.start();
    closers.push(() => fake.close());
    fake.failNext('error');
    const bfl = new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 20, timeoutMs: 15_000 });
    const { delivery, job } = await run(bfl);
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(1);
    expect(fake.created).toBe(2);
    const [failed, second] = [...fake.tasks.values()];
    expect(failed!.outcome).toBe('error');
    expect(delivery.delivered[0]!.image.predictionId).toBe(second!.id);
  });

  it('fal: a request that completed with a runner error is not read again; the second request delivers', async () => {
    const fake = await FalFake.start();
    closers.push(() => fake.close());
    fake.failNext('error');
    const fal = new FalProvider({ key: fake.key, baseUrl: fake.url, pollIntervalMs: 20, timeoutMs: 15_000, allowPrivateDownloads: true });
    const { delivery, job } = await run(fal, 'flux-1.1-pro');
    expect(delivery.failures).toEqual([]);
    expect(delivery.delivered).toHaveLength(1);
    expect(job.data.providerFailures).toBe(1);
    expect(fake.created).toBe(2);
    const [failed, second] = [...fake.requests.values()];
    expect(failed!.outcome).toBe('error');
    expect(delivery.delivered[0]!.image.predictionId).toBe(second!.id);
  });
});
