import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageInvalid } from '../../src/core/errors.js';
import { decodeDataUri, downloadImage, toDataUri } from '../../src/core/images/download.js';
import { fitImage, inspectImage } from '../../src/core/images/image.js';
import { assertFetchableUrl, isPrivateAddress } from '../../src/core/images/url-guard.js';
import { FakeServer, makeImage, sendJson } from '../fakes/fake-server.js';

let server: FakeServer;
let png: Buffer;
beforeAll(async () => {
  png = await makeImage(320, 200, 'png');
  server = await new FakeServer((call, res) => {
    if (call.path === '/a.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(png);
    }
    if (call.path === '/page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html>');
    }
    if (call.path === '/lies.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end('definitely not a png');
    }
    if (call.path === '/big.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(Buffer.alloc(2 * 1024 * 1024));
    }
    if (call.path === '/gone') return sendJson(res, 404, {});
    if (call.path === '/broken') return sendJson(res, 503, {});
    sendJson(res, 404, {});
  }).listen();
});
afterAll(() => server.close());

describe('downloadImage', () => {
  it('downloads, decodes and reports the real format and size', async () => {
    const img = await downloadImage(`${server.url}/a.png`);
    expect([img.format, img.width, img.height, img.contentType]).toEqual(['png', 320, 200, 'image/png']);
  });

  it('refuses non-images, undecodable bytes, oversized bodies and expired links with specific errors', async () => {
    await expect(downloadImage(`${server.url}/page`)).rejects.toThrow(/not point to an image \(it is text\/html\)/);
    await expect(downloadImage(`${server.url}/lies.png`)).rejects.toThrow(/not a readable image/);
    await expect(downloadImage(`${server.url}/big.png`, { maxBytes: 1024 * 1024 })).rejects.toThrow(/larger than 1 MB/);
    await expect(downloadImage(`${server.url}/gone`)).rejects.toBeInstanceOf(ImageInvalid);
    await expect(downloadImage(`${server.url}/broken`)).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('guards user links against private and local networks unless allowed', async () => {
    await expect(downloadImage(`${server.url}/a.png`, { guard: {} })).rejects.toThrow(/private or local network/);
    await expect(downloadImage(`${server.url}/a.png`, { guard: { allowPrivate: true } })).resolves.toMatchObject({ width: 320 });
    await expect(assertFetchableUrl('ftp://example.com/x.png')).rejects.toThrow(/only http and https/);
    await expect(assertFetchableUrl('http://user:pw@example.com/x.png')).rejects.toThrow(/credentials/);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0']) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPrivateAddress(a)).toBe(false);
  });

  it('decodes data URIs in place and refuses non-image ones', async () => {
    const uri = toDataUri({ bytes: png, contentType: 'image/png' });
    expect((await downloadImage(uri)).width).toBe(320);
    expect(() => decodeDataUri('data:text/html;base64,PGI+')).toThrow(/not an image/);
    expect(() => decodeDataUri('nonsense')).toThrow(/malformed/);
  });
});

describe('fitImage', () => {
  it('re-encodes to the requested format', async () => {
    const out = await fitImage(await inspectImage(png), { format: 'webp' });
    expect(out.format).toBe('webp');
    expect((await sharp(out.bytes).metadata()).format).toBe('webp');
  });

  it('shrinks an image over the byte limit until it fits, keeping it decodable', async () => {
    const noisy = await sharp(Buffer.from(Array.from({ length: 512 * 512 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 512, height: 512, channels: 3 } }).png().toBuffer();
    const out = await fitImage(await inspectImage(noisy), { maxBytes: 40_000 });
    expect(out.bytes.length).toBeLessThanOrEqual(40_000);
    expect((await inspectImage(out.bytes)).width).toBeGreaterThan(0);
  });

  it('leaves an image alone when it already fits in the wanted format', async () => {
    const img = await inspectImage(png);
    expect(await fitImage(img, { format: 'png', maxBytes: 10_000_000 })).toBe(img);
  });
});
