import { createHmac } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signReplicateWebhook } from '../../src/core/providers/replicate/webhook.js';
import { setupWebhooks, webhookUrlFor, type Webhooks } from '../../src/core/providers/webhooks/index.js';
import { HttpServer } from '../../src/http/server.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL, silentLogger, testPrefix } from '../helpers/core.js';
import { hookKey } from '../../src/core/providers/webhooks/completion-hub.js';
import { spreadName } from '../../src/core/key-space.js';

/**
 * `POST /webhooks/<provider>` over real HTTP and the real Redis: what is accepted, what is refused, and that a refused
 * call leaves nothing behind.
 */
const PUBLIC_URL = 'https://bot.example';
const SECRET = 'test-webhook-secret-0123456789';

let redis: Redis;
let replicate: ReplicateFake;
let prefix: string;
let webhooks: Webhooks;
let server: HttpServer;
let base: string;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  replicate = await ReplicateFake.start();
});
afterAll(async () => {
  await replicate.close();
  redis.disconnect();
});

async function start(): Promise<void> {
  prefix = testPrefix('hooks');
  webhooks = await setupWebhooks({
    settings: { PUBLIC_URL, WEBHOOK_SECRET: SECRET, REPLICATE_API_URL: replicate.baseUrl, REPLICATE_API_TOKEN: replicate.token },
    redis,
    subscriber: () => redis.duplicate(),
    prefix,
    logger: silentLogger,
    listen: false,
  });
  server = new HttpServer({ port: 0, host: '127.0.0.1', logger: silentLogger, checks: [], webhooks: webhooks.receiver });
  base = `http://127.0.0.1:${await server.listen()}`;
}

afterEach(async () => {
  await server.close();
  await webhooks.close();
  await dropPrefix(prefix);
});

function prediction(id = 'p-abc123') {
  return { id, status: 'succeeded', output: 'https://replicate.delivery/x.png', error: null, logs: 'Using seed: 7\n' };
}

function signed(body: string, options: { id?: string; timestamp?: number; secret?: string } = {}): Record<string, string> {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = signReplicateWebhook({ id, timestamp, body, secret: options.secret ?? replicate.webhookSecret });
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as { ok?: boolean; error?: string } };
}

/** Every key this test's webhooks left in Redis (hook records, remembered webhook ids), apart from the secret. */
async function leftovers(): Promise<string[]> {
  const keys = await redis.keys(`${spreadName(prefix)}:hook*`);
  return keys.sort();
}

describe('Replicate webhooks: signature, replay window, replay protection', () => {
  it('accepts a signed webhook and records the prediction for its worker', async () => {
    await start();
    const body = JSON.stringify(prediction());
    const res = await post('/webhooks/replicate?job=42', body, signed(body));
    expect(res).toEqual({ status: 200, body: { ok: true } });
    const record = JSON.parse((await redis.get(hookKey(prefix, 'replicate', 'p-abc123')))!) as { job: string; payload: unknown };
    expect(record).toEqual({ job: '42', payload: prediction() });
    expect(await redis.ttl(hookKey(prefix, 'replicate', 'p-abc123'))).toBeGreaterThan(0);
  });

  it('fetches the signing secret from Replicate once and caches it', async () => {
    await start();
    const before = replicate.callsTo('GET', /^\/webhooks\/default\/secret$/).length;
    for (const id of ['p1', 'p2', 'p3']) {
      const body = JSON.stringify(prediction(id));
      expect((await post('/webhooks/replicate', body, signed(body))).status).toBe(200);
    }
    expect(replicate.callsTo('GET', /^\/webhooks\/default\/secret$/).length - before).toBe(1);
  });

  it('refuses unsigned, forged and stale calls with 401 and records nothing', async () => {
    await start();
    const body = JSON.stringify(prediction());
    const unsigned = await post('/webhooks/replicate', body);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error).toMatch(/unsigned/);

    const forged = await post('/webhooks/replicate', body, signed(body, { secret: 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY' }));
    expect([forged.status, forged.body.error]).toEqual([401, 'invalid webhook signature']);

    const tampered = signed(body);
    const changed = await post('/webhooks/replicate', body.replace('succeeded', 'failed'), tampered);
    expect([changed.status, changed.body.error]).toEqual([401, 'invalid webhook signature']);

    const stale = await post('/webhooks/replicate', body, signed(body, { timestamp: Math.floor(Date.now() / 1000) - 600 }));
    expect(stale.status).toBe(401);
    expect(stale.body.error).toMatch(/stale/);

    const future = await post('/webhooks/replicate', body, signed(body, { timestamp: Math.floor(Date.now() / 1000) + 600 }));
    expect(future.status).toBe(401);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a replayed webhook-id with 401, leaving the first record as it was', async () => {
    await start();
    const body = JSON.stringify(prediction());
    const headers = signed(body, { id: 'msg_replay_me' });
    expect((await post('/webhooks/replicate', body, headers)).status).toBe(200);
    await redis.del(hookKey(prefix, 'replicate', 'p-abc123')); // as if its worker had taken it
    const replay = await post('/webhooks/replicate', body, headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatch(/replayed/);
    expect(await redis.exists(hookKey(prefix, 'replicate', 'p-abc123'))).toBe(0);
  });

  it('answers 400 to a signed call whose body is not a prediction, and does not burn its webhook-id', async () => {
    await start();
    for (const bad of ['not json', '[]', '{"status":"succeeded"}', JSON.stringify({ id: 'x'.repeat(500), status: 'succeeded' })]) {
      const res = await post('/webhooks/replicate', bad, signed(bad, { id: 'msg_bad' }));
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/prediction/);
    }
    expect(await leftovers()).toEqual([]);
  });
});

describe('fal and BFL webhooks: the per-job token in the URL', () => {
  function path(provider: 'fal' | 'bfl', job: string): string {
    const url = new URL(webhooksUrl(provider, job));
    return `${url.pathname}${url.search}`;
  }
  function webhooksUrl(provider: 'fal' | 'bfl', job: string): string {
    const url = webhooks.webhookUrl(job, provider);
    expect(url).toBe(webhookUrlFor(PUBLIC_URL, SECRET, provider, job));
    return url!;
  }

  it('accepts fal with a valid token (a wake-up: the payload is not kept) and refuses a missing or foreign token', async () => {
    await start();
    const body = JSON.stringify({ request_id: 'req-1', status: 'OK', payload: { images: [{ url: 'https://evil.example/x.png' }] } });
    expect(await post(path('fal', 'job-1'), body)).toEqual({ status: 200, body: { ok: true } });
    expect(JSON.parse((await redis.get(hookKey(prefix, 'fal', 'req-1')))!)).toEqual({ job: 'job-1' });
    await redis.del(hookKey(prefix, 'fal', 'req-1'));

    const noToken = await post('/webhooks/fal?job=job-1', body);
    expect([noToken.status, noToken.body.error]).toEqual([401, 'missing or invalid webhook token']);
    const otherJob = path('fal', 'job-1').replace('job=job-1', 'job=job-2');
    expect((await post(otherJob, body)).status).toBe(401);
    const otherProvider = path('bfl', 'job-1').replace('/webhooks/bfl', '/webhooks/fal');
    expect((await post(otherProvider, body)).status).toBe(401);
    const malformed = await post(path('fal', 'job-1'), '{"status":"OK"}');
    expect(malformed.status).toBe(400);
    expect(await leftovers()).toEqual([]);
  });

  it('accepts BFL with a valid token and its documented {id,status,result} body; checks the secret when BFL sends it', async () => {
    await start();
    const body = JSON.stringify({ id: 'task-9', status: 'Ready', result: { sample: 'https://bfl.example/s.jpg', seed: 3 } });
    expect((await post(path('bfl', 'job-9'), body)).status).toBe(200);
    expect(await redis.exists(hookKey(prefix, 'bfl', 'task-9'))).toBe(1);
    await redis.del(hookKey(prefix, 'bfl', 'task-9'));

    const rightHeader = await post(path('bfl', 'job-9'), body, { 'content-type': 'application/json', 'x-webhook-secret': webhooks.bflSecret });
    expect(rightHeader.status).toBe(200);
    const goodSignature = createHmac('sha256', webhooks.bflSecret).update(body).digest('hex');
    expect((await post(path('bfl', 'job-9'), body, { 'x-webhook-signature': `sha256=${goodSignature}` })).status).toBe(200);
    await redis.del(hookKey(prefix, 'bfl', 'task-9'));

    const wrongHeader = await post(path('bfl', 'job-9'), body, { 'content-type': 'application/json', 'x-webhook-secret': 'guessed' });
    expect([wrongHeader.status, wrongHeader.body.error]).toEqual([401, 'invalid webhook secret']);
    const wrongSignature = await post(path('bfl', 'job-9'), body, { 'x-webhook-signature': 'sha256=00ff' });
    expect(wrongSignature.status).toBe(401);
    expect((await post('/webhooks/bfl?job=job-9&token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', body)).status).toBe(401);
    expect(await leftovers()).toEqual([]);
  });

  it('answers 404 for a provider without webhooks', async () => {
    await start();
    const res = await post('/webhooks/cog?job=1', '{}');
    expect([res.status, res.body.error]).toEqual([404, 'no webhooks for provider cog']);
    expect(webhooks.webhookUrl('1', 'cog')).toBeUndefined();
    expect(webhooks.webhookUrl('1', 'preview')).toBeUndefined();
  });
});
