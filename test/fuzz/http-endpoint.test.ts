import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { signReplicateWebhook } from '../../src/core/providers/replicate/webhook.js';
import { CompletionHub, derivedSecret, ReplicateSecretSource, WebhookReceiver, webhookToken } from '../../src/core/providers/webhooks/index.js';
import { HttpServer } from '../../src/http/server.js';
import { dropPrefix, makeCore, silentLogger } from '../helpers/core.js';
import { fuzzSeed, type Prng } from './hostile.js';

/**
 * Malformed and forged calls to the operator endpoint (the real HttpServer with the real WebhookReceiver and
 * CompletionHub, as main.ts wires them with PUBLIC_URL set): garbage bodies, forged and stale signatures, forged
 * per-job tokens, oversized bodies, wrong methods and routes. Each gets a JSON 4xx naming the problem, never a 2xx,
 * a 500, a stack or a secret; nothing reaches the hub, nothing is enqueued, and the server keeps serving.
 */

const REPLICATE_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const TOKEN_SECRET = `fuzz-server-secret-${randomBytes(8).toString('hex')}`;
const BFL_SECRET = derivedSecret(TOKEN_SECRET, 'bfl-webhook-secret');
const SECRETS = [REPLICATE_SECRET, REPLICATE_SECRET.slice(6), TOKEN_SECRET, BFL_SECRET];

let core: FluxbotCore;
let server: HttpServer;
let base: string;
let recorded = 0;

beforeAll(async () => {
  core = await makeCore();
  const hub = new CompletionHub({ redis: core.redis, prefix: core.prefix });
  const receiver = new WebhookReceiver({
    sink: {
      record: async (...args) => {
        recorded++;
        await hub.record(...args);
      },
    },
    redis: core.redis,
    prefix: core.prefix,
    tokenSecret: TOKEN_SECRET,
    bflSecret: BFL_SECRET,
    replicateSecret: new ReplicateSecretSource({ secret: REPLICATE_SECRET, baseUrl: 'http://127.0.0.1:9' }),
    logger: silentLogger,
  });
  server = new HttpServer({ port: 0, host: '127.0.0.1', logger: silentLogger, checks: [], webhooks: receiver, maxBodyBytes: 256 * 1024 });
  base = `http://127.0.0.1:${await server.listen()}`;
});

afterAll(async () => {
  await server.close();
  await core.close(1000);
  await dropPrefix(core.prefix);
});

function garbageBody(rng: Prng): Buffer | string {
  return rng.pick<() => Buffer | string>([
    () => randomBytes(rng.int(0, 4096)),
    () => '',
    () => '{',
    () => 'null',
    () => '[]',
    () => '"id"',
    () => '{"id":',
    () => JSON.stringify({ id: rng.pick(['', 0, null, {}, [], 'p'.repeat(5000)]), status: 'succeeded', output: 'http://169.254.169.254/' }),
    () => JSON.stringify({ request_id: rng.pick(['r1', '', 5]), status: 'OK' }),
    () => JSON.stringify({ id: 'task-1', status: 'Ready', webhook_secret: 'guess' }),
    () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    () => `{"__proto__":{"polluted":true},"id":"p1"}`,
    () => Buffer.alloc(300 * 1024, 0x7b), // over the endpoint's 256 KB limit
    () => JSON.stringify({ id: 'p1', status: 'succeeded', output: ['https://example.com/a.png'], logs: '\u0000\u202e'.repeat(100) }),
  ])();
}

/** Replicate's signature headers, mostly wrong: missing, garbage, forged with another key, stale, or right. */
function signatureHeaders(rng: Prng, body: Buffer | string): { headers: Record<string, string>; valid: boolean } {
  const id = rng.pick([`msg_${rng.int(0, 1e9)}`, '', 'x'.repeat(4000), '../../x']);
  const now = Math.floor(Date.now() / 1000);
  const timestamp = rng.pick([String(now), String(now - 3600), String(now + 3600), 'soon', '-1', '1e9', '99999999999999', '']);
  const forgedSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const mode = rng.int(0, 5);
  const sign = (secret: string) => (id && timestamp && /^\d+$/.test(timestamp) ? signReplicateWebhook({ id, timestamp, body, secret }) : 'v1,AAAA');
  const signature = [
    () => undefined,
    () => rng.pick(['v1,', 'v1,!!!', 'v2,abc', 'garbage', `v1,${randomBytes(32).toString('base64')}`, 'v1,'.repeat(2000)]),
    () => sign(forgedSecret),
    () => sign(forgedSecret) + ' ' + rng.pick(['v1,', 'v1a,b']),
    () => sign(REPLICATE_SECRET),
    () => sign(REPLICATE_SECRET.slice(6)), // the bare key is accepted as the same secret
  ][mode]!();
  const headers: Record<string, string> = {};
  if (id && rng.chance(0.9)) headers['webhook-id'] = id;
  if (timestamp && rng.chance(0.9)) headers['webhook-timestamp'] = timestamp;
  if (signature !== undefined) headers['webhook-signature'] = signature;
  const fresh = Math.abs(Number(timestamp) - now) <= 300;
  const valid = mode >= 4 && fresh && headers['webhook-id'] !== undefined && headers['webhook-timestamp'] !== undefined && /^\d{1,12}$/.test(timestamp);
  return { headers, valid };
}

function query(rng: Prng, provider: string): string {
  const job = rng.pick(['', 'job-1', 'j'.repeat(3000), '../../admin', '%00', String(rng.int(0, 1e6))]);
  const token = rng.pick<() => string | undefined>([
    () => undefined,
    () => '',
    () => randomBytes(16).toString('base64url'),
    () => webhookToken('not-the-secret', provider, job),
    () => webhookToken(TOKEN_SECRET, provider === 'fal' ? 'bfl' : 'fal', job), // a real token, for another provider
    () => webhookToken(TOKEN_SECRET, provider, `${job}x`), // a real token, for another job
  ])();
  const q = new URLSearchParams();
  if (job) q.set('job', job);
  if (token !== undefined) q.set('token', token);
  if (rng.chance(0.1)) q.append('job', 'second');
  return q.toString();
}

async function send(method: string, path: string, body: Buffer | string | undefined, headers: Record<string, string>): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

describe('the operator endpoint under malformed and forged webhook calls', () => {
  it('answers each with a JSON 4xx that names the problem; nothing reaches the hub; nothing is enqueued (500 calls)', async () => {
    const rng = fuzzSeed('http endpoint');
    const calls = Array.from({ length: 500 }, () => {
      const provider = rng.pick(['replicate', 'replicate', 'fal', 'bfl', 'cog', 'nope', 'REPLICATE', 'a'.repeat(200), 'replicate/x', '%2e%2e']);
      const method = rng.chance(0.9) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
      let body = garbageBody(rng);
      const sig = signatureHeaders(rng, body);
      if (sig.valid) {
        // Correctly signed calls carry a body that is not a prediction (the valid control comes after): re-signed.
        body = rng.pick(['', '{', '[]', '{"id":""}', 'null', '{"id":5}']);
        const { 'webhook-id': id, 'webhook-timestamp': timestamp } = sig.headers;
        sig.headers['webhook-signature'] = signReplicateWebhook({ id: id!, timestamp: timestamp!, body, secret: REPLICATE_SECRET });
      }
      const headers: Record<string, string> = {
        'content-type': rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']),
        ...(provider.startsWith('replicate') ? sig.headers : {}),
        ...(rng.chance(0.1) ? { 'x-webhook-secret': rng.pick(['guess', BFL_SECRET.slice(0, 10)]) } : {}),
      };
      if (!headers['content-type']) delete headers['content-type'];
      return { provider, method, path: `/webhooks/${provider}?${query(rng, provider)}`, body, headers };
    });
    // A few at a time, as providers' retries would arrive.
    for (let i = 0; i < calls.length; i += 8) {
      const answers = await Promise.all(calls.slice(i, i + 8).map((c) => send(c.method, c.path, c.body, c.headers).then((a) => ({ ...a, call: c }))));
      for (const { status, text, type, call } of answers) {
        const what = `${call.method} ${call.path.slice(0, 120)}`;
        expect([400, 401, 404, 405, 413], `${what} → ${status} ${text.slice(0, 200)}`).toContain(status);
        expect(type).toBe('application/json');
        const error = (JSON.parse(text) as { error?: unknown }).error;
        expect(typeof error, what).toBe('string');
        expect((error as string).length).toBeGreaterThan(5);
        expect((error as string).length).toBeLessThan(300);
        expect(text).not.toMatch(/\n\s+at |Error:|node:internal/);
        for (const secret of SECRETS) expect(text.includes(secret)).toBe(false);
      }
    }
    expect(recorded).toBe(0);
    const counts = await core.queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect((await send('GET', '/healthz', undefined, {})).status).toBe(200);
  });

  it('still accepts a correctly signed Replicate webhook afterwards, once (the control), and refuses its replay', async () => {
    const body = JSON.stringify({ id: 'pred-control', status: 'succeeded', output: 'https://replicate.delivery/x.webp' });
    const id = `msg_control_${Date.now()}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signReplicateWebhook({ id, timestamp, body, secret: REPLICATE_SECRET }) };
    const first = await send('POST', '/webhooks/replicate?job=j1', body, headers);
    expect(first.status).toBe(200);
    expect(recorded).toBe(1);
    const replay = await send('POST', '/webhooks/replicate?job=j1', body, headers);
    expect(replay.status).toBe(401);
    expect(replay.text).toContain('replayed');
    expect(recorded).toBe(1);
  });
});
