import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, sessionId, startPlayground, type Playground } from './playground.js';

/** Galleries on the playground over real HTTP: `count` in the form and the API, the k images, Reroll, V n and E n. */

const used = async (app: Playground, client: Client) => (await app.core.admin.userView(`web:playground:${sessionId(client.cookie)}`, 'web:playground')).usedToday;
const action = (client: Client, path: string, body: Record<string, unknown>) => client.post(`/api/${path}`, { requestId: crypto.randomUUID(), ...body });
const pngUri = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

/** The request the provider is given for a job, its stored references resolved to their bytes. */
async function providerInput(app: Playground, jobId: string) {
  const job = await app.core.queue.getJob(jobId);
  return { stored: job!.data.request, resolved: await app.core.inputs.resolve(job!.data.request) };
}

/** A finished gallery of the client's: its id, the done event, and its images as the API serves them. */
async function makeGallery(client: Client, prompt: string, count: number) {
  const queued = await client.generate({ prompt, count, aspect_ratio: '1:1', output_format: 'png' });
  expect(queued.status).toBe(202);
  const done = await client.follow(String(queued.body.jobId));
  expect(done.final).toBe('done');
  const imageId = String(done.data.imageId);
  const images: Buffer[] = [];
  for (let n = 1; n <= count; n++) {
    const res = await fetch(`${client.base}/api/images/${imageId}/${n}`, { headers: { cookie: client.cookie! } });
    expect(res.status, `image ${n}`).toBe(200);
    images.push(Buffer.from(await res.arrayBuffer()));
  }
  return { imageId, done: done.data, images };
}

describe('playground galleries', () => {
  let app: Playground;
  beforeAll(async () => {
    app = await startPlayground({ quotas: { dailyPerUser: 30, concurrentPerUser: 8 } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the form offers count from 1 to 4; the API refuses anything else with a 400 naming the field, nothing queued or charged', async () => {
    const client = await new Client(app.base).open();
    const form = await client.get('/api/form');
    expect((form.body.options as Array<{ name: string }>).find((o) => o.name === 'count')).toMatchObject({ type: 'integer', min: 1, max: 4 });
    const counts = await app.core.queue.getJobCounts();
    for (const count of [5, 0, 2.5, '2', -1]) {
      const answer = await client.generate({ prompt: 'too many cats', count });
      expect(answer.status, String(count)).toBe(400);
      expect(answer.body.field).toBe('count');
      expect(answer.body.error).toMatch(/^Count must be (a whole number from 1 to 4|a number)\.$/);
    }
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect(await used(app, client)).toBe(0);
  });

  it('count 4: one result of four images, charged 4, listed once with its count; image 5 and another session’s are not found', async () => {
    const client = await new Client(app.base).open();
    const { imageId, done, images } = await makeGallery(client, 'four lanterns', 4);
    expect(done.images).toBe(4);
    expect(new Set(images.map((b) => b.toString('base64'))).size).toBe(4);
    const first = await fetch(`${app.base}/api/images/${imageId}`, { headers: { cookie: client.cookie! } });
    expect(Buffer.from(await first.arrayBuffer()).equals(images[0]!)).toBe(true);
    expect((await client.get(`/api/images/${imageId}/5`)).status).toBe(404);
    const other = await new Client(app.base).open();
    expect((await other.get(`/api/images/${imageId}/2`)).status).toBe(404);
    const me = await client.get('/api/me');
    expect(me.body.images).toEqual([expect.objectContaining({ id: imageId, prompt: 'four lanterns', images: 4, kept: true })]);
    expect(await app.core.records.find('web', imageId)).toMatchObject({ images: 4, request: { count: 4 } });
    expect(await used(app, client)).toBe(4);
  });

  it('V2 varies image 2 and E3 edits image 3 (their bytes go to the provider), each charged one; Reroll makes a new set of four', async () => {
    const client = await new Client(app.base).open();
    const { imageId, images } = await makeGallery(client, 'three boats', 4);

    const varied = await action(client, 'vary', { imageId, image: 2 });
    expect(varied.status).toBe(202);
    const vary = await providerInput(app, String(varied.body.jobId));
    expect(vary.stored).toMatchObject({ prompt: 'three boats' });
    expect(vary.stored.count).toBeUndefined();
    expect(vary.resolved.images).toEqual([pngUri(images[1]!)]);
    const variation = await client.follow(String(varied.body.jobId));
    expect(variation.data.images).toBe(1);

    const edited = await action(client, 'edit', { imageId, image: 3, prompt: 'make the sails red' });
    expect(edited.status).toBe(202);
    expect((await providerInput(app, String(edited.body.jobId))).resolved.images).toEqual([pngUri(images[2]!)]);
    expect((await client.follow(String(edited.body.jobId))).final).toBe('done');

    const rerolled = await action(client, 'reroll', { imageId });
    expect(rerolled.status).toBe(202);
    const set = await client.follow(String(rerolled.body.jobId));
    expect(set.data.images).toBe(4);
    expect(await used(app, client)).toBe(4 + 1 + 1 + 4);
  });

  it('an image number that is not one of the result’s is a 400 naming `image`, nothing queued or charged', async () => {
    const client = await new Client(app.base).open();
    const { imageId } = await makeGallery(client, 'two kites', 2);
    const one = await client.generate({ prompt: 'one kite' });
    const single = String((await client.follow(String(one.body.jobId))).data.imageId);
    const counts = await app.core.queue.getJobCounts();

    for (const [id, image, error] of [
      [imageId, 3, 'There is no image 3 here: this result has 2 images.'],
      [imageId, 5, 'Which image: image must be a whole number from 1 to 4.'],
      [imageId, 0, 'Which image: image must be a whole number from 1 to 4.'],
      [imageId, '2', 'Which image: image must be a whole number from 1 to 4.'],
      [single, 2, 'There is no image 2 here: this result has one image.'],
    ] as const) {
      for (const path of ['vary', 'edit']) {
        const answer = await action(client, path, { imageId: id, image, prompt: 'x' });
        expect(answer.status, `${path} ${String(image)}`).toBe(400);
        expect(answer.body).toMatchObject({ error, field: 'image' });
      }
    }
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect(await used(app, client)).toBe(3);
  });

  it('Delete removes every image of the gallery', async () => {
    const client = await new Client(app.base).open();
    const { imageId } = await makeGallery(client, 'short lived', 3);
    expect((await client.post('/api/delete', { imageId })).status).toBe(200);
    for (const n of [1, 2, 3]) expect((await client.get(`/api/images/${imageId}/${n}`)).status).toBe(404);
    expect(await app.core.redis.exists(...[0, 1, 2].map((i) => `${app.core.prefix}:web:image:${imageId}${i === 0 ? '' : `:${i}`}`))).toBe(0);
  });
});
