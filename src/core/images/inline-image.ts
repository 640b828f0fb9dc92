import sharp, { type Metadata } from 'sharp';
import { ImageInvalid } from '../errors.js';
import { decodeDataUri, formatBytes, toDataUri } from './download.js';
import { fetchReferenceImage, isImageLink, type MemberImageOptions } from './member-links.js';

/**
 * Reference images made ready for a provider's JSON input: links kept (a hosted provider fetches them itself) or
 * fetched by the bot through the guarded downloader, and `data:` URIs kept byte for byte when they fit the provider's
 * inline limit, else re-encoded smaller. An image is never dropped: one that cannot be made to fit fails the request.
 */

const JPEG_PREFIX = 'data:image/jpeg;base64,';
/** Re-encoding attempts before giving up: quality steps first, then the size shrinks by a quarter each time. */
const MAX_ATTEMPTS = 14;

/**
 * The data URI itself when it is at most `maxChars` long; else the image re-encoded as JPEG (white behind any
 * transparency, EXIF orientation applied since the re-encoding drops EXIF), quality stepped down to 60 and then the
 * size scaled down until it fits. Throws ImageInvalid when even that cannot fit (a limit of a few hundred bytes).
 */
export async function fitDataUri(uri: string, maxChars: number): Promise<string> {
  if (uri.length <= maxChars) return uri;
  const budget = Math.floor(((maxChars - JPEG_PREFIX.length) / 4) * 3);
  const source = decodeDataUri(uri);
  let meta: Metadata;
  try {
    meta = await sharp(source, { failOn: 'error' }).metadata();
  } catch (err) {
    throw new ImageInvalid('a reference image is not a readable image', { cause: err });
  }
  const width = meta.width ?? 1024;
  let quality = 90;
  let scale = 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && budget > 0; attempt++) {
    let pipeline = sharp(source).rotate().flatten({ background: '#ffffff' });
    if (scale < 1) pipeline = pipeline.resize({ width: Math.max(16, Math.round(width * scale)) });
    const bytes = await pipeline.jpeg({ quality, mozjpeg: true }).toBuffer();
    if (bytes.length <= budget) return toDataUri({ bytes, contentType: 'image/jpeg' });
    if (quality > 60) quality -= 15;
    else scale *= 0.75;
  }
  throw new ImageInvalid(`a reference image could not be made smaller than ${formatBytes(Math.max(0, budget))}`);
}

export interface PrepareImagesOptions extends MemberImageOptions {
  /**
   * `keep`: http(s) links go as they are (a hosted provider fetches them from its own network). `fetch`: the bot
   * downloads each through the guarded downloader and sends the bytes inline (a provider on the operator's network,
   * or one that only takes inline data).
   */
  links: 'keep' | 'fetch';
  /** Longest `data:` URI the provider takes inline, in characters; longer ones are re-encoded. Default: no limit. */
  maxChars?: number;
}

/**
 * The reference images as the provider will get them, in the same order: links kept or turned into `data:` URIs of
 * the exact bytes downloaded, and every `data:` URI fitted to `maxChars`. One at a time: up to ten images of up to
 * 10 MB each are not held in memory at once before they are needed.
 */
export async function prepareImages(images: readonly string[], options: PrepareImagesOptions): Promise<string[]> {
  const maxChars = options.maxChars ?? Number.POSITIVE_INFINITY;
  const out: string[] = [];
  for (const [index, source] of images.entries()) {
    if (isImageLink(source)) {
      if (options.links === 'keep') {
        out.push(source);
        continue;
      }
      const image = await fetchReferenceImage(source, { ...options, source: `reference image ${index + 1}` });
      out.push(await fitDataUri(toDataUri(image), maxChars));
    } else {
      out.push(await fitDataUri(source, maxChars));
    }
  }
  return out;
}

/** The payload of a base64 `data:` URI (what BFL takes as an image). */
export function dataUriBase64(uri: string): string {
  const comma = uri.indexOf(',');
  if (!uri.startsWith('data:') || comma < 0 || !uri.slice(0, comma).endsWith(';base64')) throw new ImageInvalid('malformed data URI');
  return uri.slice(comma + 1);
}
