import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader } from '../../src/core/images/image-header.js';
import { inspectImage } from '../../src/core/images/image.js';

function create(width: number, height: number, channels: 3 | 4 = 3) {
  return sharp({ create: { width, height, channels, background: { r: 20, g: 120, b: 220, alpha: 0.5 } } });
}

/** A PNG chunk with a correct CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

describe('readImageHeader (the fast path of inspectImage)', () => {
  it('reads plain PNG and WebP files exactly as sharp does', async () => {
    const cases = [
      await create(320, 200).png().toBuffer(),
      await create(7, 1000, 4).png({ compressionLevel: 0 }).toBuffer(),
      await create(64, 48).greyscale().png().toBuffer(),
      await create(33, 17).png({ progressive: true }).toBuffer(),
      await create(320, 200).webp().toBuffer(),
      await create(321, 201, 4).webp({ lossless: true }).toBuffer(),
    ];
    for (const bytes of cases) {
      const quick = readImageHeader(bytes);
      const meta = await sharp(bytes).metadata();
      expect(quick).toEqual({ format: meta.format, width: meta.width, height: meta.height });
    }
  });

  it('leaves anything unusual or broken to sharp', async () => {
    const png = await create(32, 32).png().toBuffer();
    const badCrc = Buffer.from(png);
    badCrc[29] = badCrc[29]! ^ 0xff; // the IHDR CRC
    const withText = Buffer.concat([png.subarray(0, 33), chunk('tEXt', Buffer.from('Comment\0hi')), png.subarray(33)]);
    const deferred = [
      badCrc,
      withText,
      png.subarray(0, png.length - 12), // no IEND
      Buffer.concat([png, Buffer.from('trailing')]),
      await create(32, 32).png({ palette: true }).toBuffer(),
      await create(32, 32).jpeg().toBuffer(),
      await create(32, 32).webp().withMetadata().toBuffer(), // extended (VP8X) WebP
      (await create(32, 32).webp().toBuffer()).subarray(0, 40),
      Buffer.from('definitely not an image'),
    ];
    for (const bytes of deferred) expect(readImageHeader(bytes)).toBeUndefined();
  });

  it('keeps sharp’s verdict for what it defers (sharp tolerates a bad IHDR CRC; garbage is refused)', async () => {
    const png = await create(32, 32).png().toBuffer();
    const badCrc = Buffer.from(png);
    badCrc[29] = badCrc[29]! ^ 0xff;
    const withText = Buffer.concat([png.subarray(0, 33), chunk('tEXt', Buffer.from('Comment\0hi')), png.subarray(33)]);
    for (const bytes of [badCrc, withText]) {
      const meta = await sharp(bytes, { failOn: 'error' }).metadata();
      await expect(inspectImage(bytes)).resolves.toMatchObject({ format: meta.format, width: meta.width, height: meta.height });
    }
    await expect(inspectImage(png.subarray(0, 20))).rejects.toThrow(/not a readable image/);
  });
});
