import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { FalProvider } from '../../../src/core/providers/fal/fal-provider.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import { FalFake } from '../../fakes/fal-fake.js';
import { Harness } from './harness.js';

let h: Harness | undefined;
let fal: FalFake | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  await fal?.close();
  h = undefined;
  fal = undefined;
  expect(errors).toEqual([]);
});

async function withFal(nsfw: boolean): Promise<Harness> {
  fal = await FalFake.start();
  fal.nsfw = nsfw;
  const provider = new FalProvider({ key: fal.key, baseUrl: fal.url, pollIntervalMs: 20, allowPrivateDownloads: true });
  return Harness.start({ provider: [provider] });
}

describe('Discord upload and content limits', () => {
  it('re-encodes an image larger than the server’s upload limit (attachment_size_limit) so it fits', async () => {
    const limit = 60_000;
    const request = parseFluxRequest({ prompt: 'a detailed city skyline at night', aspect_ratio: '1:1', output_format: 'png', seed: 3 });
    if (!request.ok) throw request.error;
    // The same image unconstrained would not fit.
    const natural = await new PreviewProvider().generate(request.request);
    expect(natural.bytes.length).toBeGreaterThan(limit);

    h = await Harness.start({ provider: 'preview', fake: { uploadLimitBytes: limit } });
    h.flux({ prompt: 'a detailed city skyline at night', aspect_ratio: '1:1', output_format: 'png', seed: 3 }, { user: 'alice' });
    const image = await h.image();
    const upload = h.fake.callsTo((c) => c.route === 'createMessage' && c.files.length > 0);
    expect(upload.map((c) => c.status)).toEqual([200]);
    const file = upload[0]!.files[0]!;
    expect(file.bytes.length).toBeLessThanOrEqual(limit);
    const meta = await sharp(file.bytes).metadata();
    expect(meta.width).toBeGreaterThan(0);
    expect(image.attachments[0]!.size).toBeLessThanOrEqual(limit);
  });

  it('posts a NSFW-flagged image as a spoiler in a NSFW channel', async () => {
    h = await withFal(true);
    h.flux({ prompt: 'a figure study', aspect_ratio: '1:1', seed: 11 }, { user: 'alice', channel: 'nsfw-art' });
    const image = await h.image();
    expect(h.fake.channel(image.channelId).parentId).toBe(h.fake.channel('nsfw-art').id);
    expect(image.attachments[0]!.filename).toBe('SPOILER_flux-11.webp');
    // An embed image cannot be hidden: the flagged image appears only as the spoilered attachment.
    expect(image.embeds[0]!.image).toBeUndefined();
    expect(image.content).toContain('hidden behind a spoiler');
  });

  it('withholds a NSFW-flagged image in an ordinary channel, still with its details and 🔄, and charges it', async () => {
    h = await withFal(true);
    h.flux({ prompt: 'a figure study', aspect_ratio: '1:1', seed: 12 }, { user: 'alice', channel: 'general' });
    const image = await h.image();
    expect(image.attachments).toEqual([]);
    expect(h.fake.callsTo((c) => c.route === 'createMessage' && c.files.length > 0)).toEqual([]);
    expect(image.embeds[0]!.footer?.text).toContain('not shown in this channel');
    expect(image.embeds[0]!.fields!.find((f) => f.name === 'Seed')!.value).toBe('12');
    // The image exists and was paid for: withholding it is the bot's choice, so it is charged, not refunded.
    const record = (await h.core.records.find('discord', image.id))!;
    expect(record.via).toBeUndefined();
    // The job completes once the image's buttons are added (after the record): wait for it rather than race it.
    await expect.poll(async () => (await h!.core.queue.getJob(record.jobId))!.getState()).toBe('completed');
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(fal!.created).toBe(1);
  });

  it('cuts a long prompt on whole characters where an emoji sits at the cut of the thread name and the status line', async () => {
    // "🎨 " + prompt is the thread name (100 at most): the 🌊 at prompt index 95–96 is name code units 98–99, cut by
    // the room the ellipsis needs. The status line keeps 199 code units of the prompt: the second 🌊 is 198–199.
    const prompt = `${'a'.repeat(95)}🌊${'b'.repeat(101)}🌊 and the rest of a long prompt`;
    h = await Harness.start({ provider: 'preview' });
    h.flux({ prompt, aspect_ratio: '1:1' }, { user: 'alice' });
    const image = await h.image();
    const wellFormed = (text: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

    const thread = h.fake.channel(image.channelId);
    expect(thread.name).toBe(`🎨 ${'a'.repeat(95)}…`);
    expect(thread.name.length).toBeLessThanOrEqual(100);
    const status = h.fake.message(image.channelId)!; // the thread was started on the status message
    expect(wellFormed(status.content)).toBe(true);
    expect(status.content).toContain(`${'b'.repeat(101)}…*`);
    expect(image.embeds[0]!.description).toBe(prompt);
    for (const call of h.fake.calls) expect(wellFormed(JSON.stringify(call.body ?? null)), `${call.method} ${call.path}`).toBe(true);
  });

  it('posts an unflagged image normally in a NSFW channel', async () => {
    h = await withFal(false);
    h.flux({ prompt: 'a still life', aspect_ratio: '1:1', seed: 13 }, { user: 'alice', channel: 'nsfw-art' });
    const image = await h.image();
    expect(image.attachments[0]!.filename).toBe('flux-13.webp');
    expect(image.embeds[0]!.image?.url).toBe('attachment://flux-13.webp');
  });
});
