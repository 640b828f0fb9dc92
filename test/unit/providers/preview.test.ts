import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { MISSING_TILE_COLOUR, thumbnailLayout, type ThumbnailSlot } from '../../../src/core/providers/preview/thumbnails.js';
import { parseFluxRequest, type FluxRequest } from '../../../src/core/request.js';
import { FakeServer, makeImage } from '../../fakes/fake-server.js';

/**
 * The preview draws a request's reference images as thumbnails along the bottom of its placeholder, so editing can be
 * tried offline: each picture really is there, in order; one that cannot be had gets a marked tile and never fails
 * the preview.
 */

const RED = { r: 220, g: 20, b: 20 };
const BLUE = { r: 20, g: 40, b: 220 };
let host: FakeServer;
let blue: Buffer;

beforeAll(async () => {
  blue = await makeImage(80, 64, 'png', '#1428dc');
  host = await new FakeServer((call, res) => {
    if (call.path === '/blue.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(blue);
    res.writeHead(404).end();
  }).listen();
});
afterAll(() => host.close());

async function redDataUri(): Promise<string> {
  return `data:image/jpeg;base64,${(await makeImage(70, 70, 'jpeg', '#dc1414')).toString('base64')}`;
}

function req(images: string[]): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'swap the hats', model: 'flux-2-pro', seed: 3, output_format: 'png', images }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

/** The colour at a point of a slot, `fx`/`fy` as fractions of its side. */
async function colourAt(png: Buffer, slot: ThumbnailSlot, fx: number, fy: number) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = Math.round(slot.left + slot.size * fx);
  const y = Math.round(slot.top + slot.size * fy);
  const i = (y * info.width + x) * info.channels;
  return { r: data[i]!, g: data[i + 1]!, b: data[i + 2]! };
}

function near(actual: { r: number; g: number; b: number }, expected: { r: number; g: number; b: number }): boolean {
  return Math.abs(actual.r - expected.r) <= 12 && Math.abs(actual.g - expected.g) <= 12 && Math.abs(actual.b - expected.b) <= 12;
}

describe('preview: reference images as thumbnails', () => {
  it('draws each image, inline or fetched through the guard, into its slot in order', async () => {
    const preview = new PreviewProvider({ imageGuard: { allowPrivate: true } });
    const image = await preview.generate(req([await redDataUri(), `${host.url}/blue.png`]));
    expect(image).toMatchObject({ provider: 'preview', format: 'png', width: 1024, height: 1024 });
    const [first, second] = thumbnailLayout(1024, 1024, 2);
    expect(near(await colourAt(image.bytes, first!, 0.5, 0.5), RED)).toBe(true);
    expect(near(await colourAt(image.bytes, second!, 0.5, 0.5), BLUE)).toBe(true);
    expect(host.callsTo('GET', /^\/blue\.png$/).length).toBeGreaterThan(0);
  });

  it('marks an image it cannot have (a link answering 404, bytes that do not decode) and still renders the rest', async () => {
    const preview = new PreviewProvider({ imageGuard: { allowPrivate: true } });
    const undecodable = `data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`;
    const image = await preview.generate(req([`${host.url}/missing.png`, undecodable, await redDataUri()]));
    const slots = thumbnailLayout(image.width, image.height, 3);
    for (const slot of slots.slice(0, 2)) expect(near(await colourAt(image.bytes, slot, 0.5, 0.1), MISSING_TILE_COLOUR)).toBe(true);
    expect(near(await colourAt(image.bytes, slots[2]!, 0.5, 0.5), RED)).toBe(true);
    expect(host.callsTo('GET', /^\/missing\.png$/)).toHaveLength(1);
  });

  it('fetches links through the guard it is given: by default a loopback link is refused, unfetched, and marked', async () => {
    const before = host.callsTo('GET', /^\/blue\.png$/).length;
    const image = await new PreviewProvider().generate(req([`${host.url}/blue.png`]));
    const [slot] = thumbnailLayout(image.width, image.height, 1);
    expect(near(await colourAt(image.bytes, slot!, 0.5, 0.1), MISSING_TILE_COLOUR)).toBe(true);
    expect(host.callsTo('GET', /^\/blue\.png$/).length).toBe(before);
  });

  it('lays the slots out left to right inside the image, at most a quarter of its height', () => {
    const slots = thumbnailLayout(1360, 768, 10);
    expect(slots).toHaveLength(10);
    for (const [i, slot] of slots.entries()) {
      expect(slot.size).toBeLessThanOrEqual(768 / 4);
      expect(slot.left + slot.size).toBeLessThanOrEqual(1360);
      expect(slot.top + slot.size).toBeLessThanOrEqual(768);
      if (i > 0) expect(slot.left).toBeGreaterThan(slots[i - 1]!.left + slots[i - 1]!.size);
    }
  });
});
