import sharp, { type OverlayOptions } from 'sharp';
import { decodeDataUri } from '../../images/download.js';
import { fetchReferenceImage, isImageLink, type MemberLinkGuard } from '../../images/member-links.js';

/**
 * The reference images of a preview, drawn as thumbnails along the bottom of the placeholder so an edit can be tried
 * offline: the person sees which images, in which order, the request carried. An image that cannot be had (a link
 * that does not answer or is refused by the guard, bytes that do not decode) gets a marked tile instead; it never
 * fails the preview.
 */

export interface ThumbnailOptions {
  /** The guard for members' links, as the other providers get it (`allowPrivate` is `ALLOW_PRIVATE_URLS`). */
  guard?: MemberLinkGuard;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Each link's download; default 10 s. */
  timeoutMs?: number;
}

/** Where one thumbnail goes: its top-left corner and side, in pixels. */
export interface ThumbnailSlot {
  left: number;
  top: number;
  size: number;
}

/** The fill of a tile whose image could not be had: a muted red, with a cross drawn over it. */
export const MISSING_TILE_COLOUR = { r: 160, g: 32, b: 32 };

/**
 * Square slots in a row along the bottom edge, left to right in the images' order: as large as the width allows,
 * at most a quarter of the height, with a margin of 2% of the shorter side around each.
 */
export function thumbnailLayout(width: number, height: number, count: number): ThumbnailSlot[] {
  if (count === 0) return [];
  const margin = Math.max(2, Math.round(Math.min(width, height) * 0.02));
  const size = Math.max(8, Math.min(Math.floor((width - margin * (count + 1)) / count), Math.floor(height / 4)));
  const top = Math.max(0, height - margin - size);
  return Array.from({ length: count }, (_, i) => ({ left: margin + i * (size + margin), top, size }));
}

/** The overlays that draw each image's thumbnail (or a marked tile) into its slot. */
export async function thumbnailOverlays(images: readonly string[], width: number, height: number, options: ThumbnailOptions = {}): Promise<OverlayOptions[]> {
  const slots = thumbnailLayout(width, height, images.length);
  const overlays: OverlayOptions[] = [];
  for (const [i, source] of images.entries()) {
    const slot = slots[i]!;
    const tile = (await thumbnail(source, slot.size, options)) ?? (await missingTile(slot.size));
    overlays.push({ input: tile, left: slot.left, top: slot.top });
  }
  return overlays;
}

/** The image scaled to cover a square tile, or undefined when it cannot be had. */
async function thumbnail(source: string, size: number, options: ThumbnailOptions): Promise<Buffer | undefined> {
  try {
    const bytes = isImageLink(source)
      ? (
          await fetchReferenceImage(source, {
            guard: options.guard ?? {},
            timeoutMs: options.timeoutMs ?? 10_000,
            source: 'reference image',
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.fetch ? { fetch: options.fetch } : {}),
          })
        ).bytes
      : decodeDataUri(source);
    return await sharp(bytes, { failOn: 'error' }).rotate().resize(size, size, { fit: 'cover' }).png().toBuffer();
  } catch {
    // The tile says it is missing; the preview itself still renders.
    return undefined;
  }
}

async function missingTile(size: number): Promise<Buffer> {
  const { r, g, b } = MISSING_TILE_COLOUR;
  const stroke = Math.max(2, Math.round(size / 12));
  const svg = `<svg width="${size}" height="${size}" xmlns="http://www.w3.org/2000/svg">
<rect width="100%" height="100%" fill="rgb(${r},${g},${b})"/>
<path d="M${size * 0.2} ${size * 0.2} L${size * 0.8} ${size * 0.8} M${size * 0.8} ${size * 0.2} L${size * 0.2} ${size * 0.8}" stroke="#ffffff" stroke-width="${stroke}"/>
</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
