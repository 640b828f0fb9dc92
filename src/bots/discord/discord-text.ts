import { formatUsd } from '../../core/prices.js';
import type { TimeFormatter } from '../../commands/replies.js';
import { formatBytes } from '../../core/images/download.js';
import { KEPT_IMAGE_TTL_SECONDS } from '../../core/jobs/image-history.js';
import { isModelId, MODELS } from '../../core/models.js';
import type { DeliveredMessage } from '../../core/ports.js';
import { truncate } from '../../core/text.js';
import type { StatusState } from '../shared/status-tracker.js';

/**
 * Discord-specific wording and markup (`<t:…:R>` times, `<@id>` mentions, embeds). Platform-neutral sentences come
 * from src/commands/replies.ts; this file only adds what exists on Discord alone.
 */

/** Discord renders `<t:…:R>` as "in 5 hours" in the reader's own locale and time zone. */
export const discordTime: TimeFormatter = (ms) => `<t:${Math.floor(ms / 1000)}:R>`;

export const REROLL_EMOJI = '🔄';
/** Reactions that ask for a reroll: 🔄 (what the bot adds) and 🔁, which people pick just as often. */
export const REROLL_EMOJIS: readonly string[] = ['🔄', '🔁'];

/** Longest message content Discord accepts. */
export const MAX_CONTENT = 2000;

/**
 * `text` cut to `max` UTF-16 code units (how Discord counts) on whole characters, with an ellipsis: a cut through an
 * emoji would leave half a surrogate pair, which is not text at all.
 */
export function shorten(text: string, max: number): string {
  return truncate(text, max);
}

/** A multi-line text within Discord's content limit: whole lines while they fit, then `…`. */
export function fitLines(text: string, max = MAX_CONTENT): string {
  if (text.length <= max) return text;
  const kept: string[] = [];
  let length = 0;
  for (const line of text.split('\n')) {
    // Room for the line, its newline and the closing "…" line.
    if (length + line.length + 3 > max) break;
    kept.push(line);
    length += line.length + 1;
  }
  return kept.length === 0 ? shorten(text, max) : `${kept.join('\n')}\n…`;
}

/** Escapes markdown so a prompt shows as typed (and cannot forge links or mentions inside bold text). */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>[\]()#-])/g, '\\$1').replace(/@/g, '@\u200b');
}

/** What made a job: `/flux` (false), a reroll (true), or a Vary or Edit of an image. */
export type JobOrigin = boolean | 'vary' | 'edit';

/** The origin of a job from its target (the adapter marks rerolls, varies and edits in `extra`) and its reroll link. */
export function originOf(extra: Record<string, string> | undefined, rerollOf?: string): JobOrigin {
  if (extra?.action === 'vary' || extra?.action === 'edit') return extra.action;
  return rerollOf !== undefined || extra?.reroll === '1';
}

/** `🔄 <@id> rerolled`, `🔀 <@id> varied`, `✏️ <@id> edited`, or `🎨 <@id>`. */
function who(userId: string, origin: JobOrigin): string {
  if (origin === 'vary') return `🔀 <@${userId}> varied`;
  if (origin === 'edit') return `✏️ <@${userId}> edited`;
  return origin ? `🔄 <@${userId}> rerolled` : `🎨 <@${userId}>`;
}

/** The first line of a status message: who asked for what. */
export function statusHeader(userId: string, prompt: string, origin: JobOrigin): string {
  return `${who(userId, origin)}: *${escapeMarkdown(shorten(prompt, 200))}*`;
}

export function statusLine(state: StatusState): string {
  switch (state.kind) {
    case 'submitting':
      return '⏳ Submitting…';
    case 'queued':
      return `⏳ ${state.text}`;
    case 'generating':
      return state.queuePosition !== undefined && state.queuePosition > 0
        ? `🎨 Waiting at the image service (position ${state.queuePosition})…`
        : '🎨 Generating…';
    case 'delivering':
      return '📤 Uploading…';
    case 'retrying':
      return `🔁 The image service is busy; trying again in ${Math.max(1, Math.round(state.delayMs / 1000))} s…`;
    case 'done':
      return `✅ Done — the image is below. Use its buttons (or react ${REROLL_EMOJI}) for another take.`;
    case 'failed':
      return `❌ No image this time${state.reason ? `: ${state.reason}` : '.'}`;
  }
}

const KEPT_DAYS = Math.round(KEPT_IMAGE_TTL_SECONDS / 86_400);

/** The final line when the image went elsewhere than below the status message (see DeliveredMessage.via). */
export function deliveredElsewhereLine(via: NonNullable<DeliveredMessage['via']>): string {
  return via === 'private'
    ? '✅ Done — the image could not be posted here, so it was sent privately to the person who asked.'
    : `✅ Done — the image could not be posted here or sent privately, so it is kept for ${KEPT_DAYS} days: use /flux-history to get it.`;
}

/**
 * A whole status message (well under Discord's 2,000 characters: the prompt is cut at 200). `via`: where a done image
 * went when the channel refused it.
 */
export function statusText(header: string, state: StatusState, via?: DeliveredMessage['via']): string {
  return `${header}\n${state.kind === 'done' && via ? deliveredElsewhereLine(via) : statusLine(state)}`;
}

/** The name of the thread started on a status message (Discord allows 1–100 characters). */
export function threadName(prompt: string): string {
  return shorten(`🎨 ${prompt.replace(/\s+/g, ' ').trim()}`, 100);
}

/** The ephemeral answer after a successful submission, with a link to the status message. */
export function queuedReply(text: string, link: string | undefined): string {
  return link ? `${text} Progress and the image: ${link}` : text;
}

export function invalidInputText(message: string): string {
  return `That request can’t be made: ${message.replace(/\.$/, '')}.`;
}

export function imagePromptTypeText(filename: string, contentType: string | null): string {
  return `The image prompt ${filename} is not a PNG, JPEG or WebP image${contentType ? ` (it is ${contentType})` : ''}. Nothing was queued.`;
}

export function imagePromptSizeText(filename: string, size: number, max: number): string {
  return `The image prompt ${filename} is ${formatBytes(size)}; the limit is ${formatBytes(max)}. Nothing was queued.`;
}

export function referenceTypeText(index: number, filename: string, contentType: string | null): string {
  return `Image ${index} (${filename}) is not a PNG, JPEG, WebP or GIF image${contentType ? ` (it is ${contentType})` : ''}. Nothing was queued.`;
}

export function referenceSizeText(index: number, filename: string, size: number, max: number): string {
  return `Image ${index} (${filename}) is ${formatBytes(size)}; the limit is ${formatBytes(max)}. Nothing was queued.`;
}

export const BOTH_IMAGE_PROMPTS_TEXT = 'Give image_prompt or image_prompt_url, not both. Nothing was queued.';
export const GUILD_ONLY_TEXT = 'This works only in a server that installed the bot, not in direct messages.';
export const UNKNOWN_COMMAND_TEXT = 'This command is not known to this bot version.';

export function missingPermissionsText(names: readonly string[]): string {
  return `I can’t post images here: I need the ${names.join(', ')} permission${names.length === 1 ? '' : 's'} in this channel. Ask a server admin, or use another channel.`;
}

/** An unexpected failure of a reaction reroll, posted in the thread (reactions have no private reply). */
export function reactionRefusalText(userId: string, text: string): string {
  return `<@${userId}> ${text}`;
}

/** A refused reaction reroll, told by DM: the reason (a limit, a ban and its reason) is for the person alone. */
export function rerollRefusalDmText(channelId: string, text: string): string {
  return `I couldn’t reroll the image you reacted to in <#${channelId}>. ${text}`;
}

/**
 * A refused reaction reroll when the person takes no DMs: said in the thread, so it names no reason (a ban and its
 * reason, or someone's quota, are nobody else's business), only where the person can read it privately.
 */
export function rerollRefusedPublicText(userId: string): string {
  return `<@${userId}> I couldn’t reroll this for you. Use /flux-quota to see why (only you will see the answer).`;
}

/** Above an image sent as an ephemeral follow-up because the channel refused it. */
export const PRIVATE_FOLLOWUP_NOTICE = 'I couldn’t post your image in the channel, so here it is, just for you.';

/** Above an image sent by DM because the channel refused it (and the interaction token was too old to answer). */
export function privateDmNotice(channelId: string): string {
  return `I couldn’t post your image in <#${channelId}>, so here it is.`;
}

/** Added to `/flux-history` when its kept images could not be attached. */
export const KEPT_NOT_ATTACHED_TEXT = '(The kept images could not be attached to this answer; try again in a moment.)';

export function failureText(userId: string, reason: string): string {
  return `<@${userId}> no image this time: ${reason}`;
}

export const NSFW_WITHHELD_TEXT =
  'The image service flagged this image as possibly NSFW, so it is not shown in this channel. Ask in an age-restricted channel to see such results.';
export const NSFW_SPOILER_TEXT = 'Flagged as possibly NSFW by the image service: hidden behind a spoiler.';

/** `images 2 and 4`, `image 3`. */
function imageNumbers(numbers: readonly number[]): string {
  const list = numbers.length === 1 ? String(numbers[0]) : `${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`;
  return `${numbers.length === 1 ? 'image' : 'images'} ${list}`;
}

/** Some images of a gallery withheld as NSFW in a channel that is not age-restricted (numbers 1-based). */
export function nsfwWithheldGalleryText(numbers: readonly number[]): string {
  return `The image service flagged ${imageNumbers(numbers)} as possibly NSFW, so ${numbers.length === 1 ? 'it is' : 'they are'} not shown in this channel. Ask in an age-restricted channel to see such results.`;
}

/** Some images of a gallery spoilered as NSFW (numbers 1-based). */
export function nsfwSpoilerGalleryText(numbers: readonly number[]): string {
  return `The image service flagged ${imageNumbers(numbers)} as possibly NSFW: hidden behind a spoiler.`;
}
export const PREVIEW_NOTICE = 'Preview placeholder drawn locally — not FLUX output.';

export interface ImageFacts {
  prompt: string;
  model: string;
  seed: number;
  width: number;
  height: number;
  generationMs: number;
  provider: string;
  /** What it cost (a gallery: all its images), micro-dollars; shown when known. */
  costMicros?: number | undefined;
  /** A gallery: the seed of each image delivered, in order (shown instead of `seed`), and how many were asked. */
  gallery?: { seeds: number[]; asked: number } | undefined;
}

/**
 * The embed posted with an image: prompt, model, seed, size, generation time and cost. A gallery's shows how many of
 * the images asked came and each one's seed, and its cost is the total. `withheld`: a NSFW-flagged image is not
 * shown (`true`), or for a gallery the numbers (1-based) of those not shown.
 */
export function imageEmbed(f: ImageFacts, image: { attachmentName?: string | undefined; withheld?: boolean | readonly number[] | undefined }): Record<string, unknown> {
  const model = isModelId(f.model) ? MODELS[f.model].label : f.model;
  const numbers = image.withheld;
  const withheld = typeof numbers === 'object' ? (numbers.length > 0 ? nsfwWithheldGalleryText(numbers) : undefined) : numbers ? NSFW_WITHHELD_TEXT : undefined;
  const footer = [f.provider === 'preview' ? PREVIEW_NOTICE : undefined, withheld].filter(Boolean).join('\n');
  return {
    description: shorten(f.prompt, 4096),
    color: 0x5865f2,
    fields: [
      { name: 'Model', value: model, inline: true },
      ...(f.gallery
        ? [
            { name: 'Images', value: `${f.gallery.seeds.length} of ${f.gallery.asked}`, inline: true },
            { name: 'Seeds', value: f.gallery.seeds.join(', '), inline: true },
          ]
        : [{ name: 'Seed', value: String(f.seed), inline: true }]),
      { name: 'Size', value: `${f.width}×${f.height}`, inline: true },
      { name: 'Time', value: `${(f.generationMs / 1000).toFixed(1)} s`, inline: true },
      ...(f.costMicros === undefined ? [] : [{ name: 'Cost', value: formatUsd(f.costMicros), inline: true }]),
    ],
    ...(image.attachmentName ? { image: { url: `attachment://${image.attachmentName}` } } : {}),
    ...(footer ? { footer: { text: footer } } : {}),
  };
}

/**
 * The lines above the image: who asked (a mention that pings only them), then why a gallery came short (`shortfall`),
 * then the spoiler notice: `spoiler` true for one image, or for a gallery the numbers (1-based) of spoilered images.
 */
export function imageContent(userId: string, origin: JobOrigin, spoiler: boolean | readonly number[], shortfall?: string): string {
  const notice = typeof spoiler === 'object' ? (spoiler.length > 0 ? nsfwSpoilerGalleryText(spoiler) : undefined) : spoiler ? NSFW_SPOILER_TEXT : undefined;
  return [who(userId, origin), shortfall === undefined ? undefined : `⚠️ ${shorten(shortfall, 500)}`, notice].filter((l) => l !== undefined).join('\n');
}
