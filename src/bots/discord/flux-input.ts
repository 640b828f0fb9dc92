import type { Attachment, CommandInteractionOption } from 'discord.js';
import { FLUX_OPTIONS, IMAGE_SLOTS } from '../../commands/flux.js';
import type { CommandOption } from '../../commands/definition.js';
import type { Config } from '../../config.js';
import { parseFluxRequest, type FluxRequest } from '../../core/request.js';
import { REFERENCE_LIMITS, REFERENCE_TYPES } from '../../core/images/image.js';
import { BOTH_IMAGE_PROMPTS_TEXT, imagePromptSizeText, imagePromptTypeText, invalidInputText, referenceSizeText, referenceTypeText } from './discord-text.js';

/** Largest image prompt accepted, as for Slack files. */
export const MAX_IMAGE_PROMPT_BYTES = 10 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

const REFERENCE_CONTENT_TYPES: readonly string[] = Object.values(REFERENCE_TYPES);

/** A reference image attached to `/flux`: its position in `images` (1-based), name and Discord CDN link. */
export interface ImageAttachment {
  index: number;
  name: string;
  url: string;
}

/**
 * A validated request, and the reference images attached to it. Until the bot downloads and stores them (after the
 * defer: see attachment-images.ts) the request holds their CDN links, so the model's rules are checked first.
 */
export type FluxInput = { ok: true; request: FluxRequest; attachments: ImageAttachment[] } | { ok: false; text: string };

/**
 * Option values of a command (or of its subcommand) by name, for the options its definition declares. User options
 * give the user id, attachment options the resolved attachment.
 */
export function optionValues(data: readonly CommandInteractionOption[], defs: readonly CommandOption[]): Map<string, string | number | boolean | Attachment> {
  const values = new Map<string, string | number | boolean | Attachment>();
  for (const option of data) {
    const def = defs.find((d) => d.name === option.name);
    if (!def) continue;
    if (def.type === 'attachment') {
      if (option.attachment) values.set(option.name, option.attachment);
    } else if (option.value !== undefined && option.value !== null) {
      values.set(option.name, option.value);
    }
  }
  return values;
}

/** What is wrong with an attachment as an image prompt, judged from Discord's metadata before anyone downloads it. */
export function checkImagePrompt(attachment: Pick<Attachment, 'name' | 'contentType' | 'size'>): string | undefined {
  const type = attachment.contentType?.split(';')[0]?.trim().toLowerCase() ?? null;
  if (!type || !IMAGE_TYPES.includes(type)) return imagePromptTypeText(attachment.name, type);
  if (!(attachment.size <= MAX_IMAGE_PROMPT_BYTES)) return imagePromptSizeText(attachment.name, attachment.size, MAX_IMAGE_PROMPT_BYTES);
  return undefined;
}

/** What is wrong with an attachment as reference image `index`, judged from Discord's metadata before any download. */
export function checkReferenceAttachment(attachment: Pick<Attachment, 'name' | 'contentType' | 'size'>, index: number): string | undefined {
  const type = attachment.contentType?.split(';')[0]?.trim().toLowerCase() ?? null;
  if (!type || !REFERENCE_CONTENT_TYPES.includes(type)) return referenceTypeText(index, attachment.name, type);
  if (!(attachment.size <= REFERENCE_LIMITS.maxBytes)) return referenceSizeText(index, attachment.name, attachment.size, REFERENCE_LIMITS.maxBytes);
  return undefined;
}

/**
 * Turns `/flux` options into a validated request. Reference images (`image`, `image_2` …) are checked by their
 * metadata here and go into `images` in that order, as their CDN links until the bot stores them. An attached image prompt is checked (type, size) and passed to the
 * provider as its Discord CDN link: the provider fetches it, and the signed link lives about a day, far longer than
 * a job waits. `image_prompt_url` is the same field as a link typed by the person.
 */
export function readFluxInput(data: readonly CommandInteractionOption[], config: Pick<Config, 'FLUX_MODEL'>): FluxInput {
  const values = optionValues(data, FLUX_OPTIONS);
  const input: Record<string, unknown> = {};
  for (const [name, value] of values) {
    if (typeof value === 'object') continue;
    input[name === 'image_prompt_url' ? 'image_prompt' : name] = value;
  }
  const attachment = values.get('image_prompt');
  const fromAttachment = attachment !== undefined && typeof attachment === 'object';
  if (fromAttachment) {
    if (values.has('image_prompt_url')) return { ok: false, text: BOTH_IMAGE_PROMPTS_TEXT };
    const problem = checkImagePrompt(attachment);
    if (problem) return { ok: false, text: problem };
    input.image_prompt = attachment.url;
  }
  const attachments: ImageAttachment[] = [];
  for (const slot of IMAGE_SLOTS) {
    const image = values.get(slot);
    if (image === undefined || typeof image !== 'object') continue;
    const problem = checkReferenceAttachment(image, attachments.length + 1);
    if (problem) return { ok: false, text: problem };
    attachments.push({ index: attachments.length + 1, name: image.name, url: image.url });
  }
  if (attachments.length > 0) input.images = attachments.map((a) => a.url);
  // A typed link must not point into a private network; attachments' links are Discord's own CDN.
  const parsed = parseFluxRequest(input, { defaultModel: config.FLUX_MODEL, allowPrivateImageLinks: !values.has('image_prompt_url') });
  if (!parsed.ok) return { ok: false, text: invalidInputText(parsed.error.message) };
  return { ...parsed, attachments };
}
