import { describe, expect, it } from 'vitest';
import { buttonId, editModal, editModalId, imageButtons, parseButtonId, parseEditModalId } from '../../../src/bots/discord/image-buttons.js';
import { galleryImageNumber, imageMessage } from '../../../src/bots/discord/image-message.js';
import { pickAttachment } from '../../../src/bots/discord/image-source.js';
import { readFluxInput } from '../../../src/bots/discord/flux-input.js';
import type { DeliveryRequest } from '../../../src/core/ports.js';
import type { GeneratedImage } from '../../../src/core/providers/provider.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import { checkMessageComponents } from '../../fakes/discord/components.js';
import { checkMessage } from '../../fakes/discord/rules.js';

/**
 * Galleries on Discord, the pure parts: the buttons of a gallery message and their ids (checked against the fake's
 * copy of Discord's component rules), the one message of k images, and how a Vary or Edit finds image n again.
 */

const JOB = `j${'ab12'.repeat(8)}`;

const labels = (rows: ReturnType<typeof imageButtons>) => rows.map((r) => r.components.map((b) => b.label));

describe('gallery buttons and their custom_ids', () => {
  it('one image keeps its one row; a gallery has Reroll and Delete, then V1…Vk and E1…Ek, within Discord’s limits', () => {
    expect(labels(imageButtons(JOB))).toEqual([['Reroll', 'Edit', 'Vary', 'Delete']]);
    expect(imageButtons(JOB).flatMap((r) => r.components.map((b) => b.custom_id))).toEqual([`flux:reroll:${JOB}`, `flux:edit:${JOB}`, `flux:vary:${JOB}`, `flux:delete:${JOB}`]);
    for (const k of [2, 3, 4]) {
      const rows = imageButtons(JOB, k);
      const numbers = Array.from({ length: k }, (_, i) => i + 1);
      expect(labels(rows)).toEqual([['Reroll', 'Delete'], numbers.map((n) => `V${n}`), numbers.map((n) => `E${n}`)]);
      expect(rows[1]!.components.map((b) => b.custom_id)).toEqual(numbers.map((n) => buttonId('vary', JOB, n)));
      expect(rows[2]!.components.map((b) => parseButtonId(b.custom_id))).toEqual(numbers.map((image) => ({ action: 'edit', jobId: JOB, image })));
      expect(checkMessageComponents(rows)).toBeNull();
    }
    // The fake does refuse what Discord refuses, so the check above can fail.
    expect(checkMessageComponents([{ type: 1, components: Array.from({ length: 6 }, (_, i) => ({ type: 2, style: 2, label: `V${i}`, custom_id: `x${i}` })) }])).not.toBeNull();
  });

  it('image 1 is the id without a number (the ids of one-image messages); 2–4 are numbered; every id is at most 100 characters', () => {
    expect(buttonId('vary', JOB, 1)).toBe(`flux:vary:${JOB}`);
    expect(buttonId('edit', JOB, 3)).toBe(`flux:edit:${JOB}:3`);
    expect(buttonId('reroll', JOB, 3)).toBe(`flux:reroll:${JOB}`);
    expect(parseButtonId(`flux:vary:${JOB}`)).toEqual({ action: 'vary', jobId: JOB, image: 1 });
    expect(parseButtonId(`flux:vary:${JOB}:4`)).toEqual({ action: 'vary', jobId: JOB, image: 4 });
    expect(parseButtonId(`flux:cancel:${JOB}`)).toEqual({ action: 'cancel', jobId: JOB, image: 1 });
    const longest = editModalId('9'.repeat(20), JOB, '9'.repeat(20), 4);
    expect(longest.length).toBeLessThanOrEqual(100);
    expect(parseEditModalId(longest)).toEqual({ messageId: '9'.repeat(20), jobId: JOB, clickId: '9'.repeat(20), image: 4 });
    expect(parseEditModalId(editModalId('1', JOB, '2'))).toEqual({ messageId: '1', jobId: JOB, clickId: '2', image: 1 });
  });

  it('parses strictly: an image number outside 1–4, with a leading zero, on Reroll/Delete/Cancel, or trailing text is not ours', () => {
    for (const forged of [
      `flux:vary:${JOB}:7`,
      `flux:vary:${JOB}:0`,
      `flux:vary:${JOB}:5`,
      `flux:edit:${JOB}:02`,
      `flux:edit:${JOB}:-1`,
      `flux:vary:${JOB}:1:2`,
      `flux:vary:${JOB}:`,
      `flux:reroll:${JOB}:2`,
      `flux:delete:${JOB}:1`,
      `flux:cancel:${JOB}:3`,
      `flux:vary:${JOB}:2 `,
    ]) {
      expect(parseButtonId(forged), forged).toBeUndefined();
    }
    expect(parseEditModalId(`flux:edit-modal:1:${JOB}:2:9`)).toBeUndefined();
    expect(parseEditModalId(`flux:edit-modal:1:${JOB}:2:0`)).toBeUndefined();
  });

  it('the Edit modal of image n names it in its id and title, within Discord’s 45-character title', () => {
    const modal = editModal('123', JOB, '456', 'flux-2-pro', 3);
    expect(parseEditModalId(modal.custom_id)?.image).toBe(3);
    expect(modal.title).toBe('Edit image 3');
    expect(editModal('123', JOB, '456', 'flux-2-pro').title).toBe('Edit this image');
  });
});

const image = (seed: number, extra: Partial<GeneratedImage> = {}): GeneratedImage => ({
  bytes: Buffer.from(`image ${seed}`),
  contentType: 'image/webp',
  format: 'webp',
  width: 1024,
  height: 768,
  seed,
  provider: 'replicate',
  predictionId: `p${seed}`,
  nsfw: false,
  ms: 1000,
  ...extra,
});

function delivery(images: GeneratedImage[], more: Partial<DeliveryRequest> = {}): DeliveryRequest {
  const parsed = parseFluxRequest({ prompt: 'four foxes', model: 'flux-pro', seed: 10, count: 4 });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return {
    jobId: JOB,
    request: parsed.request,
    requester: { platform: 'discord', guildId: 'g', userId: '42' },
    target: { platform: 'discord', channelId: 'c' },
    image: images[0]!,
    images,
    model: 'flux-pro',
    generationMs: 4200,
    costMicros: 200_000,
    ...more,
  };
}

type Embed = { image?: { url: string }; fields: Array<{ name: string; value: string }>; footer?: { text: string } };
const field = (embed: Embed, name: string) => embed.fields.find((f) => f.name === name)?.value;

describe('the one message of a gallery', () => {
  it('k images as k attachments named by job and number; the embed says k of N, each seed and the total cost', () => {
    const m = imageMessage(delivery([image(10), image(11), image(12), image(13)]));
    expect(m.files.map((f) => f.name)).toEqual([1, 2, 3, 4].map((n) => `flux-${JOB}-${n}.webp`));
    expect(m.files.map((f) => String(f.data))).toEqual(['image 10', 'image 11', 'image 12', 'image 13']);
    expect(m.body.attachments).toEqual(m.files.map((f, id) => ({ id, filename: f.name })));
    const embed = m.body.embeds[0] as Embed;
    expect(embed.image).toBeUndefined();
    expect(field(embed, 'Images')).toBe('4 of 4');
    expect(field(embed, 'Seeds')).toBe('10, 11, 12, 13');
    expect(field(embed, 'Cost')).toBe('$0.20');
    expect(m.body.content).toBe('🎨 <@42>');
    expect(checkMessage({ ...m.body, embeds: m.body.embeds }, m.files.map((f) => ({ field: '', filename: f.name, contentType: 'image/webp', bytes: f.data as Buffer })), { uploadLimitBytes: 1e7, creating: true })).toBeNull();
  });

  it('a gallery that came short: k of N and the shortfall sentence under the requester line', () => {
    const m = imageMessage(delivery([image(10), image(11), image(12)], { shortfall: 'One image could not be made (the service refused it); it was not charged.' }));
    expect(m.files).toHaveLength(3);
    expect(field(m.body.embeds[0] as Embed, 'Images')).toBe('3 of 4');
    expect(m.body.content).toBe('🎨 <@42>\n⚠️ One image could not be made (the service refused it); it was not charged.');
  });

  it('NSFW per image: withheld outside age-restricted channels (its number left free), spoilered inside', () => {
    const images = [image(10), image(11, { nsfw: true }), image(12)];
    const outside = imageMessage(delivery(images));
    expect(outside.withheld).toBe(true);
    expect(outside.files.map((f) => f.name)).toEqual([`flux-${JOB}-1.webp`, `flux-${JOB}-3.webp`]);
    expect((outside.body.embeds[0] as Embed).footer?.text).toMatch(/flagged image 2 as possibly NSFW/);
    const inside = imageMessage(delivery(images, { target: { platform: 'discord', channelId: 'c', nsfwAllowed: true } }));
    expect(inside.files.map((f) => f.name)).toEqual([`flux-${JOB}-1.webp`, `SPOILER_flux-${JOB}-2.webp`, `flux-${JOB}-3.webp`]);
    expect(inside.body.content).toMatch(/flagged image 2 as possibly NSFW: hidden behind a spoiler/);
  });

  it('a one-image job is posted as before: one file, the image in the embed, one seed', () => {
    const one = delivery([image(10)]);
    const { images: _images, ...single } = one;
    const m = imageMessage(single);
    expect(m.files.map((f) => f.name)).toEqual(['flux-10.webp']);
    expect((m.body.embeds[0] as Embed).image?.url).toBe('attachment://flux-10.webp');
    expect(field(m.body.embeds[0] as Embed, 'Seed')).toBe('10');
    expect(field(m.body.embeds[0] as Embed, 'Images')).toBeUndefined();
  });
});

describe('finding image n of a delivered message again', () => {
  const att = (filename: string, content_type = 'image/webp') => ({ filename, content_type });

  it('by the number in its file name (a withheld image leaves a gap), else the nth image attachment', () => {
    const gallery = [att(`flux-${JOB}-1.webp`), att(`SPOILER_flux-${JOB}-3.webp`), att(`flux-${JOB}-4.webp`)];
    expect(pickAttachment(gallery, 0)?.filename).toBe(`flux-${JOB}-1.webp`);
    expect(pickAttachment(gallery, 2)?.filename).toBe(`SPOILER_flux-${JOB}-3.webp`);
    expect(pickAttachment(gallery, 1)).toBeUndefined();
    expect(pickAttachment(gallery, 4)).toBeUndefined();
    const plain = [att('notes.txt', 'text/plain'), att('flux-10.webp'), att('other.png', 'image/png')];
    expect(pickAttachment(plain, 0)?.filename).toBe('flux-10.webp');
    expect(pickAttachment(plain, 1)?.filename).toBe('other.png');
    expect(galleryImageNumber(`flux-${JOB}-2.png`)).toBe(2);
    expect(galleryImageNumber('flux-12345.webp')).toBeUndefined();
  });
});

describe('/flux count', () => {
  const read = (count: number) => readFluxInput([{ name: 'prompt', type: 3, value: 'foxes' }, { name: 'count', type: 4, value: count }], { FLUX_MODEL: 'flux-pro' });

  it('1–4 reach the request (1 is a single image); anything else is the parser’s clear refusal', () => {
    const four = read(4);
    expect(four.ok && four.request.count).toBe(4);
    const one = read(1);
    expect(one.ok && one.request.count).toBeUndefined();
    for (const bad of [0, 5, 2.5]) {
      const r = read(bad);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.text).toBe('That request can’t be made: count must be a whole number from 1 to 4.');
    }
  });
});
