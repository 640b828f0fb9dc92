import { decodeDataUri } from '../../images/download.js';
import { fetchMemberImage, MAX_MEMBER_IMAGE_BYTES } from '../../images/member-links.js';

/** BFL refuses large image prompts anyway; 10 MB keeps a member's link from making the bot fetch more. */
export const MAX_IMAGE_PROMPT_BYTES = MAX_MEMBER_IMAGE_BYTES;

export interface ImagePromptOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  timeoutMs?: number;
  maxBytes?: number;
  /** Allow links to private/loopback hosts (`ALLOW_PRIVATE_URLS`: operators with private image hosts; tests). */
  allowPrivate?: boolean;
}

/**
 * Turns the request's image prompt into the bare base64 BFL expects. A link (chosen by a member, so guarded against
 * private addresses) is downloaded with a size cap and checked to decode; a `data:` URI gives its payload.
 */
export async function imagePromptBase64(source: string, options: ImagePromptOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_IMAGE_PROMPT_BYTES;
  if (source.startsWith('data:')) return decodeDataUri(source, maxBytes).toString('base64');
  const image = await fetchMemberImage(source, {
    maxBytes,
    guard: { allowPrivate: options.allowPrivate ?? false },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return image.bytes.toString('base64');
}
