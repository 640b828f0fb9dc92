import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { guildKey, userKey } from '../../src/core/ports.js';
import { BflProvider } from '../../src/core/providers/bfl/bfl-provider.js';
import { FalProvider } from '../../src/core/providers/fal/fal-provider.js';
import type { ImageProvider } from '../../src/core/providers/provider.js';
import { ReplicateProvider } from '../../src/core/providers/replicate/replicate-provider.js';
import { signReplicateWebhook } from '../../src/core/providers/replicate/webhook.js';
import { setupWebhooks, type Webhooks } from '../../src/core/providers/webhooks/index.js';
import { parseFluxRequest, type FluxRequest } from '../../src/core/request.js';
import { HttpServer } from '../../src/http/server.js';
import { BflFake } from '../fakes/bfl-fake.js';
import { FalFake } from '../fakes/fal-fake.js';
import { MemoryDelivery } from '../fakes/memory-delivery.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, makeCore, person, silentLogger, target } from '../helpers/core.js';
import { spreadName } from '../../src/core/key-space.js';

/**
 * The webhook completion path end to end: real HTTP endpoint, real Redis, a real worker, providers against their local
 * fakes. A generation with a webhook expected waits on the hub instead of polling; the webhook wakes it at once.
 */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function request(): FluxRequest {
  const r = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-pro', output_format: 'png', aspect_ratio: '1:1', seed: 7 });
  if (!r.ok) throw r.error;
  return r.request;
}

interface Setup {
  core: FluxbotCore;
  delivery: MemoryDelivery;
  webhooks: Webhooks | undefined;
  /** The bot's endpoint (`http://127.0.0.1:<port>`). */
  endpoint: string;
}

/**
 * A core with a worker on `provider` and the HTTP endpoint. `publicUrl`: where providers are told to send webhooks
 * (default: this endpoint); `false`: webhooks off (plain polling).
 */
async function setup(provider: (webhooks: Webhooks | undefined) => ImageProvider, options: { publicUrl?: string | false; fallbackPollMs?: number; replicate?: ReplicateFake } = {}): Promise<Setup> {
  const core = await makeCore();
  cleanups.push(() => dropPrefix(core.prefix));
  cleanups.push(() => core.close(1000));
  let webhooks: Webhooks | undefined;
  const server = new HttpServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    checks: [],
    webhooks: { handle: (p, req) => (webhooks ? webhooks.receiver.handle(p, req) : Promise.resolve({ status: 404, body: {} })) },
  });
  const endpoint = `http://127.0.0.1:${await server.listen()}`;
  cleanups.push(() => server.close());
  if (options.publicUrl !== false) {
    webhooks = await setupWebhooks({
      settings: {
        PUBLIC_URL: options.publicUrl ?? endpoint,
        WEBHOOK_SECRET: 'completion-test-secret-123456',
        REPLICATE_API_URL: options.replicate?.baseUrl ?? 'http://127.0.0.1:1/v1',
        REPLICATE_API_TOKEN: options.replicate?.token,
        // Far longer than any generation here: a delivery proves the webhook woke the worker.
        WEBHOOK_FALLBACK_POLL_MS: options.fallbackPollMs ?? 60_000,
      },
      redis: core.redis,
      subscriber: () => core.connect({ maxRetriesPerRequest: null }),
      prefix: core.prefix,
      logger: silentLogger,
      listen: true,
    });
    cleanups.push(() => webhooks!.close());
  }
  const delivery = new MemoryDelivery();
  const worker = core.createWorker({
    providers: [provider(webhooks)],
    deliveries: { discord: delivery },
    ...(webhooks ? { webhookUrl: webhooks.webhookUrl, completion: webhooks.completion } : {}),
  });
  await worker.start();
  return { core, delivery, webhooks, endpoint };
}

async function generateOne(s: Setup, key = 'i-1'): Promise<void> {
  const submitted = await s.core.service.submit(request(), person('alice'), target, { dedupeKey: key });
  expect(submitted.status).toBe('queued');
  await s.delivery.until(() => s.delivery.recorded.length >= 1, 20_000);
}

function replicateProvider(fake: ReplicateFake): ImageProvider {
  // No `Prefer: wait` (as a proxy that does not hold the request): the generation is found by polling or webhook.
  return new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, preferWaitSeconds: 0, pollIntervalMs: 100, allowPrivateDownloads: true });
}

async function startReplicate(): Promise<ReplicateFake> {
  const fake = await ReplicateFake.start({ latencyMs: 1500 });
  cleanups.push(() => fake.close());
  return fake;
}

const polls = (fake: ReplicateFake) => fake.callsTo('GET', /^\/predictions\/[\w-]+$/).length;

describe('webhook completion path', () => {
  it('Replicate: the signed webhook completes the job with no status poll; without webhooks the same job polls', async () => {
    const polled = await startReplicate();
    const plain = await setup(() => replicateProvider(polled), { publicUrl: false });
    await generateOne(plain);
    expect(polls(polled)).toBeGreaterThanOrEqual(3);
    expect(polled.created).toBe(1);

    const hooked = await startReplicate();
    const s = await setup(() => replicateProvider(hooked), { replicate: hooked });
    await generateOne(s);
    const d = s.delivery.delivered[0]!;
    expect([d.image.width, d.image.height, d.image.seed]).toEqual([1024, 1024, 7]);
    const create = hooked.callsTo('POST', /^\/models\//)[0]!;
    expect((create.body as { webhook: string; webhook_events_filter: string[] }).webhook).toMatch(new RegExp(`^${s.endpoint}/webhooks/replicate\\?job=`));
    expect((create.body as { webhook_events_filter: string[] }).webhook_events_filter).toEqual(['completed']);
    expect(hooked.webhooksSent.map((w) => w.status)).toEqual([200]);
    expect(polls(hooked)).toBe(0);
    // The worker took the record: nothing is left to wake a later wait.
    expect(await s.core.redis.keys(`${spreadName(s.core.prefix)}:hook:*`)).toEqual([]);
  });

  it('no webhook arrives (unreachable PUBLIC_URL): the fallback poll still delivers; a late webhook then changes nothing', async () => {
    const fake = await startReplicate();
    const s = await setup(() => replicateProvider(fake), { publicUrl: 'http://127.0.0.1:1', fallbackPollMs: 300, replicate: fake });
    await generateOne(s);
    expect(polls(fake)).toBeGreaterThanOrEqual(1);
    await expect.poll(() => fake.webhooksSent.length).toBe(1);
    expect(fake.webhooksSent[0]!.status).toBe(0); // never reached us

    // The same completion arrives late (Replicate retries failed deliveries): accepted, idempotent, no effect.
    const body = fake.webhooksSent[0]!.body;
    await expect.poll(async () => (await s.core.queue.getJobs(['completed'])).length).toBe(1);
    const jobs = await s.core.queue.getJobs(['completed']);
    const before = jobs[0]!.returnvalue;
    const headers = (id: string) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signReplicateWebhook({ id, timestamp, body, secret: fake.webhookSecret }) };
    };
    const url = `${s.endpoint}/webhooks/replicate?job=${jobs[0]!.id}`;
    const late = await fetch(url, { method: 'POST', headers: headers('msg_late'), body });
    expect(late.status).toBe(200);
    const again = await fetch(url, { method: 'POST', headers: headers('msg_late'), body });
    expect(again.status).toBe(401);
    const job = await s.core.queue.getJob(jobs[0]!.id!);
    expect(await job!.getState()).toBe('completed');
    expect(job!.returnvalue).toEqual(before);
    expect(s.delivery.delivered).toHaveLength(1);
    expect(fake.created).toBe(1);
    const view = await s.core.admin.userView(userKey(person('alice')), guildKey(person('alice')));
    expect([view.usedToday, view.inFlight]).toEqual([1, 0]);
  });

  it('fal: the webhook wakes the worker, which reads the result from the queue (one status call instead of many)', async () => {
    const make = async () => {
      const fake = await FalFake.start({ latencyMs: 1500 });
      cleanups.push(() => fake.close());
      return fake;
    };
    const provider = (fake: FalFake) => () => new FalProvider({ key: fake.key, baseUrl: fake.url, pollIntervalMs: 50, allowPrivateDownloads: true });
    const statusCalls = (fake: FalFake) => fake.callsTo('GET', /\/status$/).length;

    const polled = await make();
    await generateOne(await setup(provider(polled), { publicUrl: false }));
    expect(statusCalls(polled)).toBeGreaterThanOrEqual(5);

    const hooked = await make();
    const s = await setup(provider(hooked));
    await generateOne(s);
    expect(hooked.callsTo('POST', /./)[0]!.query.get('fal_webhook')).toMatch(/\/webhooks\/fal\?job=.+&token=/);
    expect(hooked.webhooks.map((w) => w.status)).toEqual([200]);
    // No status call before the webhook; one after it (COMPLETED), then the result.
    expect(statusCalls(hooked)).toBe(1);
    expect(hooked.callsTo('GET', /\/requests\/[^/]+$/)).toHaveLength(1);
    expect(s.delivery.delivered).toHaveLength(1);
  });

  it('BFL: a webhook in the documented {id,status,result} shape, carrying the secret, wakes the worker', async () => {
    const fake = await BflFake.start({ latencyMs: 500 });
    cleanups.push(() => fake.close());
    const s = await setup((w) => new BflProvider({ apiKey: fake.key, baseUrl: fake.url, pollIntervalMs: 50, webhookSecret: w!.bflSecret }));
    const submitted = await s.core.service.submit(request(), person('alice'), target, { dedupeKey: 'b-1' });
    expect(submitted.status).toBe('queued');

    // Act as BFL: once the task is done, call the webhook_url it was given, echoing webhook_secret.
    const submit = await fake.waitFor((c) => c.method === 'POST' && c.path === '/v1/flux-pro');
    const { webhook_url: url, webhook_secret: secret } = submit.body as { webhook_url: string; webhook_secret: string };
    expect(url).toMatch(new RegExp(`^${s.endpoint}/webhooks/bfl\\?job=.+&token=`));
    expect(secret).toBe(s.webhooks!.bflSecret);
    const task = [...fake.tasks.values()][0]!;
    await expect.poll(() => Date.now() - task.createdAt >= fake.latencyMs, { timeout: 10_000 }).toBe(true);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      body: JSON.stringify({ id: task.id, status: 'Ready', result: { sample: fake.sampleUrl(task.id), seed: 7 } }),
    });
    expect(res.status).toBe(200);
    await s.delivery.until(() => s.delivery.recorded.length === 1, 20_000);
    // No poll before the webhook; one after it (Ready): not one every 50 ms.
    expect(fake.callsTo('GET', /^\/v1\/get_result$/)).toHaveLength(1);
  });
});
