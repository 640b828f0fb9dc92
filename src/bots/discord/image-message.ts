import type { RawFile } from 'discord.js';
import type { DeliveryRequest } from '../../core/ports.js';
import { imageContent, imageEmbed, originOf } from './discord-text.js';

/** An image message without its destination: the same in the channel, in an ephemeral follow-up and in a DM. */
export interface ImageMessage {
  /** `content`, `embeds`, `attachments`; the caller adds what its route needs (nonce, reference, flags). */
  body: { content: string; embeds: Array<Record<string, unknown>>; attachments?: Array<{ id: number; filename: string }> };
  files: RawFile[];
  /** A NSFW-flagged image outside an age-restricted channel: only its details are posted, never its bytes. */
  withheld: boolean;
}

/**
 * The image post of a delivery: the requester line (with `notice` above it when the image goes elsewhere than asked),
 * the embed (prompt, model, seed, size, time) and the file. A NSFW-flagged image is spoilered where the target channel
 * is age-restricted and withheld elsewhere, and stays so when it is sent privately: a DM is no age-restricted place.
 */
export function imageMessage(d: DeliveryRequest, notice?: string): ImageMessage {
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
