import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadImage, MAX_GUARDED_REDIRECTS } from '../../src/core/images/download.js';
import type { UrlGuardOptions } from '../../src/core/images/url-guard.js';
import { FakeServer, makeImage } from '../fakes/fake-server.js';

/**
 * A guarded download (an image prompt link chosen by a member) must not reach the bot's own network through a
 * redirect or a name that resolves differently at connection time. Everything runs on loopback, so the guard is
 * given a fake resolver and told to treat 127.0.0.1 as public: `cdn` (127.0.0.1) stands in for an attacker's public
 * host, `internal` (127.0.0.2, same port) for a private service that must never receive a request.
 */

let png: Buffer;
let cdn: FakeServer;
let internal: Server;
let internalHits: string[] = [];
/** Answers for `rebind.test`, one per lookup (the last repeats). */
let rebindAnswers: string[] = [];
const lookups: string[] = [];

const fakeDns = async (hostname: string): Promise<LookupAddress[]> => {
  lookups.push(hostname);
  const at = (address: string) => [{ address, family: 4 }];
  if (hostname === 'cdn.test') return at('127.0.0.1');
  if (hostname === 'internal.test') return at('127.0.0.2');
  if (hostname === 'rebind.test') return at(rebindAnswers.length > 1 ? rebindAnswers.shift()! : rebindAnswers[0]!);
  return [];
};
const guard: UrlGuardOptions = { lookup: fakeDns, trustedAddresses: ['127.0.0.1'] };

beforeAll(async () => {
  png = await makeImage(32, 32, 'png');
  cdn = await new FakeServer((call, res) => {
    const redirect = (status: number, location: string) => void res.writeHead(status, { location }).end();
    const internalUrl = `http://127.0.0.2:${cdn.port}`;
    // `/chain/<n>` takes n + 1 redirects to reach the image.
    const chain = /^\/chain\/(\d+)$/.exec(call.path);
    if (chain) return redirect(302, Number(chain[1]) > 0 ? `/chain/${Number(chain[1]) - 1}` : '/a.png');
    switch (call.path) {
      case '/a.png':
        return void res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      case '/to-internal':
        return redirect(302, `${internalUrl}/latest/meta-data/`);
      case '/to-internal-name':
        return redirect(307, `http://internal.test:${cdn.port}/admin`);
      case '/to-metadata':
        return redirect(302, 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
      case '/to-ten':
        return redirect(308, 'http://10.0.0.1/a.png');
      case '/to-ipv6-mapped':
        return redirect(301, `http://[::ffff:127.0.0.2]:${cdn.port}/`);
      case '/to-unknown':
        return redirect(302, `http://nowhere.test:${cdn.port}/a.png`);
      case '/to-file':
        return redirect(302, 'file:///etc/passwd');
      case '/to-cdn-name':
        return redirect(301, `http://cdn.test:${cdn.port}/a.png`);
      case '/relative':
        return redirect(303, 'a.png');
      case '/no-location':
        return void res.writeHead(302).end();
      default:
        return void res.writeHead(404).end();
    }
  }).listen();
  // Same port as the cdn, so a link on a rebound name would land here.
  internal = createServer((req, res) => {
    internalHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  });
  await new Promise<void>((resolve) => internal.listen(cdn.port, '127.0.0.2', resolve));
});

afterAll(async () => {
  await cdn.close();
  internal.closeAllConnections();
  await new Promise<void>((resolve) => internal.close(() => resolve()));
});

beforeEach(() => {
  internalHits = [];
  lookups.length = 0;
});

const link = (path: string) => `${cdn.url}${path}`;

describe('guarded downloads and redirects', () => {
  it('refuses a redirect to a private address before requesting it, with a specific error', async () => {
    for (const path of ['/to-internal', '/to-internal-name', '/to-metadata', '/to-ten', '/to-ipv6-mapped']) {
      const err = await downloadImage(link(path), { guard, timeoutMs: 5_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, path).toMatchObject({ code: 'image_invalid', message: 'image invalid: the link redirects to a private or local network address' });
    }
    expect(internalHits).toEqual([]);
  });

  it('refuses a redirect to a private address through global fetch too (redirects followed by hand)', async () => {
    await expect(downloadImage(link('/to-internal'), { guard, fetch: globalThis.fetch, timeoutMs: 5_000 })).rejects.toThrow(
      /the link redirects to a private or local network address/,
    );
    await expect(downloadImage(link('/to-cdn-name'), { guard, fetch: (url, init) => fetch(url.toString().replace('cdn.test', '127.0.0.1'), init) })).resolves.toMatchObject({
      width: 32,
    });
    expect(internalHits).toEqual([]);
  });

  it('names the other reasons a redirect is refused', async () => {
    await expect(downloadImage(link('/to-unknown'), { guard })).rejects.toThrow(/the link redirects to a host that could not be resolved/);
    await expect(downloadImage(link('/to-file'), { guard })).rejects.toThrow(/the link redirects to a link that is not http or https/);
    await expect(downloadImage(link(`/chain/${MAX_GUARDED_REDIRECTS}`), { guard })).rejects.toThrow(
      new RegExp(`the link redirects more than ${MAX_GUARDED_REDIRECTS} times`),
    );
    await expect(downloadImage(link('/no-location'), { guard })).rejects.toThrow(/could not be downloaded \(HTTP 302\)/);
  });

  it('follows public redirects (relative, to another public name, up to the limit)', async () => {
    await expect(downloadImage(link('/relative'), { guard })).resolves.toMatchObject({ width: 32 });
    await expect(downloadImage(link('/to-cdn-name'), { guard })).resolves.toMatchObject({ width: 32 });
    await expect(downloadImage(link(`/chain/${MAX_GUARDED_REDIRECTS - 1}`), { guard })).resolves.toMatchObject({ width: 32 });
    expect(lookups).toContain('cdn.test');
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    const before = cdn.calls.length;
    await downloadImage(link('/to-cdn-name'), { guard, headers: { authorization: 'Bearer secret', 'x-trace': '1' } });
    const [first, second] = cdn.calls.slice(before);
    expect(first?.headers.authorization).toBe('Bearer secret');
    expect(second?.headers.authorization).toBeUndefined();
    expect(second?.headers['x-trace']).toBe('1');
  });

  it('connects only to the address it checked: a name that resolves privately at connection time is refused (DNS rebinding)', async () => {
    rebindAnswers = ['127.0.0.1', '127.0.0.2'];
    await expect(downloadImage(`http://rebind.test:${cdn.port}/a.png`, { guard, timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'image_invalid',
      message: 'image invalid: links to private or local network addresses are not accepted',
    });
    expect(internalHits).toEqual([]);
    // One lookup to check the link, one for the connection, both judged; a stable public name connects through the
    // same resolver (the system's knows no `rebind.test`).
    expect(lookups).toEqual(['rebind.test', 'rebind.test']);
    rebindAnswers = ['127.0.0.1'];
    await expect(downloadImage(`http://rebind.test:${cdn.port}/a.png`, { guard })).resolves.toMatchObject({ width: 32 });
  });

  it('refuses a private first link as before', async () => {
    await expect(downloadImage(`http://internal.test:${cdn.port}/a.png`, { guard })).rejects.toThrow(/private or local network addresses are not accepted/);
    await expect(downloadImage(`http://127.0.0.2:${cdn.port}/a.png`, { guard: {} })).rejects.toThrow(/private or local network addresses are not accepted/);
    expect(internalHits).toEqual([]);
  });

  it('follows redirects unchecked when private links are allowed (operators, Discord attachments on the fake CDN)', async () => {
    await expect(downloadImage(link('/to-internal'), { guard: { allowPrivate: true } })).resolves.toMatchObject({ width: 32 });
    await expect(downloadImage(link('/to-internal'))).resolves.toMatchObject({ width: 32 });
    expect(internalHits).toEqual(['/latest/meta-data/', '/latest/meta-data/']);
  });
});
