import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, sessionId, startPlayground, type Playground } from './playground.js';

/** The playground's API over real HTTP: a core on Redis, the preview provider, a worker, the web adapter. */
describe('web playground API', () => {
  let app: Playground;
  beforeAll(async () => {
    app = await startPlayground();
  });
  afterAll(async () => {
    await app?.close();
  });

  async function imageBytes(client: Client, imageId: string): Promise<{ status: number; bytes: Buffer; type: string | null }> {
    const res = await fetch(`${app.base}/api/images/${imageId}`, { headers: { cookie: client.cookie ?? '' } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
  }

  it('serves the page and its assets from the adapter folder', async () => {
    const client = new Client(app.base);
    const page = await client.get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('<label for="token">Token</label>');
    expect((await client.get('/assets/app.js')).headers.get('content-type')).toContain('javascript');
    expect((await client.get('/assets/image-actions.js')).headers.get('content-type')).toContain('javascript');
    expect((await client.get('/assets/style.css')).status).toBe(200);
    const form = await client.get('/api/form');
    expect((form.body.options as Array<{ name: string }>).map((o) => o.name)).toEqual(expect.arrayContaining(['prompt', 'model', 'steps', 'image_prompt']));
  });

  it('prompt → image, reroll → a second image, the quota line moves, the history lists both', async () => {
    const client = await new Client(app.base).open();
    expect(client.cookie).toMatch(/^fluxbot_playground=/);
    const before = await client.get('/api/me');
    expect(before.body.quota).toContain('You have used 0 of 5 images today');

    const queued = await client.generate({ prompt: 'a lighthouse at dawn', aspect_ratio: '1:1', output_format: 'png' });
    expect(queued.status).toBe(202);
    expect(queued.body.status).toMatch(/^Queued/);
    const first = await client.follow(String(queued.body.jobId));
    expect(first.final).toBe('done');
    const firstId = String(first.data.imageId);
    const image = await imageBytes(client, firstId);
    expect(image.status).toBe(200);
    expect(image.type).toBe('image/png');
    expect((await sharp(image.bytes).metadata()).format).toBe('png');
    expect((await client.get('/api/me')).body.quota).toContain('You have used 1 of 5 images today');

    const rerolled = await client.post('/api/reroll', { imageId: firstId, requestId: crypto.randomUUID() });
    expect(rerolled.status).toBe(202);
    const second = await client.follow(String(rerolled.body.jobId));
    expect(second.final).toBe('done');
    expect(second.data.imageId).not.toBe(firstId);
    expect((await imageBytes(client, String(second.data.imageId))).status).toBe(200);

    const after = await client.get('/api/me');
    expect(after.body.quota).toContain('You have used 2 of 5 images today');
    const images = after.body.images as Array<{ id: string; rerollOf?: string; seed: number; kept: boolean }>;
    expect(images.map((i) => i.id)).toEqual([second.data.imageId, firstId]);
    expect(images[0]!.rerollOf).toBe(firstId);
    expect(images.every((i) => i.kept)).toBe(true);
  });

  it('an empty prompt is refused with a message naming the field, and nothing is queued or charged', async () => {
    const client = await new Client(app.base).open();
    const counts = await app.core.queue.getJobCounts();
    for (const prompt of ['', '   ']) {
      const answer = await client.generate({ prompt });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'Prompt must not be empty.', field: 'prompt' });
    }
    const outOfRange = await client.generate({ prompt: 'x', steps: 5000 });
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body.field).toBe('steps');
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect((await client.get('/api/me')).body.quota).toContain('You have used 0 of 5 images today');
  });

  it('a second click with the same request id is charged once', async () => {
    const client = await new Client(app.base).open();
    const requestId = crypto.randomUUID();
    const one = await client.post('/api/generate', { requestId, fields: { prompt: 'twice' } });
    const two = await client.post('/api/generate', { requestId, fields: { prompt: 'twice' } });
    expect(one.status).toBe(202);
    expect(two.body).toMatchObject({ jobId: one.body.jobId });
    await client.follow(String(one.body.jobId));
    expect((await client.get('/api/me')).body.quota).toContain('You have used 1 of 5 images today');
  });

  it("another session's image, job and reroll are not found, and nothing is charged to anyone", async () => {
    const owner = await new Client(app.base).open();
    const queued = await owner.generate({ prompt: 'mine' });
    const done = await owner.follow(String(queued.body.jobId));
    const imageId = String(done.data.imageId);

    const other = await new Client(app.base).open();
    expect(sessionId(other.cookie)).not.toBe(sessionId(owner.cookie));
    const reroll = await other.post('/api/reroll', { imageId, requestId: crypto.randomUUID() });
    expect(reroll.status).toBe(404);
    expect(reroll.body.error).toBe('Not found.');
    expect((await imageBytes(other, imageId)).status).toBe(404);
    expect((await other.get(`/api/jobs/${String(queued.body.jobId)}/events`)).status).toBe(404);
    expect((await other.post('/api/reroll', { imageId: 'w../../etc', requestId: crypto.randomUUID() })).status).toBe(404);
    expect((await other.get('/api/me')).body.images).toEqual([]);
    expect((await other.get('/api/me')).body.quota).toContain('You have used 0 of 5 images today');
    expect((await owner.get('/api/me')).body.quota).toContain('You have used 1 of 5 images today');
  });

  it('a forged or altered cookie gets a new session, never the person it names', async () => {
    const victim = await new Client(app.base).open();
    const queued = await victim.generate({ prompt: 'victim' });
    await victim.follow(String(queued.body.jobId));
    const [name, value] = victim.cookie!.split('=') as [string, string];
    const [id, flag, sig] = value.split('.') as [string, string, string];
    const forgeries = [
      `${name}=${id}.${flag}.${sig.slice(0, -2)}AA`, // altered signature
      `${name}=${id}.1.${sig}`, // flag flipped
      `${name}=${id}.${flag}`, // no signature
      `${name}=${id}`, // a bare id
    ];
    for (const cookie of forgeries) {
      const mallory = new Client(app.base);
      mallory.cookie = cookie;
      const me = await mallory.get('/api/me');
      expect(me.status).toBe(200);
      expect(me.body.images).toEqual([]);
      expect(sessionId(mallory.cookie)).not.toBe(id);
      // A forged cookie cannot act before the page is reloaded with its new session.
      const again = new Client(app.base);
      again.cookie = cookie;
      const post = await again.generate({ prompt: 'on their bill' });
      expect(post.status).toBe(401);
    }
    expect((await victim.get('/api/me')).body.quota).toContain('You have used 1 of 5 images today');
  });

  it('refuses cross-site writes: no playground header, a foreign Origin, a form post', async () => {
    const client = await new Client(app.base).open();
    const counts = await app.core.queue.getJobCounts();
    const noHeader = await fetch(`${app.base}/api/generate`, {
      method: 'POST',
      headers: { cookie: client.cookie!, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { prompt: 'csrf' } }),
    });
    expect(noHeader.status).toBe(403);
    const foreign = await client.generate({ prompt: 'csrf' }, {});
    expect(foreign.status).toBe(202); // the page itself (same origin) works…
    await client.follow(String(foreign.body.jobId));
    const evil = await client.post('/api/generate', { fields: { prompt: 'csrf' } }, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body.error).toContain('did not come from the playground page');
    const form = await client.post('/api/generate', 'fields=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(403);
    expect((await app.core.queue.getJobCounts()).completed).toBe((counts.completed ?? 0) + 1);
  });
});

describe('web playground status stream', () => {
  let app: Playground;
  beforeAll(async () => {
    // One generation at a time, each taking a moment: the queue has people waiting.
    app = await startPlayground({ concurrency: 1, latencyMs: 3000 }); // longer than the stream's 2 s poll
  });
  afterAll(async () => {
    await app?.close();
  });

  it('shows the place in the queue as it moves, then generating, then the image', async () => {
    const others = await Promise.all([new Client(app.base).open(), new Client(app.base).open()]);
    const ahead = [];
    for (const [i, other] of others.entries()) ahead.push(await other.generate({ prompt: `ahead ${i}` }));
    const client = await new Client(app.base).open();
    const queued = await client.generate({ prompt: 'waiting my turn' });
    expect(queued.status).toBe(202);
    expect(queued.body.status).toMatch(/^Queued — [12] ahead of you\.$/);
    const followed = await client.follow(String(queued.body.jobId));
    expect(followed.final).toBe('done');
    expect(followed.statuses).toContain('Queued — starting shortly.');
    expect(followed.statuses).toContain('Generating…');
    expect(followed.statuses.indexOf('Queued — starting shortly.')).toBeLessThan(followed.statuses.lastIndexOf('Generating…'));
    for (const [i, other] of others.entries()) expect((await other.follow(String(ahead[i]!.body.jobId))).final).toBe('done');
  }, 30_000);
});
