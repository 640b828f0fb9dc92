import sharp, { type Metadata, type Sharp } from 'sharp';
import { ImageInvalid } from '../errors.js';

export type ImageFormat = 'png' | 'jpg' | 'webp';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
};

export interface DecodedImage {
  bytes: Buffer;
  format: ImageFormat;
  contentType: string;
  width: number;
  height: number;
}

/** Decodes enough of the image to trust it: its real format (not the header's claim) and its size. */
export async function inspectImage(bytes: Buffer): Promise<DecodedImage> {
  // sharp is the one parser of images from members and providers: its metadata() costs a fraction of a millisecond,
  // nothing next to a generation, and a second parser of our own would be one more to keep exactly in step with it.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: 'error' }).metadata();
  } catch (err) {
    throw new ImageInvalid('the file is not a readable image', { cause: err });
  }
  const format = toImageFormat(meta.format);
  if (!format || !meta.width || !meta.height) throw new ImageInvalid(`unsupported image type ${meta.format ?? 'unknown'}`);
  return { bytes, format, contentType: CONTENT_TYPES[format], width: meta.width, height: meta.height };
}

function toImageFormat(format: string | undefined): ImageFormat | undefined {
  switch (format) {
    case 'png':
      return 'png';
    case 'jpeg':
    case 'jpg':
      return 'jpg';
    case 'webp':
      return 'webp';
    default:
      return undefined;
  }
}

export interface FitOptions {
  /** Wanted format; the image is re-encoded when it differs. */
  format?: ImageFormat;
  /** Largest acceptable size in bytes (a platform's upload limit). */
  maxBytes?: number;
  /** Encoder quality for jpg/webp, 1..100. */
  quality?: number;
}

/**
 * Re-encodes an image when it is in another format than asked or larger than `maxBytes`. Over the limit it steps the
 * quality down, then (for png, which has no quality knob, after converting to webp) scales it down, until it fits.
 */
export async function fitImage(image: DecodedImage, options: FitOptions = {}): Promise<DecodedImage> {
  const target = options.format ?? image.format;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (target === image.format && image.bytes.length <= maxBytes) return image;

  let quality = clampQuality(options.quality ?? 90);
  let format = target;
  let scale = 1;
  for (let attempt = 0; attempt < 12; attempt++) {
    const width = Math.max(64, Math.round(image.width * scale));
    let pipeline = sharp(image.bytes);
    if (scale < 1) pipeline = pipeline.resize({ width });
    const bytes = await encode(pipeline, format, quality).toBuffer();
    if (bytes.length <= maxBytes) return inspectImage(bytes);
    if (format === 'png') format = 'webp';
    else if (quality > 50) quality -= 15;
    else scale *= 0.8;
  }
  throw new ImageInvalid(`the image could not be made smaller than ${maxBytes} bytes`);
}

function encode(pipeline: Sharp, format: ImageFormat, quality: number): Sharp {
  switch (format) {
    case 'png':
      return pipeline.png({ compressionLevel: 9 });
    case 'jpg':
      return pipeline.jpeg({ quality, mozjpeg: true });
    case 'webp':
      return pipeline.webp({ quality });
  }
}

function clampQuality(q: number): number {
  return Math.min(100, Math.max(1, Math.round(q)));
}

/** Formats accepted as reference images (`images`), by what the bytes are, with the type they are stored under. */
export const REFERENCE_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' } as const;
export type ReferenceFormat = keyof typeof REFERENCE_TYPES;

/** What a reference image may be: its size in bytes and the length of each side in pixels. */
export interface ReferenceLimits {
  maxBytes: number;
  minSide: number;
  maxSide: number;
}

/**
 * Limits of a reference image. 10 MB is what the providers take for an input image; below 64 px a side there is
 * nothing to edit, and past 8,192 px the bot would spend seconds decoding what every provider scales down anyway.
 */
export const REFERENCE_LIMITS: ReferenceLimits = { maxBytes: 10 * 1024 * 1024, minSide: 64, maxSide: 8192 };

/** A reference image that passed every check: its bytes, real type (read from the bytes) and size. */
export interface CheckedReference {
  bytes: Buffer;
  format: ReferenceFormat;
  contentType: string;
  width: number;
  height: number;
}

/**
 * Checks an image given to edit or combine: at most `maxBytes`, a PNG, JPEG, WebP or GIF by its bytes (never by the
 * name or type it came with), each side within the limits, and it decodes in full (a truncated or corrupt file fails
 * here, not at the provider after the person waited in the queue). Throws ImageInvalid whose detail is the reason
 * as a clause about the image ("it is larger than 10 MB"), for a message that names the image first.
 */
export async function checkReferenceImage(bytes: Buffer, limits: ReferenceLimits = REFERENCE_LIMITS): Promise<CheckedReference> {
  if (bytes.length > limits.maxBytes) throw new ImageInvalid(`it is larger than ${formatBytes(limits.maxBytes)}`);
  if (bytes.length === 0) throw new ImageInvalid('it is empty');
  // The header alone is read first: a 100,000-pixel-wide image is refused without decoding a single row.
  const limitInputPixels = limits.maxSide * limits.maxSide;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageInvalid('it is not an image (a PNG, JPEG, WebP or GIF file)', { cause: err });
  }
  const format = meta.format;
  if (format !== 'png' && format !== 'jpeg' && format !== 'webp' && format !== 'gif') {
    throw new ImageInvalid(`it is not a PNG, JPEG, WebP or GIF image (it is ${meta.format ?? 'of an unknown type'})`);
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width < limits.minSide || height < limits.minSide || width > limits.maxSide || height > limits.maxSide) {
    throw new ImageInvalid(`it is ${width}×${height} pixels; each side must be between ${limits.minSide} and ${limits.maxSide} pixels`);
  }
  try {
    // A thumbnail reads every pixel row (of the first frame, for an animated GIF).
    await sharp(bytes, { failOn: 'error', limitInputPixels }).resize(16, 16, { fit: 'inside' }).toBuffer();
  } catch (err) {
    throw new ImageInvalid('it could not be decoded (the file is damaged or incomplete)', { cause: err });
  }
  return { bytes, format, contentType: REFERENCE_TYPES[format], width, height };
}

/** `10 MB`, `512 KB`: a byte count as a person reads it. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
