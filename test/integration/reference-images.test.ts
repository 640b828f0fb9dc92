import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { InvalidInput } from '../../src/core/errors.js';
import { InputImageExpired, InputImageStore, isInputReference } from '../../src/core/images/input-store.js';
import { checkReferenceImages, ReferenceImages } from '../../src/core/images/reference-images.js';
import { guildKey, userKey } from '../../src/core/ports.js';
import { parseFluxRequest, type FluxRequest } from '../../src/core/request.js';
import { FakeServer } from '../fakes/fake-server.js';
import { dropPrefix, makeCore, person, target } from '../helpers/core.js';
import { LinkHosts } from '../helpers/link-hosts.js';

/**
 * Reference images (`images`) are checked before admission against the real Redis: each refusal names the image and
 * why, the order is kept, inline images end up stored (the request carries references), links stay links, and the
 * sizes come back in order.
 */

const image = (width: number, height: number, format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' = 'png') =>
  sharp({ create: { width, height, channels: 3, background: '#3366cc' } })
    .toFormat(format)
    .toBuffer();
const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;

/**
 * A FLUX.2 request with these images, as the parser makes it (private links allowed: the guard judges them). Stored
 * references, which only adapters put in a request, stand in the parser's input as a link.
 */
function request(images: string[], model = 'flux-2-pro'): FluxRequest {
  const input = images.map((i) => (isInputReference(i) ? 'https://example.com/stored.png' : i));
  const parsed = parseFluxRequest({ prompt: 'put the cat on the sofa', model, images: input }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return { ...parsed.request, images };
}

let core: FluxbotCore;
let hosts: LinkHosts;
let page: FakeServer;
let references: ReferenceImages;
let png: Buffer;
const link = (path: string) => `http://images.test:${hosts.port}${path}`;

beforeAll(async () => {
  hosts = await LinkHosts.start(80, 64);
  png = await image(100, 80);
  page = await new FakeServer((call, res) => {
    if (call.path === '/page.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    res.writeHead(404).end();
  }).listen();
});
afterAll(async () => {
  await hosts.close();
  await page.close();
});
beforeEach(async () => {
  core = await makeCore({ memberLinkGuard: { lookup: hosts.dns, trustedAddresses: ['127.0.0.1'] } });
  references = core.references;
  hosts.hits.length = 0;
});
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

/** The InvalidInput a prepare throws (and that it names `images`). */
async function refusedWith(work: Promise<unknown>): Promise<string> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInput);
  expect((err as InvalidInput).field).toBe('images');
  return (err as InvalidInput).message;
}

describe('ReferenceImages.prepare', () => {
  it('keeps the order: an inline image is stored and becomes a reference, a link stays a link, a stored reference is kept; sizes come in order', async () => {
    const jpeg = await image(120, 90, 'jpeg');
    const stored = await core.inputs.put(jpeg, 'image/jpeg', { width: 120, height: 90 });
    const prepared = await references.prepare(request([link('/cat.png'), dataUri(png), stored]));

    const [first, second, third] = prepared.request.images!;
    expect(first).toBe(link('/cat.png'));
    expect(isInputReference(second)).toBe(true);
    expect(third).toBe(stored);
    expect(prepared.sizes).toEqual([
      { width: 80, height: 64 },
      { width: 100, height: 80 },
      { width: 120, height: 90 },
    ]);
    // The job and its record carry references; the worker puts the bytes back right before the provider call.
    const resolved = await core.inputs.resolve(prepared.request);
    expect(resolved.images).toEqual([link('/cat.png'), dataUri(png), dataUri(jpeg, 'image/jpeg')]);
    // The store keeps each image's size.
    expect(await core.inputs.lookup(second!)).toEqual({ size: { width: 100, height: 80 } });
  });

  it('judges the format by the bytes: a JPEG sent as image/png is stored as image/jpeg; a GIF is accepted', async () => {
    const jpeg = await image(64, 64, 'jpeg');
    const gif = await image(70, 66, 'gif');
    const prepared = await references.prepare(request([dataUri(jpeg, 'image/png'), dataUri(gif, 'image/gif')]));
    const resolved = await core.inputs.resolve(prepared.request);
    expect(resolved.images).toEqual([dataUri(jpeg, 'image/jpeg'), dataUri(gif, 'image/gif')]);
    expect(prepared.sizes).toEqual([
      { width: 64, height: 64 },
      { width: 70, height: 66 },
    ]);
  });

  it('refuses what is not an image, naming the image by position (and a link by its last path segment)', async () => {
    const notImage = dataUri(Buffer.from('#!/bin/sh\necho hello\n'));
    expect(await refusedWith(references.prepare(request([dataUri(png), notImage])))).toBe('image 2: it is not an image (a PNG, JPEG, WebP or GIF file)');
    const tiff = dataUri(await image(80, 80, 'tiff'));
    expect(await refusedWith(references.prepare(request([tiff])))).toBe('image 1: it is not a PNG, JPEG, WebP or GIF image (it is tiff)');
    const page_ = `http://images.test:${page.port}/page.html`;
    const guarded = new ReferenceImages({ inputs: core.inputs, guard: { lookup: async () => [{ address: '127.0.0.1', family: 4 }], trustedAddresses: ['127.0.0.1'] } });
    expect(await refusedWith(guarded.prepare(request([page_])))).toBe('image 1 (page.html): the link does not point to an image (it is text/html)');
    expect(await refusedWith(references.prepare(request([link('/missing.png')])))).toBe('image 1 (missing.png): the image could not be downloaded (HTTP 404)');
  });

  it('refuses an image over 10 MB, and sides under 64 or over 8192 pixels', async () => {
    const huge = dataUri(Buffer.alloc(10 * 1024 * 1024 + 1, 7));
    expect(await refusedWith(references.prepare(request([huge])))).toMatch(/^image 1: the image is larger than 10 MB$/);
    const over = await new ReferenceImages({ inputs: core.inputs }).store(Buffer.alloc(10 * 1024 * 1024 + 1), { index: 3, name: 'scan.png' }).catch((e: unknown) => e);
    expect((over as InvalidInput).message).toBe('image 3 (scan.png): it is larger than 10 MB');
    expect(await refusedWith(references.prepare(request([dataUri(await image(32, 32))])))).toBe(
      'image 1: it is 32×32 pixels; each side must be between 64 and 8192 pixels',
    );
    expect(await refusedWith(references.prepare(request([dataUri(png), dataUri(await image(8200, 64))])))).toBe(
      'image 2: it is 8200×64 pixels; each side must be between 64 and 8192 pixels',
    );
  });

  it('refuses an image whose header reads but whose pixels do not decode (truncated)', async () => {
    const big = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#ff0000' } })
      .composite([{ input: await image(100, 100, 'png'), left: 20, top: 20 }])
      .png()
      .toBuffer();
    const truncated = big.subarray(0, Math.floor(big.length * 0.6));
    expect((await sharp(truncated).metadata()).width).toBe(300);
    expect(await refusedWith(references.prepare(request([dataUri(truncated)])))).toBe('image 1: it could not be decoded (the file is damaged or incomplete)');
  });

  it('refuses a link into a private network (and one that redirects there) without fetching it, unless the operator allows it', async () => {
    const strict = new ReferenceImages({ inputs: core.inputs });
    expect(await refusedWith(strict.prepare(request([dataUri(png), `http://127.0.0.1:${hosts.port}/cat.png`])))).toBe(
      'image 2 (cat.png): the link points to a private or local network address (an operator can allow such links with ALLOW_PRIVATE_URLS=true)',
    );
    expect(await refusedWith(references.prepare(request([link('/to-metadata')])))).toBe(
      'image 1 (to-metadata): the link redirects to a private or local network address (an operator can allow such links with ALLOW_PRIVATE_URLS=true)',
    );
    expect(hosts.hits).toEqual([]);
    const allowed = new ReferenceImages({ inputs: core.inputs, guard: { allowPrivate: true } });
    expect((await allowed.prepare(request([`http://127.0.0.1:${hosts.port}/cat.png`]))).sizes).toEqual([{ width: 80, height: 64 }]);
  });

  it('says an expired stored image must be attached again (naming images)', async () => {
    const stored = await core.inputs.put(png, 'image/png', { width: 100, height: 80 });
    await core.redis.del(core.inputs.key(stored.slice('fluxbot-input:'.length)));
    const err = await references.prepare(request([link('/cat.png'), stored])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputImageExpired);
    expect(err).toMatchObject({ field: 'images', image: 2 });
    expect((err as Error).message).toBe('Image 2 (images) has expired (the bot keeps attached images for 24 hours); attach it again.');
  });

  it('names an uploaded image by the name it came with', async () => {
    const bad = dataUri(Buffer.from('not an image'));
    expect(await refusedWith(references.prepare(request([dataUri(png), bad]), { names: ['cat.png', 'notes.txt'] }))).toBe(
      'image 2 (notes.txt): it is not an image (a PNG, JPEG, WebP or GIF file)',
    );
  });
});

describe('ReferenceImages for rerolls and received files', () => {
  it('check() (a reroll) keeps the request, checks stored images are there and does not fetch links again', async () => {
    const stored = await core.inputs.put(png, 'image/png', { width: 100, height: 80 });
    const original = request([link('/cat.png'), stored]);
    const served = () => hosts.images.calls.filter((c) => c.path === '/cat.png').length;
    const before = served();
    const checked = await references.check(original);
    expect(checked.request).toBe(original);
    expect(checked.sizes).toEqual([undefined, { width: 100, height: 80 }]);
    expect(served()).toBe(before);
    await core.redis.del(core.inputs.key(stored.slice('fluxbot-input:'.length)));
    await expect(references.check(original)).rejects.toMatchObject({ field: 'images', image: 2 });
  });

  it('store() checks and stores bytes the bot received itself, with their size', async () => {
    const { reference, size } = await references.store(png, { index: 1, name: 'cat.png' });
    expect(size).toEqual({ width: 100, height: 80 });
    expect((await core.inputs.resolve(request([reference]))).images).toEqual([dataUri(png)]);
    const bad = await references.store(async () => Buffer.from('%PDF-1.4'), { index: 2, name: 'doc.pdf' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ field: 'images', message: 'image 2 (doc.pdf): it is not an image (a PNG, JPEG, WebP or GIF file)' });
  });

  it('an image stored without its size (by an older version) is measured from its bytes', async () => {
    const stored = await core.inputs.put(png, 'image/png');
    expect(await core.inputs.lookup(stored)).toEqual({ size: { width: 100, height: 80 } });
    expect((await references.prepare(request([stored]))).sizes).toEqual([{ width: 100, height: 80 }]);
  });

  it('InputImageStore.check and resolve cover every stored image of `images`, and the image prompt as before', async () => {
    const store = new InputImageStore(core.redis, core.prefix, 7200);
    const a = await store.put(png, 'image/png');
    const gone = await store.put(await image(64, 64), 'image/png');
    await core.redis.del(store.key(gone.slice('fluxbot-input:'.length)));
    const req = { ...request([link('/cat.png')]), images: [link('/cat.png'), a, gone] };
    await expect(store.check(req)).rejects.toMatchObject({ image: 3, message: 'Image 3 (images) has expired (the bot keeps attached images for 2 hours); attach it again.' });
    await expect(store.resolve(req)).rejects.toMatchObject({ image: 3 });
    const prompt = { ...request([link('/cat.png')], 'flux-2-pro'), images: undefined, image_prompt: gone } as FluxRequest;
    await expect(store.check(prompt)).rejects.toMatchObject({
      field: 'image_prompt',
      message: 'The image prompt of this request has expired (images attached from Slack are kept for 2 hours); attach it again.',
    });
  });
});

describe('checkReferenceImages (the CLI: no Redis)', () => {
  it('checks inline images and links the same way, keeping inline images inline', async () => {
    const guard = { lookup: hosts.dns, trustedAddresses: ['127.0.0.1'] };
    const prepared = await checkReferenceImages(request([dataUri(png), link('/cat.png')]), { guard });
    expect(prepared.request.images).toEqual([dataUri(png), link('/cat.png')]);
    expect(prepared.sizes).toEqual([
      { width: 100, height: 80 },
      { width: 80, height: 64 },
    ]);
    expect(await refusedWith(checkReferenceImages(request([dataUri(Buffer.from('x'))]), { names: ['a.txt'] }))).toBe(
      'image 1 (a.txt): it is not an image (a PNG, JPEG, WebP or GIF file)',
    );
  });
});

describe('GenerationService.submit with reference images', () => {
  it('refuses a bad image before admission: nothing charged, nothing queued', async () => {
    const alice = person('alice');
    const bad = request([dataUri(png), dataUri(Buffer.from('nope'))]);
    await expect(core.service.submit(bad, alice, target, { dedupeKey: 'r1' })).rejects.toMatchObject({ field: 'images', message: expect.stringMatching(/^image 2: /) });
    expect(await core.admin.userView(userKey(alice), guildKey(alice))).toMatchObject({ usedToday: 0, inFlight: 0 });
    expect(await core.queue.getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0 });

    const good = await core.service.submit(request([dataUri(png), link('/cat.png')]), alice, target, { dedupeKey: 'r2' });
    expect(good.status).toBe('queued');
    const job = await core.queue.getJob((good as { jobId: string }).jobId);
    const [stored, kept] = job!.data.request.images!;
    // The job carries a short reference, never the inline image's bytes.
    expect(isInputReference(stored)).toBe(true);
    expect(kept).toBe(link('/cat.png'));
    expect(JSON.stringify(job!.data).length).toBeLessThan(4000);
  });
});
