import { crc32 } from 'node:zlib';

/**
 * A fast path for inspectImage: the format and size of plain, well-formed PNG and WebP files read from their headers
 * in JavaScript, without a round trip through sharp's thread pool (most of the CPU a worker spent per image). It only
 * ever *accepts*: anything it is not certain sharp would accept exactly so (other formats, palettes, extra chunks,
 * extended WebP, any inconsistency) returns undefined and goes to sharp, which decides and words the error.
 */
export interface ImageHeader {
  format: 'png' | 'webp';
  width: number;
  height: number;
}

/** sharp's default `limitInputPixels`: larger images are refused by sharp, so they go there. */
const MAX_PIXELS = 0x3fff * 0x3fff;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Bit depths allowed per PNG colour type (palette images, type 3, go to sharp). */
const PNG_DEPTHS: Partial<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 4: [8, 16], 6: [8, 16] };
/** Ancillary chunks accepted before the image data, with the length and value checks sharp's decoder makes. */
const PNG_SIMPLE_CHUNKS: Record<string, (data: Buffer) => boolean> = {
  gAMA: (d) => d.length === 4 && d.readUInt32BE(0) > 0 && d.readUInt32BE(0) <= 0x7fffffff,
  sRGB: (d) => d.length === 1 && d[0]! <= 3,
  pHYs: (d) => d.length === 9 && d[8]! <= 1 && d.readUInt32BE(0) <= 0x7fffffff && d.readUInt32BE(4) <= 0x7fffffff,
};

export function readImageHeader(bytes: Buffer): ImageHeader | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return readPng(bytes);
  if (bytes.length >= 30 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return readWebp(bytes);
  return undefined;
}

/** IHDR, a few simple ancillary chunks (CRCs checked, as the decoder does), IDAT chunks, then IEND at the very end. */
function readPng(b: Buffer): ImageHeader | undefined {
  let offset = 8;
  let header: ImageHeader | undefined;
  let phase: 'header' | 'data' | 'end' = 'header';
  const seen = new Set<string>();
  while (offset < b.length) {
    if (offset + 12 > b.length) return undefined;
    const length = b.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > b.length) return undefined;
    const type = b.toString('latin1', offset + 4, offset + 8);
    const data = b.subarray(offset + 8, offset + 8 + length);
    const crcOk = () => crc32(b.subarray(offset + 4, offset + 8 + length)) === b.readUInt32BE(offset + 8 + length);
    if (!header) {
      if (type !== 'IHDR' || length !== 13 || !crcOk()) return undefined;
      header = readIhdr(data);
      if (!header) return undefined;
    } else if (type === 'IDAT') {
      if (phase === 'end') return undefined;
      phase = 'data';
    } else if (type === 'IEND') {
      if (phase !== 'data' || length !== 0 || end !== b.length || !crcOk()) return undefined;
      phase = 'end';
    } else {
      const check = PNG_SIMPLE_CHUNKS[type];
      if (phase !== 'header' || !check || seen.has(type) || !check(data) || !crcOk()) return undefined;
      seen.add(type);
    }
    offset = end;
  }
  return phase === 'end' ? header : undefined;
}

function readIhdr(d: Buffer): ImageHeader | undefined {
  const width = d.readUInt32BE(0);
  const height = d.readUInt32BE(4);
  const [depth, colorType, compression, filter, interlace] = [d[8]!, d[9]!, d[10]!, d[11]!, d[12]!];
  if (!PNG_DEPTHS[colorType]?.includes(depth) || compression !== 0 || filter !== 0 || interlace > 1) return undefined;
  return sized('png', width, height);
}

/** Simple WebP only: one `VP8 ` (lossy) or `VP8L` (lossless) chunk filling the file exactly. */
function readWebp(b: Buffer): ImageHeader | undefined {
  if (b.readUInt32LE(4) !== b.length - 8) return undefined;
  const fourcc = b.toString('latin1', 12, 16);
  const size = b.readUInt32LE(16);
  if (20 + size + (size & 1) !== b.length) return undefined;
  const d = b.subarray(20, 20 + size);
  if (fourcc === 'VP8 ') {
    if (d.length < 10) return undefined;
    const tag = d[0]! | (d[1]! << 8) | (d[2]! << 16);
    const keyFrame = (tag & 1) === 0;
    const version = (tag >> 1) & 7;
    const shown = ((tag >> 4) & 1) === 1;
    const partition = tag >>> 5;
    if (!keyFrame || version > 3 || !shown || partition >= d.length) return undefined;
    if (d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a) return undefined;
    return sized('webp', d.readUInt16LE(6) & 0x3fff, d.readUInt16LE(8) & 0x3fff);
  }
  if (fourcc === 'VP8L') {
    if (d.length < 5 || d[0] !== 0x2f) return undefined;
    const bits = d.readUInt32LE(1);
    if (bits >>> 29 !== 0) return undefined; // version must be 0
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  return undefined;
}

function sized(format: ImageHeader['format'], width: number, height: number): ImageHeader | undefined {
  if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff || width * height > MAX_PIXELS) return undefined;
  return { format, width, height };
}
