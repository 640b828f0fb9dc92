import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isInputReference } from '../../../src/core/images/input-store.js';
import { Client, LOOSE_LIMITS, sessionId, startPlayground, type Playground } from './playground.js';
import { WebImageStore } from '../../../src/bots/web/web-delivery.js';

/**
 * The buttons under a playground image over real HTTP: Vary and Edit carry the image to the provider, Delete is the
 * maker's only, Cancel stops a job of the session's own; every refusal is a clear JSON error that queues and charges
 * nothing.
 */

const used = async (app: Playground, client: Client) => (await app.core.admin.userView(`web:playground:${sessionId(client.cookie)}`, 'web:playground')).usedToday;

/** A finished image of the client's: its id and its bytes as the store keeps them. */
async function makeImage(app: Playground, client: Client, prompt: string): Promise<{ imageId: string; bytes: Buffer }> {
  const queued = await client.generate({ prompt, aspect_ratio: '1:1', output_format: 'png' });
  expect(queued.status).toBe(202);
  const done = await client.follow(String(queued.body.jobId));
  expect(done.final).toBe('done');
  const imageId = String(done.data.imageId);
  const stored = await app.core.redis.hgetBuffer(new WebImageStore(app.core.redis, app.core.prefix).key(imageId), 'bytes');
  return { imageId, bytes: stored! };
}

/** The request the provider is given for a job: its stored references resolved to their bytes. */
async function providerInput(app: Playground, jobId: string) {
  const job = await app.core.queue.getJob(jobId);
  return { stored: job!.data.request, resolved: await app.core.inputs.resolve(job!.data.request) };
}

const pngUri = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;
const action = (client: Client, path: string, body: Record<string, unknown>) => client.post(`/api/${path}`, { requestId: crypto.randomUUID(), ...body });

describe('playground image actions', () => {
  let app: Playground;
  beforeAll(async () => {
    app = await startPlayground({ quotas: { dailyPerUser: 20 } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the form offers the models that edit, FLUX_EDIT_MODEL first', async () => {
    const form = await new Client(app.base).get('/api/form');
    expect(form.body.editModel).toBe('flux-2-pro');
    expect(form.body.editModels).toEqual(expect.arrayContaining(['flux-2-pro', 'flux-kontext-pro']));
    expect(form.body.editModels).not.toContain('flux-schnell');
  });

  it('Vary: the image as reference, the same prompt, a new seed, charged to the session', async () => {
    const client = await new Client(app.base).open();
    const { imageId, bytes } = await makeImage(app, client, 'a red kite over dunes');
    const original = await app.core.records.find('web', imageId);
    const varied = await action(client, 'vary', { imageId });
    expect(varied.status).toBe(202);
    expect(varied.body.status).toMatch(/^Queued/);
    const { stored, resolved } = await providerInput(app, String(varied.body.jobId));
    expect(stored.prompt).toBe('a red kite over dunes');
    expect(stored.images).toHaveLength(1);
    expect(isInputReference(stored.images![0]!)).toBe(true);
    expect(resolved.images).toEqual([pngUri(bytes)]);
    expect(stored.seed).not.toBe(original!.seed);
    const done = await client.follow(String(varied.body.jobId));
    expect(done.final).toBe('done');
    expect(done.data.imageId).not.toBe(imageId);
    expect(await used(app, client)).toBe(2);
  });

  it('Edit: the person’s prompt on the default edit model (or one they choose), the image as images[0]', async () => {
    const client = await new Client(app.base).open();
    const { imageId, bytes } = await makeImage(app, client, 'a plain room');
    const edited = await action(client, 'edit', { imageId, prompt: 'add a green sofa' });
    expect(edited.status).toBe(202);
    const first = await providerInput(app, String(edited.body.jobId));
    expect(first.stored).toMatchObject({ prompt: 'add a green sofa', model: 'flux-2-pro' });
    expect(first.resolved.images).toEqual([pngUri(bytes)]);
    const done = await client.follow(String(edited.body.jobId));
    expect(done.final).toBe('done');
    // The delivered edit is an image of its own, with its own buttons.
    const kontext = await action(client, 'edit', { imageId: String(done.data.imageId), prompt: 'make it night', model: 'flux-kontext-pro' });
    expect(kontext.status).toBe(202);
    expect((await providerInput(app, String(kontext.body.jobId))).stored.model).toBe('flux-kontext-pro');
    expect((await client.follow(String(kontext.body.jobId))).final).toBe('done');
    expect(await used(app, client)).toBe(3);
  });

  it('refuses an unknown image, another session’s image, a bad model, an empty prompt, no request id: nothing queued or charged', async () => {
    const owner = await new Client(app.base).open();
    const { imageId } = await makeImage(app, owner, 'mine alone');
    const other = await new Client(app.base).open();
    const counts = await app.core.queue.getJobCounts();

    for (const path of ['reroll', 'vary', 'edit']) {
      for (const id of ['wj00000000000000000000000000000000', '../../etc/passwd', 42, undefined, imageId]) {
        const client = id === imageId ? other : owner;
        const answer = await action(client, path, { imageId: id, prompt: 'x' });
        expect(answer.status, `${path} ${String(id)}`).toBe(404);
        expect(answer.body.error).toBe('Not found.');
      }
      const noRequestId = await owner.post(`/api/${path}`, { imageId, prompt: 'x' });
      expect(noRequestId.status).toBe(400);
      expect(noRequestId.body).toMatchObject({ error: 'The request has no request id; reload the page and try again.', field: 'requestId' });
      expect((await owner.post(`/api/${path}`, '{not json')).body.error).toBe('The request is not valid JSON.');
    }
    for (const prompt of ['', '   ', undefined, 7]) {
      const answer = await action(owner, 'edit', { imageId, prompt });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'Say what to change: the prompt must not be empty.', field: 'prompt' });
    }
    for (const model of ['flux-schnell', 'no-such-model', 3]) {
      const answer = await action(owner, 'edit', { imageId, prompt: 'x', model });
      expect(answer.status).toBe(400);
      expect(answer.body.field).toBe('model');
      expect(answer.body.error).toMatch(/does not edit images; choose one of .*flux-2-pro/);
    }
    const tooLong = await action(owner, 'edit', { imageId, prompt: 'x'.repeat(5000) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.field).toBe('prompt');
    const huge = await action(owner, 'edit', { imageId, prompt: 'x'.repeat(64 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: 'The request is too large; shorten what to change.', field: 'prompt' });

    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect(await used(app, owner)).toBe(1);
    expect(await used(app, other)).toBe(0);
  });

  it('a replayed request id is the same request: one job, charged once, for every action', async () => {
    const client = await new Client(app.base).open();
    const { imageId } = await makeImage(app, client, 'replayed');
    for (const [path, more] of [['reroll', {}], ['vary', {}], ['edit', { prompt: 'replay me' }]] as const) {
      const requestId = crypto.randomUUID();
      const one = await client.post(`/api/${path}`, { imageId, requestId, ...more });
      expect(one.status).toBe(202);
      const counts = await app.core.queue.getJobCounts();
      const two = await client.post(`/api/${path}`, { imageId, requestId, ...more });
      expect(two.status).toBe(200);
      expect(two.body).toMatchObject({ jobId: one.body.jobId, status: 'This request is already being worked on.' });
      expect(await app.core.queue.getJobCounts()).toEqual(counts);
      expect((await client.follow(String(one.body.jobId))).final).toBe('done');
    }
    expect(await used(app, client)).toBe(4);
  });

  it('Vary and Edit of an image no longer kept say so, and charge nothing', async () => {
    const client = await new Client(app.base).open();
    const { imageId } = await makeImage(app, client, 'fading');
    await app.core.redis.del(new WebImageStore(app.core.redis, app.core.prefix).key(imageId));
    const counts = await app.core.queue.getJobCounts();
    for (const [path, more] of [['vary', {}], ['edit', { prompt: 'x' }]] as const) {
      const answer = await action(client, path, { imageId, ...more });
      expect(answer.status).toBe(410);
      expect(answer.body.error).toMatch(/^This image is no longer kept/);
    }
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect(await used(app, client)).toBe(1);
  });

  it('Delete: another session is refused with a clear message; the maker deletes it and its buttons stop', async () => {
    const owner = await new Client(app.base).open();
    const { imageId } = await makeImage(app, owner, 'to be deleted');
    const other = await new Client(app.base).open();
    const refused = await action(other, 'delete', { imageId });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('Only the browser session that made this image can delete it.');
    expect((await owner.get(`/api/images/${imageId}`)).status).toBe(200);
    expect((await action(owner, 'delete', { imageId: 'wnothing' })).status).toBe(404);

    const deleted = await action(owner, 'delete', { imageId });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ deleted: imageId, status: 'Deleted.' });
    expect((await owner.get(`/api/images/${imageId}`)).status).toBe(404);
    expect(await app.core.redis.exists(new WebImageStore(app.core.redis, app.core.prefix).key(imageId))).toBe(0);
    expect((await owner.get('/api/me')).body.images).toEqual([]);
    const counts = await app.core.queue.getJobCounts();
    for (const path of ['reroll', 'vary', 'delete']) expect((await action(owner, path, { imageId })).status).toBe(404);
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
  });
});

describe('playground Cancel', () => {
  let app: Playground;
  beforeAll(async () => {
    // One generation at a time, slow enough to cancel while it runs and while others wait.
    app = await startPlayground({ concurrency: 1, latencyMs: 2500 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('cancels a queued job (refunded at once) and a running one (stopped); others and finished jobs are refused', async () => {
    const client = await new Client(app.base).open();
    const running = await client.generate({ prompt: 'running' });
    const queued = await client.generate({ prompt: 'waiting' });
    expect(queued.status).toBe(202);
    const runningId = String(running.body.jobId);
    const queuedId = String(queued.body.jobId);
    await expect.poll(async () => app.core.queue.getJob(runningId).then((j) => j?.getState())).toBe('active');

    const other = await new Client(app.base).open();
    for (const jobId of [queuedId, runningId]) {
      const refused = await other.post('/api/cancel', { jobId });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('Only the browser session that started this job can cancel it.');
    }
    for (const jobId of ['j' + '0'.repeat(32), 'not-a-job', undefined]) expect((await client.post('/api/cancel', { jobId })).status).toBe(404);

    const canceled = await client.post('/api/cancel', { jobId: queuedId });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ canceled: true, status: 'Canceled; nothing was charged.' });
    expect(await app.core.queue.getJob(queuedId)).toBeUndefined();

    const stopping = await client.post('/api/cancel', { jobId: runningId });
    expect(stopping.status).toBe(202);
    expect(stopping.body).toMatchObject({ canceled: false, status: 'Canceling…' });
    const followed = await client.follow(runningId);
    expect(followed.final).toBe('failed');
    await expect.poll(() => used(app, client)).toBe(0);

    const finished = await client.generate({ prompt: 'finished' });
    expect((await client.follow(String(finished.body.jobId))).final).toBe('done');
    const late = await client.post('/api/cancel', { jobId: String(finished.body.jobId) });
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('This job has already finished; there is nothing to cancel.');
  }, 30_000);
});

describe('playground image actions under the flood limits', () => {
  const apps: Playground[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('share the session’s action bucket with generate: a flood of clicks gets 429 and queues nothing more', async () => {
    const app = await startPlayground({ limits: { ...LOOSE_LIMITS, actions: { burst: 3, refillMs: 60_000 } } });
    apps.push(app);
    const client = await new Client(app.base).open();
    const { imageId } = await makeImage(app, client, 'flooded'); // one action spent
    const answers = await Promise.all(
      ['vary', 'edit', 'reroll', 'delete', 'cancel', 'vary'].map((path) => action(client, path, { imageId, prompt: 'x', jobId: 'j' + '0'.repeat(32) })),
    );
    expect(answers.filter((a) => a.status === 429)).toHaveLength(4);
    expect(answers.find((a) => a.status === 429)!.body.error).toMatch(/^Too many requests from this browser; wait \d+ s and try again\.$/);
    for (const a of answers.filter((x) => x.status === 202)) await client.follow(String(a.body.jobId));
    expect(await used(app, client)).toBeLessThanOrEqual(3);
  });
});
