import { Routes, type APIAttachment, type APIMessage, type REST } from 'discord.js';
import { downloadBytes } from '../../core/images/download.js';
import { REFERENCE_LIMITS } from '../../core/images/image.js';
import { isDiscordHost } from './attachment-images.js';
import { isPermanentRefusal } from './discord-errors.js';
import { galleryImageNumber } from './image-message.js';

/**
 * The bytes of a delivered image, read back from its message when Vary or Edit is clicked. The bot keeps no copy of
 * what it delivers (records stay small, Redis holds no image nobody varies, and an image can be varied for as long
 * as its message exists): the message is fetched with the bot token (attachment links are signed and expire, the
 * fetched message has fresh ones, and the client may never have cached it) and its image attachment downloaded
 * from Discord's CDN. `index` (0-based) names an image of a gallery message: the attachment its file name numbers
 * (`flux-<job>-3.webp` is index 2), as a withheld image leaves no attachment and shifts the others; on a message
 * without such names, the index-th image attachment. Undefined when the message has no such image (withheld as
 * NSFW) or is gone.
 *
 * A click carries its message whole (`carried`: the interaction's own copy, with fresh links). That copy is used when
 * the bot token cannot read the message: a follow-up in a server where only the person installed the app (the bot is
 * no member there), or an ephemeral follow-up (never fetchable through its channel).
 */
export async function messageImage(
  rest: REST,
  apiUrl: string,
  at: { channelId: string; messageId: string; index?: number },
  carried?: CarriedMessage | null,
): Promise<Buffer | undefined> {
  let attachments: ReadonlyArray<Pick<APIAttachment, 'filename' | 'content_type' | 'url'>>;
  try {
    attachments = ((await rest.get(Routes.channelMessage(at.channelId, at.messageId))) as APIMessage).attachments;
  } catch (err) {
    const copy = carried?.id === at.messageId ? carriedAttachments(carried) : undefined;
    if (copy && isPermanentRefusal(err)) attachments = copy;
    else if (isUnknownMessage(err)) return undefined;
    else throw err;
  }
  const attachment = pickAttachment(attachments, at.index ?? 0);
  if (!attachment || !isDiscordHost(attachment.url, new URL(apiUrl).host)) return undefined;
  return downloadBytes(attachment.url, { maxBytes: REFERENCE_LIMITS.maxBytes, timeoutMs: 30_000, source: 'Discord attachment' });
}

/** The message an interaction carries (discord.js's Message: `interaction.message`). */
export interface CarriedMessage {
  id: string;
  attachments: ReadonlyMap<string, { name: string; url: string; contentType: string | null }>;
}

function carriedAttachments(message: CarriedMessage): Array<Pick<APIAttachment, 'filename' | 'content_type' | 'url'>> {
  return [...message.attachments.values()].map((a) => ({ filename: a.name, url: a.url, ...(a.contentType ? { content_type: a.contentType } : {}) }));
}

/** The image attachment of image `index` (see messageImage). */
export function pickAttachment<A extends Pick<APIAttachment, 'filename' | 'content_type'>>(attachments: readonly A[], index: number): A | undefined {
  const images = attachments.filter((a) => a.content_type?.startsWith('image/') ?? /\.(png|jpe?g|webp|gif)$/i.test(a.filename));
  const numbered = images.filter((a) => galleryImageNumber(a.filename) !== undefined);
  if (numbered.length === 0) return images[index];
  return numbered.find((a) => galleryImageNumber(a.filename) === index + 1);
}

function isUnknownMessage(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown };
  return e.status === 404 || e.code === 10008;
}
