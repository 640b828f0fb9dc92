import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { isInputReference } from '../../../src/core/images/input-store.js';
import { makeImage } from '../../fakes/fake-server.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { Harness } from './harness.js';

/**
 * `/flux` with reference images (`image`, `image_2` …) through the real discord.js against the fake Discord: the
 * attachments are checked by their metadata, downloaded from the CDN by the bot after the defer, stored, and reach
 * the provider in order. A recording provider stands in for the image service (it sees the request exactly as the
 * worker hands it over, stored images put back as data URIs).
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

async function start(): Promise<Harness> {
  provider = new ScriptedProvider('preview');
  h = await Harness.start({ provider: [provider] });
  return h;
}

const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;

/** Nothing happened beyond the private answer: no job, no charge, no status message, no provider call. */
async function expectNothingQueued(harness: Harness): Promise<void> {
  expect(await harness.jobCount()).toBe(0);
  expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  expect(harness.fake.callsTo('createMessage')).toEqual([]);
  expect(provider.calls).toEqual([]);
}

describe('/flux with reference images on Discord', () => {
  it('two attachments reach the provider as two images, in order, downloaded by the bot after the defer and stored by reference', async () => {
    const harness = await start();
    const sofa = await makeImage(96, 80, 'png', '#aa3300');
    const cat = await makeImage(72, 64, 'jpeg', '#33aa00');
    const first = harness.fake.addAttachment(sofa, { filename: 'sofa.png', contentType: 'image/png', width: 96, height: 80 });
    const second = harness.fake.addAttachment(cat, { filename: 'cat.jpg', contentType: 'image/jpeg', width: 72, height: 64 });
    const i = harness.flux({ prompt: 'put the cat from image 2 on the sofa of image 1', model: 'flux-2-pro', image: first, image_2: second }, { user: 'alice' });

    const delivered = await harness.image();
    expect(delivered.attachments).toHaveLength(1);
    expect(provider.calls).toHaveLength(1);
    expect(provider.calls[0]!.request.images).toEqual([dataUri(sofa), dataUri(cat, 'image/jpeg')]);
    // The job's record (what a reroll reuses) holds references, not the bytes; the CDN was read after the ack.
    const record = await harness.core.records.find('discord', delivered.id);
    const images = record!.request.images!;
    expect(images).toHaveLength(2);
    expect(images.every((image) => isInputReference(image))).toBe(true);
    const callback = harness.fake.calls.findIndex((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
    const downloads = harness.fake.calls.flatMap((c, n) => (c.route === 'cdn' ? [n] : []));
    expect(downloads).toHaveLength(2);
    expect(callback).toBeGreaterThanOrEqual(0);
    expect(downloads.every((n) => n > callback)).toBe(true);
    expect(await harness.privateReply(i)).toMatch(/^Queued/);
  });

  it('through the real Replicate client: the Replicate fake receives the two images, in order, byte for byte', async () => {
    h = await Harness.start();
    const sofa = await makeImage(96, 80, 'png', '#aa3300');
    const cat = await makeImage(72, 64, 'webp', '#33aa00');
    const first = h.fake.addAttachment(sofa, { filename: 'sofa.png', contentType: 'image/png' });
    const second = h.fake.addAttachment(cat, { filename: 'cat.webp', contentType: 'image/webp' });
    h.flux({ prompt: 'put the cat on the sofa', model: 'flux-2-pro', image: first, image_2: second }, { user: 'alice' });
    await h.image();
    const [prediction] = h.replicate!.all();
    expect(prediction?.images).toEqual([sofa, cat]);
  });

  it('refuses a non-image attachment by its metadata, naming it, with nothing downloaded or queued', async () => {
    const harness = await start();
    const png = harness.fake.addAttachment(await makeImage(96, 80), { filename: 'sofa.png', contentType: 'image/png' });
    const pdf = harness.fake.addAttachment(Buffer.from('%PDF-1.7 not an image'), { filename: 'notes.pdf', contentType: 'application/pdf' });
    const huge = { ...harness.fake.addAttachment(await makeImage(96, 80), { filename: 'big.png', contentType: 'image/png' }), size: 11 * 1024 * 1024 };
    const notImage = harness.flux({ prompt: 'x', model: 'flux-2-pro', image: png, image_2: pdf }, { user: 'alice' });
    expect(await harness.privateReply(notImage)).toBe('Image 2 (notes.pdf) is not a PNG, JPEG, WebP or GIF image (it is application/pdf). Nothing was queued.');
    const tooBig = harness.flux({ prompt: 'x', model: 'flux-2-pro', image: huge }, { user: 'alice' });
    expect(await harness.privateReply(tooBig)).toBe('Image 1 (big.png) is 11 MB; the limit is 10 MB. Nothing was queued.');
    expect(harness.fake.callsTo('cdn')).toEqual([]);
    await expectNothingQueued(harness);
  });

  it('refuses an attachment whose bytes are no image (whatever its type says), too small, or on a model that takes none', async () => {
    const harness = await start();
    const lying = harness.fake.addAttachment(Buffer.from('#!/bin/sh\necho hi\n'), { filename: 'fake.png', contentType: 'image/png' });
    const tiny = harness.fake.addAttachment(await makeImage(32, 32), { filename: 'tiny.png', contentType: 'image/png' });
    const fine = harness.fake.addAttachment(await makeImage(96, 80), { filename: 'sofa.png', contentType: 'image/png' });
    const cases = [
      [{ prompt: 'x', model: 'flux-2-pro', image: fine, image_2: lying }, 'That request can’t be made: image 2 (fake.png): it is not an image (a PNG, JPEG, WebP or GIF file).'],
      [{ prompt: 'x', model: 'flux-2-pro', image: tiny }, 'That request can’t be made: image 1 (tiny.png): it is 32×32 pixels; each side must be between 64 and 8192 pixels.'],
      [{ prompt: 'x', model: 'flux-schnell', image: fine, image_2: fine }, /^That request can’t be made: images: flux-schnell takes no reference images/],
      [{ prompt: 'make it night', model: 'flux-kontext-pro' }, 'That request can’t be made: flux-kontext-pro edits an image: give a reference image (images).'],
    ] as const;
    for (const [options, expected] of cases) {
      const text = await harness.privateReply(harness.flux(options, { user: 'alice' }));
      if (typeof expected === 'string') expect(text).toBe(expected);
      else expect(text).toMatch(expected);
    }
    await expectNothingQueued(harness);
  });

  it('on a FLUX.1 model with an image prompt, the one image is that image prompt (stored, not the expiring CDN link)', async () => {
    const harness = await start();
    const guide = await makeImage(80, 80);
    const attachment = harness.fake.addAttachment(guide, { filename: 'guide.png', contentType: 'image/png' });
    harness.flux({ prompt: 'a fox in the style of the image', model: 'flux-pro', image: attachment }, { user: 'alice' });
    await harness.image();
    expect(provider.calls[0]!.request.image_prompt).toBe(dataUri(guide));
    expect(provider.calls[0]!.request.images).toBeUndefined();
  });

  it('a 🔄 on an image whose reference images expired tells the person by DM, charging nothing', async () => {
    const harness = await start();
    const attachment = harness.fake.addAttachment(await sharp({ create: { width: 80, height: 80, channels: 3, background: '#123456' } }).png().toBuffer(), {
      filename: 'a.png',
      contentType: 'image/png',
    });
    harness.flux({ prompt: 'a boat', model: 'flux-2-pro', image: attachment }, { user: 'alice' });
    const image = await harness.image();
    const record = await harness.core.records.find('discord', image.id);
    const reference = record!.request.images![0]!;
    await harness.core.redis.del(harness.core.inputs.key(reference.slice('fluxbot-input:'.length)));
    const before = await harness.usage('bob');

    harness.fake.reactionAdd({ messageId: image.id, userId: 'bob' });
    await harness.fake.waitFor((c) => c.route === 'createMessage' && harness.fake.dms('bob').length > 0);
    expect(harness.fake.dms('bob')[0]!.content).toContain('Image 1 (images) has expired (the bot keeps attached images for 24 hours); attach it again.');
    expect(await harness.usage('bob')).toEqual(before);
    expect(provider.calls).toHaveLength(1);
  });
});
