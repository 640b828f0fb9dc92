import type { RawFile } from 'discord.js';
import type { DeliveryRequest } from '../../core/ports.js';
import { imageContent, imageEmbed, originOf } from './discord-text.js';

/** An image message without its destination: the same in the channel, in an ephemeral follow-up and in a DM. */
export interface ImageMessage {
  /** `content`, `embeds`, `attachments`; the caller adds what its route needs (nonce, reference, flags). */
  body: { content: string; embeds: Array<Record<string, unknown>>; attachments?: Array<{ id: number; filename: string }> };
  files: RawFile[];
  /** A NSFW-flagged image (of a gallery: any) outside an age-restricted channel: only its details are posted, never its bytes. */
  withheld: boolean;
}

/** The file name of image `n` (1-based) of a gallery: Vary and Edit find image n by it (see image-source.ts). */
export function galleryFileName(jobId: string, n: number, format: string, spoiler: boolean): string {
  return `${spoiler ? 'SPOILER_' : ''}flux-${jobId}-${n}.${format}`;
}

const GALLERY_FILE = /^(?:SPOILER_)?flux-j[0-9a-f]{32}-([1-9])\.[a-z0-9]+$/i;

/** Which image of a gallery (1-based) a delivered file is, by its name; undefined for any other file. */
export function galleryImageNumber(filename: string): number | undefined {
  const match = GALLERY_FILE.exec(filename);
  return match ? Number(match[1]) : undefined;
}

/**
 * The image post of a delivery: the requester line (with `notice` above it when the image goes elsewhere than asked),
 * the embed (prompt, model, seed, size, time) and the file. A NSFW-flagged image is spoilered where the target channel
 * is age-restricted and withheld elsewhere, and stays so when it is sent privately: a DM is no age-restricted place.
 * A gallery (`d.images`) is one message too: see galleryMessage.
 */
export function imageMessage(d: DeliveryRequest, notice?: string): ImageMessage {
  if (d.images) return galleryMessage(d, d.images, notice);
  const nsfw = d.image.nsfw;
  const withheld = nsfw && d.target.nsfwAllowed !== true;
  const spoiler = nsfw && !withheld;
  const name = `${spoiler ? 'SPOILER_' : ''}flux-${d.image.seed}.${d.image.format}`;
  const files: RawFile[] = withheld ? [] : [{ name, data: d.image.bytes, contentType: d.image.contentType }];
  const facts = { ...d.request, seed: d.image.seed, width: d.image.width, height: d.image.height, generationMs: d.generationMs, provider: d.image.provider, model: d.model, costMicros: d.costMicros };
  const content = imageContent(d.requester.userId, originOf(d.target.extra, d.rerollOf), spoiler);
  return {
    body: {
      content: notice ? `${notice}\n${content}` : content,
      // An embed image cannot be a spoiler: a flagged image is shown only as the spoilered attachment.
      embeds: [imageEmbed(facts, { attachmentName: spoiler || withheld ? undefined : name, withheld })],
      ...(files.length > 0 ? { attachments: [{ id: 0, filename: name }] } : {}),
    },
    files,
    withheld,
  };
}

/**
 * A gallery: the images as the message's attachments, in order, named `flux-<job>-<n>` (so image n is found again
 * when a withheld one leaves a gap), shown by Discord as a grid; the embed has no image of its own and says how many
 * of the images asked came ("3 of 4"), each one's seed, and the total cost; the shortfall sentence, when some could
 * not be made, is under the requester line. NSFW flags are per image.
 */
function galleryMessage(d: DeliveryRequest, images: DeliveryRequest['image'][], notice: string | undefined): ImageMessage {
  const withheldNumbers: number[] = [];
  const spoilerNumbers: number[] = [];
  const files: RawFile[] = [];
  images.forEach((image, i) => {
    if (image.nsfw && d.target.nsfwAllowed !== true) return void withheldNumbers.push(i + 1);
    if (image.nsfw) spoilerNumbers.push(i + 1);
    files.push({ name: galleryFileName(d.jobId, i + 1, image.format, image.nsfw), data: image.bytes, contentType: image.contentType });
  });
  const first = images[0] ?? d.image;
  const facts = {
    ...d.request,
    seed: first.seed,
    width: first.width,
    height: first.height,
    generationMs: d.generationMs,
    provider: first.provider,
    model: d.model,
    costMicros: d.costMicros,
    gallery: { seeds: images.map((i) => i.seed), asked: Math.max(d.request.count ?? 1, images.length) },
  };
  // One image (all but one could not be made) shows in the embed like any single image, unless it is flagged.
  const embedImage = images.length === 1 && files.length === 1 && spoilerNumbers.length === 0 ? files[0]!.name : undefined;
  const content = imageContent(d.requester.userId, originOf(d.target.extra, d.rerollOf), spoilerNumbers, d.shortfall);
  return {
    body: {
      content: notice ? `${notice}\n${content}` : content,
      embeds: [imageEmbed(facts, { attachmentName: embedImage, withheld: withheldNumbers })],
      ...(files.length > 0 ? { attachments: files.map((f, id) => ({ id, filename: f.name })) } : {}),
    },
    files,
    withheld: withheldNumbers.length > 0,
  };
}
