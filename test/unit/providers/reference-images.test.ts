import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageInvalid } from '../../../src/core/errors.js';
import { dataUriBase64, fitDataUri, prepareImages } from '../../../src/core/images/inline-image.js';
import { hasImageLinks, withInlineImages } from '../../../src/core/images/member-links.js';
import { acceptedImages, numberedNames, placeImages } from '../../../src/core/providers/images-mapping.js';
import { parseFluxRequest, type FluxRequest } from '../../../src/core/request.js';
import { expectUnsupported } from '../../helpers/refusal.js';
import { FakeServer, makeImage } from '../../fakes/fake-server.js';

/** Reference images on their way to a provider: placed per the catalogue's mapping, fetched, fitted, never dropped. */

let host: FakeServer;
let png: Buffer;
let gif: Buffer;

beforeAll(async () => {
  // At least 64 px a side: what admission accepts as a reference image, and so what a provider path fetches.
  png = await makeImage(80, 64, 'png', '#123456');
  gif = await sharp({ create: { width: 72, height: 72, channels: 3, background: '#2277aa' } }).gif().toBuffer();
  host = await new FakeServer((call, res) => {
    if (call.path === '/p.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (call.path === '/g.gif') return void res.writeHead(200, { 'content-type': 'image/gif' }).end(gif);
    if (call.path === '/tiny.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(tiny);
    res.writeHead(404).end();
  }).listen();
});
afterAll(() => host.close());
let tiny: Buffer;
beforeAll(async () => {
  tiny = await makeImage(30, 20, 'png');
});

const noiseUri = async (side: number) =>
  `data:image/png;base64,${(await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).png().toBuffer()).toString('base64')}`;

function req(images: string[]): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'x', model: 'flux-2-pro', images }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

describe('placing images per the mapping', () => {
  it('puts them in one list, in numbered fields or in the one field, in order', () => {
    const images = ['a', 'b', 'c'];
    expect(placeImages({ shape: 'array', name: 'input_images', max: 8 }, images)).toStrictEqual({ input_images: ['a', 'b', 'c'] });
    expect(placeImages({ shape: 'numbered', name: 'input_image', max: 8 }, images)).toStrictEqual({ input_image: 'a', input_image_2: 'b', input_image_3: 'c' });
    expect(placeImages({ shape: 'single', name: 'image_url', max: 1 }, ['a'])).toStrictEqual({ image_url: 'a' });
    expect(numberedNames('input_image', 2)).toStrictEqual(['input_image', 'input_image_2']);
  });

  it('refuses, naming images, past the provider’s maximum or where the provider takes none', () => {
    const request = req(['https://example.com/1.png', 'https://example.com/2.png']);
    expect(acceptedImages('fal', request, { shape: 'array', name: 'image_urls', max: 2 })).toStrictEqual(request.images);
    const over = expectUnsupported(() => acceptedImages('replicate', request, { shape: 'single', name: 'input_image', max: 1 }));
    expect([over.field, over.message]).toStrictEqual(['images', 'replicate does not support 2 reference images with flux-2-pro (it takes at most 1 reference image)']);
    expect(expectUnsupported(() => acceptedImages('fal', request, undefined)).field).toBe('images');
    expect(acceptedImages('fal', req([]), undefined)).toBeUndefined();
  });
});

describe('fitting inline images', () => {
  it('keeps a data URI that fits exactly as it is', async () => {
    const uri = `data:image/png;base64,${png.toString('base64')}`;
    expect(await fitDataUri(uri, uri.length)).toBe(uri);
  });

  it('re-encodes one that does not as a JPEG within the limit, the picture kept (same proportions)', async () => {
    const uri = await noiseUri(300);
    const fitted = await fitDataUri(uri, 60_000);
    expect(fitted.length).toBeLessThanOrEqual(60_000);
    const meta = await sharp(Buffer.from(dataUriBase64(fitted), 'base64')).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBe(meta.height);
  });

  it('fails rather than drop an image that cannot be made to fit', async () => {
    await expect(fitDataUri(await noiseUri(64), 40)).rejects.toBeInstanceOf(ImageInvalid);
  });

  it('keeps links for a provider that fetches them, and fetches them (exact bytes) for one that must not', async () => {
    const link = `${host.url}/p.png`;
    const inline = `data:image/png;base64,${png.toString('base64')}`;
    expect(await prepareImages([link, inline], { links: 'keep' })).toStrictEqual([link, inline]);
    const fetched = await prepareImages([inline, link], { links: 'fetch', guard: { allowPrivate: true } });
    expect(fetched).toStrictEqual([inline, inline]);
    await expect(prepareImages([link], { links: 'fetch' })).rejects.toBeInstanceOf(ImageInvalid);
  });
});

describe('members’ links made inline', () => {
  it('replaces every link among the images, in order, and leaves inline ones alone', async () => {
    const inline = `data:image/jpeg;base64,${(await makeImage(10, 10, 'jpeg')).toString('base64')}`;
    const request = req([`${host.url}/p.png`, inline]);
    expect(hasImageLinks(request)).toBe(true);
    const out = await withInlineImages(request, { guard: { allowPrivate: true } });
    expect(out.images).toStrictEqual([`data:image/png;base64,${png.toString('base64')}`, inline]);
    expect(hasImageLinks(out)).toBe(false);
    expect(request.images![0]).toBe(`${host.url}/p.png`);
  });

  it('fetches a GIF as admission accepts it, and refuses what admission would (too small a side)', async () => {
    const out = await withInlineImages(req([`${host.url}/g.gif`]), { guard: { allowPrivate: true } });
    expect(out.images).toStrictEqual([`data:image/gif;base64,${gif.toString('base64')}`]);
    expect(await prepareImages([`${host.url}/g.gif`], { links: 'fetch', guard: { allowPrivate: true } })).toStrictEqual(out.images);
    await expect(withInlineImages(req([`${host.url}/tiny.png`]), { guard: { allowPrivate: true } })).rejects.toThrow(/30×20 pixels/);
  });
});
