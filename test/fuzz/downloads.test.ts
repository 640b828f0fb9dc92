import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDataUri, downloadImage } from '../../src/core/images/download.js';
import { FakeServer, makeImage } from '../fakes/fake-server.js';
import { fuzzSeed, PRIVATE_LINKS, type Prng } from './hostile.js';

/**
 * Hostile bodies behind image links (the bot downloads image prompts and provider outputs): non-images, images that
 * lie about their type, truncated and oversized bodies. Each must end in an ImageInvalid that says why, never a
 * crash or a hang; and a guarded download to any spelling of a private address must not reach the server at all.
 */

const MAX = 64 * 1024;
let png: Buffer;
let server: FakeServer;

/** Body and headers for one hostile answer, chosen by the path (`/case/<n>`). */
function hostileBody(rng: Prng): { type: string | undefined; body: Buffer; length?: number } {
  const noise = () => Buffer.from(Array.from({ length: rng.int(0, 2048) }, () => rng.int(0, 255)));
  return rng.pick<() => { type: string | undefined; body: Buffer; length?: number }>([
    () => ({ type: 'text/html', body: Buffer.from('<html><script>alert(1)</script></html>') }),
    () => ({ type: 'application/json', body: Buffer.from('{"error":"nope"}') }),
    () => ({ type: 'image/png', body: noise() }),
    // Cut inside the signature or the IHDR chunk. (Cut later, a file still has a readable header: inspection reads
    // headers, not pixels, by design, and such a file fails later when re-encoded or at the provider.)
    () => ({ type: 'image/png', body: png.subarray(0, rng.int(0, 32)) }),
    () => ({ type: 'image/svg+xml', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') }),
    () => ({ type: undefined, body: noise() }),
    () => ({ type: 'application/octet-stream', body: Buffer.concat([Buffer.from('GIF89a'), noise()]) }),
    () => ({ type: 'image/png', body: Buffer.alloc(MAX + rng.int(1, 4096), 1) }), // streamed past the limit
    () => ({ type: 'image/png', body: Buffer.alloc(16), length: MAX * 4 }), // declares more than the limit
  ])();
}

const answers = new Map<string, ReturnType<typeof hostileBody>>();

beforeAll(async () => {
  png = await makeImage(64, 64, 'png');
  server = await new FakeServer((call, res) => {
    const answer = answers.get(call.path);
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string | number> = {};
    if (answer.type) headers['content-type'] = answer.type;
    if (answer.length !== undefined) {
      headers['content-length'] = answer.length;
      res.writeHead(200, headers);
      res.end(answer.body.subarray(0, 0)); // the lie: the client must refuse on the header alone
      res.destroy();
      return;
    }
    res.writeHead(200, headers).end(answer.body);
  }).listen();
});

afterAll(async () => {
  await server.close();
});

describe('downloading hostile bodies', () => {
  it('refuses every non-image, lying, truncated or oversized body with ImageInvalid (300 downloads)', async () => {
    const rng = fuzzSeed('downloads');
    for (let i = 0; i < 300; i++) {
      const answer = hostileBody(rng);
      answers.set(`/case/${i}`, answer);
      const err = await downloadImage(`${server.url}/case/${i}`, { maxBytes: MAX, timeoutMs: 10_000, guard: { allowPrivate: true } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `case ${i}: ${answer.type} ${answer.body.length} bytes`).toMatchObject({ code: 'image_invalid' });
      expect((err as Error).message).toMatch(/^image invalid: /);
      expect((err as Error).message.length).toBeLessThan(300);
    }
    // The control: the same server hands out a real image, which downloads.
    answers.set('/good.png', { type: 'image/png', body: png });
    await expect(downloadImage(`${server.url}/good.png`, { maxBytes: MAX, guard: { allowPrivate: true } })).resolves.toMatchObject({ format: 'png', width: 64 });
  });

  it('refuses hostile data: URIs (wrong type, broken base64, oversized) with ImageInvalid', () => {
    const rng = fuzzSeed('data uris');
    for (let i = 0; i < 500; i++) {
      const uri = rng.pick([
        'data:text/html,<b>x</b>',
        'data:,hello',
        `data:image/png;base64,${'A'.repeat(rng.int(0, 100))}`,
        `data:image/png;base64,${Buffer.alloc(MAX + 100).toString('base64')}`,
        'data:image/png',
        'data:;base64,@@@@',
        `data:application/x-msdownload;base64,TVqQ`,
      ]);
      try {
        const bytes = decodeDataUri(uri, MAX);
        // Decoding may yield bytes (a data: URI of the right type); they are then judged as an image elsewhere.
        expect(bytes.length).toBeLessThanOrEqual(MAX);
      } catch (err) {
        expect(err).toMatchObject({ code: 'image_invalid' });
      }
    }
  });

  it('never connects to a private address, however it is spelled, when the download is guarded', async () => {
    const before = server.calls.length;
    const port = server.port;
    const literal = PRIVATE_LINKS.filter((l) => !/localhost/i.test(l)).map((l) => {
      const u = new URL(l);
      u.port = String(port);
      return u.toString();
    });
    for (const link of literal) {
      await expect(downloadImage(link, { guard: {}, timeoutMs: 5_000 }), link).rejects.toMatchObject({ code: 'image_invalid' });
    }
    expect(server.calls.length).toBe(before);
  });
});
