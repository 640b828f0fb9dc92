import { downloadBytes } from '../../core/images/download.js';
import { REFERENCE_LIMITS } from '../../core/images/image.js';
import { refusal, replaceImage, type ReferenceImages } from '../../core/images/reference-images.js';
import type { FluxRequest } from '../../core/request.js';
import type { ImageAttachment } from './flux-input.js';

/** Discord's own file hosts: attachment links point there. */
const DISCORD_CDN_HOSTS: readonly string[] = ['cdn.discordapp.com', 'media.discordapp.net'];

/**
 * Downloads the reference images attached to `/flux` from Discord's CDN and stores them (checked: an image, at most
 * 10 MB, sides 64..8192 px, decodes): the request with each attachment's link replaced by its reference. Attachment
 * links are signed and expire within a day, and a job may wait or be rerolled later, so the bot keeps the bytes
 * instead of handing providers the link. Runs after the defer (downloads take time). Throws InvalidInput naming the
 * image that failed.
 *
 * `apiHost` (the host of DISCORD_API_URL) is trusted like Discord's CDN: a REST proxy, or the local fake in tests,
 * serves attachments from there. Any other host is refused: the links come from Discord's payload, not from a person,
 * and the bot fetches nothing else on their strength.
 */
export async function storeAttachments(
  references: Pick<ReferenceImages, 'store'>,
  request: FluxRequest,
  attachments: readonly ImageAttachment[],
  apiHost: string,
): Promise<FluxRequest> {
  let stored = request;
  for (const attachment of attachments) {
    const label = { index: attachment.index, name: attachment.name };
    if (!isDiscordHost(attachment.url, apiHost)) throw refusal(label, 'it is not a file on Discord');
    const download = () =>
      downloadBytes(attachment.url, { maxBytes: REFERENCE_LIMITS.maxBytes, timeoutMs: 30_000, source: 'Discord attachment' });
    const { reference } = await references.store(download, label);
    stored = replaceImage(stored, attachment.url, reference);
  }
  return stored;
}

/** Whether a link is on Discord's CDN, or on the host of DISCORD_API_URL (a REST proxy, or the local fake). */
export function isDiscordHost(raw: string, apiHost: string): boolean {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' && DISCORD_CDN_HOSTS.includes(url.hostname)) return true;
    return url.host === apiHost;
  } catch {
    return false;
  }
}
