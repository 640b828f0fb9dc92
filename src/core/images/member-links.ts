import type { FluxRequest } from '../request.js';
import { downloadBytes, downloadImage, toDataUri } from './download.js';
import { checkReferenceImage, type CheckedReference, type DecodedImage } from './image.js';
import type { UrlGuardOptions } from './url-guard.js';

/**
 * A member's image link (an image prompt or a reference image), fetched by the bot itself. A provider on the
 * operator's network (Cog, a proxy or gateway at a private address) must never be handed the link: it would fetch
 * whatever it names from inside that network (`http://169.254.169.254.nip.io/`, `http://instance-data/`, a redirect to
 * either). The bot's guarded downloader resolves the name, checks every address and every redirect, and the provider
 * gets the bytes instead.
 */

/** Largest member image fetched (providers refuse larger input images anyway). */
export const MAX_MEMBER_IMAGE_BYTES = 10 * 1024 * 1024;

/** The guard for a member's link: `allowPrivate` is `ALLOW_PRIVATE_URLS`; `lookup`/`trustedAddresses` are test seams. */
export type MemberLinkGuard = Omit<UrlGuardOptions, 'outputOf'>;

export interface MemberImageOptions {
  guard?: MemberLinkGuard;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  timeoutMs?: number;
  maxBytes?: number;
  /** Names the image in download errors; default `image prompt`. */
  source?: string;
}

/** True for an http(s) link (as opposed to an inline `data:` URI, which needs no fetching). */
export function isImageLink(source: string | undefined): source is string {
  return source !== undefined && /^https?:/i.test(source);
}

/** Downloads a member's image link through the guarded downloader (size-capped, checked to decode). */
export function fetchMemberImage(link: string, options: MemberImageOptions = {}): Promise<DecodedImage> {
  return downloadImage(link, {
    maxBytes: options.maxBytes ?? MAX_MEMBER_IMAGE_BYTES,
    guard: options.guard ?? {},
    source: options.source ?? 'image prompt',
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/**
 * A member's reference image link (`images`), fetched by the guarded downloader and checked as admission checks it
 * (PNG, JPEG, WebP or GIF by its bytes, its sides, a full decode): GIF included, which the image prompt path refuses.
 */
export async function fetchReferenceImage(link: string, options: MemberImageOptions = {}): Promise<CheckedReference> {
  const bytes = await downloadBytes(link, {
    maxBytes: options.maxBytes ?? MAX_MEMBER_IMAGE_BYTES,
    guard: options.guard ?? {},
    source: options.source ?? 'reference image',
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return checkReferenceImage(bytes);
}

/** The request with its image prompt link replaced by a `data:` URI of the image the guarded downloader fetched. */
export async function withInlineImagePrompt(request: FluxRequest, options: MemberImageOptions = {}): Promise<FluxRequest> {
  if (!isImageLink(request.image_prompt)) return request;
  const image = await fetchMemberImage(request.image_prompt, options);
  return { ...request, image_prompt: toDataUri(image) };
}

/** Whether the request carries a member's link anywhere the bot may have to fetch it: the image prompt or `images`. */
export function hasImageLinks(request: FluxRequest): boolean {
  return isImageLink(request.image_prompt) || (request.images ?? []).some((source) => isImageLink(source));
}

/**
 * The request with every member link (its image prompt and each reference image) replaced by a `data:` URI of the
 * exact bytes the guarded downloader fetched, the order of `images` kept. Inline images are left as they are.
 */
export async function withInlineImages(request: FluxRequest, options: MemberImageOptions = {}): Promise<FluxRequest> {
  const out = await withInlineImagePrompt(request, options);
  if (!request.images?.some((source) => isImageLink(source))) return out;
  // One at a time: up to ten images of up to 10 MB each are not held in flight at once.
  const images: string[] = [];
  for (const [index, source] of request.images.entries()) {
    images.push(isImageLink(source) ? toDataUri(await fetchReferenceImage(source, { ...options, source: `reference image ${index + 1}` })) : source);
  }
  return { ...out, images };
}
