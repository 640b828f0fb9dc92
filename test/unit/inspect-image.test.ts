import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspectImage } from '../../src/core/images/image.js';

const make = (format: 'png' | 'webp' | 'jpeg' | 'gif', width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 200 } } })
    .toFormat(format)
    .toBuffer();

describe('inspectImage (sharp is the one parser)', () => {
  it('reports the real format and size of PNG, WebP and JPEG, whatever the caller claims', async () => {
    for (const [format, expected, type] of [
      ['png', 'png', 'image/png'],
      ['webp', 'webp', 'image/webp'],
      ['jpeg', 'jpg', 'image/jpeg'],
    ] as const) {
      const bytes = await make(format, 67, 45);
      expect(await inspectImage(bytes)).toEqual({ bytes, format: expected, contentType: type, width: 67, height: 45 });
    }
  });

  it('refuses truncated or garbage bytes and formats the bot does not post', async () => {
    const png = await make('png', 32, 32);
    await expect(inspectImage(png.subarray(0, 20))).rejects.toThrow(/not a readable image/);
    await expect(inspectImage(Buffer.from('<html>not an image</html>'))).rejects.toThrow(/not a readable image/);
    await expect(inspectImage(await make('gif', 8, 8))).rejects.toThrow(/unsupported image type gif/);
  });
});
