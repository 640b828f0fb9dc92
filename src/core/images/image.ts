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
