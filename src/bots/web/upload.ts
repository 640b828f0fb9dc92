import sharp from 'sharp';
import { MAX_UPLOAD_BYTES, WEB_TEXT } from './web-text.js';

const TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;
/** Largest image prompt in pixels: well past any camera, far below what would tie up the bot decoding it. */
const MAX_PIXELS = 50_000_000;

/** An upload the playground refuses, with the text the person sees and the HTTP status. */
export class UploadRefused extends Error {
  constructor(
    readonly status: 413 | 400,
    readonly text: string,
  ) {
    super(text);
    this.name = 'UploadRefused';
  }
}

/**
 * Checks an uploaded image prompt (base64 from the page): at most MAX_UPLOAD_BYTES, a PNG, JPEG or WebP by its
 * bytes (never by the name or type the browser claims), and it decodes in full. Returns the bytes and their type.
 */
export async function checkUpload(base64: unknown): Promise<{ bytes: Buffer; contentType: string }> {
  if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length === 0) {
    throw new UploadRefused(400, WEB_TEXT.uploadNotImage);
  }
  if (Math.floor((base64.length * 3) / 4) > MAX_UPLOAD_BYTES + 2) throw new UploadRefused(413, WEB_TEXT.uploadTooLarge);
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length > MAX_UPLOAD_BYTES) throw new UploadRefused(413, WEB_TEXT.uploadTooLarge);
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' });
    const { format } = await image.metadata();
    if (format !== 'png' && format !== 'jpeg' && format !== 'webp') throw new Error(`format ${String(format)}`);
    // Decoding a thumbnail reads every pixel row: a truncated or corrupt file fails here, not at the provider.
    await image.resize(16, 16, { fit: 'inside' }).toBuffer();
    return { bytes, contentType: TYPES[format] };
  } catch {
    throw new UploadRefused(400, WEB_TEXT.uploadNotImage);
  }
}
