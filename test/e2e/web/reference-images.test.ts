import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInputReference } from '../../../src/core/images/input-store.js';
import { Client, startPlayground, type Playground } from './playground.js';

/**
 * Reference images uploaded on the playground: several files, checked by their bytes at admission, stored by
 * reference (the job never carries them), errors naming the image; nothing refused is queued or charged.
 */

let app: Playground;
beforeAll(async () => {
  app = await startPlayground();
});
afterAll(async () => {
  await app.close();
});

const image = (width: number, height: number, format: 'png' | 'jpeg' = 'png') =>
  sharp({ create: { width, height, channels: 3, background: format === 'png' ? '#aa3300' : '#0033aa' } })
    .toFormat(format)
    .toBuffer();
const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;

describe('reference images on the playground', () => {
  it('offers one multi-file upload (not Discord’s numbered slots) and says which models take images', async () => {
    const client = await new Client(app.base).open();
    const form = await client.get('/api/form');
    const names = (form.body.options as Array<{ name: string }>).map((o) => o.name);
    expect(names).toContain('image');
    expect(names).not.toContain('image_2');
    expect(form.body.referenceModels).toMatchObject({ 'flux-2-pro': 8, 'flux-kontext-pro': 4 });
  });

  it('stores uploads by reference, in order, and refuses a bad one by name with nothing queued', async () => {
    const client = await new Client(app.base).open();
    const counts = await app.core.queue.getJobCounts();
    const sofa = await image(96, 80);
    const cat = await image(72, 64, 'jpeg');

    const notImage = await client.generate({ prompt: 'x', model: 'flux-2-pro' }, { images: [{ name: 'sofa.png', data: dataUri(sofa) }, { name: 'notes.txt', data: dataUri(Buffer.from('notes'), 'image/png') }] });
    expect(notImage.status).toBe(400);
    expect(notImage.body).toMatchObject({ error: 'Image 2 (notes.txt): it is not an image (a PNG, JPEG, WebP or GIF file).', field: 'images' });
    const wrongType = await client.generate({ prompt: 'x', model: 'flux-2-pro' }, { images: [{ name: 'doc.pdf', data: 'data:application/pdf;base64,JVBERi0=' }] });
    expect(wrongType.body).toMatchObject({ error: 'Image 1 (doc.pdf) is not a PNG, JPEG, WebP or GIF image.', field: 'images' });
    const tiny = await client.generate({ prompt: 'x', model: 'flux-2-pro' }, { images: [{ name: 'tiny.png', data: dataUri(await image(20, 20)) }] });
    expect(tiny.body.error).toBe('Image 1 (tiny.png): it is 20×20 pixels; each side must be between 64 and 8192 pixels.');
    const noneTaken = await client.generate({ prompt: 'x', model: 'flux-schnell' }, { images: [{ name: 'a.png', data: dataUri(sofa) }, { name: 'b.png', data: dataUri(sofa) }] });
    expect(noneTaken.body).toMatchObject({ field: 'images' });
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect((await client.get('/api/me')).body.quota).toContain('You have used 0 of 5 images today');

    const good = await client.generate(
      { prompt: 'put the cat on the sofa', model: 'flux-2-pro' },
      { images: [{ name: 'sofa.png', data: dataUri(sofa) }, { name: 'cat.jpg', data: dataUri(cat, 'image/jpeg') }] },
    );
    expect(good.status).toBe(202);
    const job = await app.core.queue.getJob(String(good.body.jobId));
    const stored = job!.data.request.images!;
    expect(stored.every((s) => isInputReference(s))).toBe(true);
    expect((await app.core.inputs.resolve(job!.data.request)).images).toEqual([dataUri(sofa), dataUri(cat, 'image/jpeg')]);
    const done = await client.follow(String(good.body.jobId));
    expect(done.final).toBe('done');

    // A reroll reuses the stored images; once they expired it says so (nothing charged).
    for (const reference of stored) await app.core.redis.del(app.core.inputs.key(reference.slice('fluxbot-input:'.length)));
    const used = (await client.get('/api/me')).body.quota;
    const reroll = await client.post('/api/reroll', { imageId: done.data.imageId, requestId: crypto.randomUUID() });
    expect(reroll.status).toBe(400);
    expect(reroll.body).toMatchObject({ error: 'Image 1 (images) has expired (the bot keeps attached images for 24 hours); attach it again.', field: 'images' });
    expect((await client.get('/api/me')).body.quota).toBe(used);
  });
});
