import sharp from 'sharp';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FLOOD_LIMITS } from '../../../src/bots/web/web-routes.js';
import { MAX_UPLOAD_BYTES } from '../../../src/bots/web/web-text.js';
import { Client, rawGet, startPlayground, type Playground } from './playground.js';

const TOKEN = 'playground-token-0123456789';

/** Hostile input on the web adapter: every refusal is clear, queues nothing and charges nothing. */
describe('web playground under hostile input', () => {
  const apps: Playground[] = [];
  const start = async (options: Parameters<typeof startPlayground>[0] = {}) => {
    const app = await startPlayground(options);
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('uploads: oversized, not an image, a truncated image and an inline data: URI are refused; a real image goes in by reference', async () => {
    const app = await start();
    const client = await new Client(app.base).open();
    const counts = await app.core.queue.getJobCounts();
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } }).png().toBuffer();

    const huge = Buffer.alloc(MAX_UPLOAD_BYTES + 1024, 1).toString('base64');
    const oversized = await client.generate({ prompt: 'big', model: 'flux-pro' }, { upload: { data: huge } });
    expect(oversized.status).toBe(413);
    expect(oversized.body).toMatchObject({ error: 'The image prompt is larger than 8 MB; use a smaller image.', field: 'image_prompt' });
    const bodyTooLarge = await client.generate({ prompt: 'big', model: 'flux-pro' }, { upload: { data: huge + huge + huge } });
    expect(bodyTooLarge.status).toBe(413);
    expect(bodyTooLarge.body.error).toContain('at most 8 MB');

    const refusals = [
      { data: Buffer.from('#!/bin/sh\necho not an image\n').toString('base64') },
      { data: png.subarray(0, png.length / 2).toString('base64') }, // truncated
      { data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64') },
      { data: 'not base64 at all!' },
      { data: 42 },
      null,
    ];
    for (const upload of refusals) {
      const answer = await client.generate({ prompt: 'bad upload', model: 'flux-pro' }, { upload });
      expect(answer.status, JSON.stringify(upload).slice(0, 60)).toBe(400);
      expect(answer.body).toMatchObject({ error: 'The image prompt is not a PNG, JPEG or WebP image that can be read.', field: 'image_prompt' });
    }
    const inline = await client.generate({ prompt: 'inline', model: 'flux-pro', image_prompt: `data:image/png;base64,${png.toString('base64')}` });
    expect(inline.status).toBe(400);
    const both = await client.generate({ prompt: 'both', model: 'flux-pro', image_prompt_url: 'https://example.com/a.png' }, { upload: { data: png.toString('base64') } });
    expect(both.status).toBe(400);
    const unsupported = await client.generate({ prompt: 'dev', model: 'flux-schnell' }, { upload: { data: png.toString('base64') } });
    expect(unsupported.body.error).toBe('An image prompt is not supported by flux-schnell.');
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect((await client.get('/api/me')).body.quota).toContain('You have used 0 of 5 images today');

    const good = await client.generate({ prompt: 'guided', model: 'flux-pro' }, { upload: { data: png.toString('base64') } });
    expect(good.status).toBe(202);
    const job = await app.core.queue.getJob(String(good.body.jobId));
    expect(job?.data.request.image_prompt).toMatch(/^fluxbot-input:[0-9a-f]{64}$/);
    expect((await client.follow(String(good.body.jobId))).final).toBe('done');
  });

  it('a flood from one session gets 429 with a clear message, and quotas hold for what gets through', async () => {
    const app = await start({ limits: { ...DEFAULT_FLOOD_LIMITS, actions: { burst: 4, refillMs: 60_000 } }, quotas: { dailyPerUser: 3, concurrentPerUser: 2 } });
    const client = await new Client(app.base).open();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => client.generate({ prompt: `flood ${i}` })));
    const by = (status: number) => answers.filter((a) => a.status === status);
    expect(by(429).length).toBe(26);
    expect(by(429)[0]!.body.error).toMatch(/^Too many requests from this browser; wait \d+ s and try again\.$/);
    expect(by(429)[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    // Of the 4 let through, the quota admits at most 2 at once (concurrent) and 3 a day.
    const queued = by(202);
    expect(queued.length).toBeGreaterThanOrEqual(1);
    expect(queued.length).toBeLessThanOrEqual(2);
    for (const refused of by(403)) expect(refused.body.error).toMatch(/in progress|images for today/);
    expect(queued.length + by(403).length).toBe(4);
    for (const q of queued) await client.follow(String(q.body.jobId));
    const view = await app.core.admin.userView(`web:playground:${client.cookie!.split('=')[1]!.split('.')[0]}`, 'web:playground');
    expect(view.usedToday).toBe(queued.length);
    expect(view.inFlight).toBe(0);
    // Reads are limited separately and still work while actions wait.
    expect((await client.get('/api/me')).status).toBe(200);
  });

  it('a session may hold only a few status streams open; closing one frees its place', async () => {
    const app = await start({ latencyMs: 3000, limits: { ...DEFAULT_FLOOD_LIMITS, streams: 2 } });
    const client = await new Client(app.base).open();
    const queued = await client.generate({ prompt: 'slow' });
    const url = `${app.base}/api/jobs/${String(queued.body.jobId)}/events`;
    const open = () => {
      const abort = new AbortController();
      return { abort, res: fetch(url, { headers: { cookie: client.cookie! }, signal: abort.signal }) };
    };
    const streams = [open(), open()];
    for (const s of streams) expect((await s.res).status).toBe(200);
    const third = await client.get(`/api/jobs/${String(queued.body.jobId)}/events`);
    expect(third.status).toBe(429);
    expect(third.body.error).toBe('Too many open status streams from this browser; close some tabs.');
    streams[0]!.abort.abort();
    await expect.poll(async () => (await client.get('/api/me')).status).toBe(200);
    const again = open();
    await expect.poll(async () => (await again.res).status).toBe(200);
    for (const s of [streams[1]!, again]) s.abort.abort();
  });

  it('daily quota: the next image past the limit is refused with when it resets, and not queued', async () => {
    const app = await start({ quotas: { dailyPerUser: 1 } });
    const client = await new Client(app.base).open();
    const first = await client.generate({ prompt: 'one' });
    await client.follow(String(first.body.jobId));
    const counts = await app.core.queue.getJobCounts();
    const second = await client.generate({ prompt: 'two' });
    expect(second.status).toBe(403);
    expect(second.body.error).toMatch(/^You have used all 1 of your images for today\. It resets .* UTC\.$/);
    const [image] = (await client.get('/api/me')).body.images as Array<{ id: string }>;
    const reroll = await client.post('/api/reroll', { imageId: image!.id, requestId: crypto.randomUUID() });
    expect(reroll.status).toBe(403);
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
  });

  it('without PLAYGROUND_TOKEN only this machine is served: proxied requests and other host names get a clear 403', async () => {
    const app = await start();
    const client = new Client(app.base);
    const proxied = await client.get('/', { 'x-forwarded-for': '203.0.113.9' });
    expect(proxied.status).toBe(403);
    expect(proxied.text).toContain('only serves people on the machine it runs on');
    expect(proxied.text).toContain('PLAYGROUND_TOKEN');
    const api = await client.get('/api/me', { forwarded: 'for=203.0.113.9' });
    expect(api.status).toBe(403);
    expect(api.body.error).toContain('only serves people on the machine it runs on');
    const rebound = await rawGet(app.port, '/api/session', { host: `attacker.example:${app.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain(`http://localhost:${app.port}/`);
    expect((await rawGet(app.port, '/api/session', { host: `localhost:${app.port}` })).status).toBe(200);
    expect((await rawGet(app.port, '/', { host: `[::1]:${app.port}` })).status).toBe(200);
    // Not the playground's paths: left to the other routes (404 here).
    expect((await client.get('/elsewhere', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(404);
  });

  it('with PLAYGROUND_TOKEN people sign in with it; a wrong token or no sign-in is refused', async () => {
    const app = await start({ token: TOKEN });
    const client = await new Client(app.base).open();
    expect((await client.get('/api/session')).body).toMatchObject({ needsSignIn: true });
    const page = await client.get('/', { 'x-forwarded-for': '203.0.113.9' });
    expect(page.status).toBe(200); // anyone may see the sign-in form
    const before = await client.get('/api/me');
    expect(before.status).toBe(401);
    expect(before.body.error).toBe('Sign in with the playground token first.');
    expect((await client.generate({ prompt: 'free ride' })).status).toBe(401);
    for (const token of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
      const answer = await client.post('/api/signin', { token });
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('That token is not right.');
    }
    expect((await client.post('/api/signin', { token: 42 })).status).toBe(401);
    const signedIn = await client.post('/api/signin', { token: TOKEN }, { 'x-forwarded-for': '203.0.113.9' });
    expect(signedIn.status).toBe(200);
    expect(client.cookie).toMatch(/\.1\./);
    const me = await client.get('/api/me', { 'x-forwarded-for': '203.0.113.9' });
    expect(me.status).toBe(200);
    const queued = await client.generate({ prompt: 'signed in' });
    expect(queued.status).toBe(202);
    expect((await client.follow(String(queued.body.jobId))).final).toBe('done');
    // A signed-out cookie with its flag flipped does not verify: a new, signed-out session.
    const mallory = await new Client(app.base).open();
    mallory.cookie = mallory.cookie!.replace('.0.', '.1.');
    expect((await mallory.get('/api/me')).status).toBe(401);
  });
});
