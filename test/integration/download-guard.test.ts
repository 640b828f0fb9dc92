import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadImage, MAX_GUARDED_REDIRECTS } from '../../src/core/images/download.js';
import { LinkRefused } from '../../src/core/images/link-refusal.js';
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
  // Names that pass the request schema but lead to the cloud metadata service.
  if (hostname === '169.254.169.254.nip.io' || hostname === 'instance-data') return at('169.254.169.254');
  // Provider bases: one hosted on the internet, one a proxy on the operator's network.
  if (hostname === 'api.test') return at('8.8.8.8');
  if (hostname === 'proxy.test') return at('10.0.0.7');
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
      expect(err, path).toMatchObject({
        code: 'image_invalid',
        owner: 'member',
        message: 'image invalid: the image prompt link redirects to a private or local network address (an operator can allow such links with ALLOW_PRIVATE_URLS=true)',
      });
    }
    expect(internalHits).toEqual([]);
  });

  it('refuses a redirect to a private address through global fetch too (redirects followed by hand)', async () => {
    await expect(downloadImage(link('/to-internal'), { guard, fetch: globalThis.fetch, timeoutMs: 5_000 })).rejects.toThrow(
      /the image prompt link redirects to a private or local network address/,
    );
    await expect(downloadImage(link('/to-cdn-name'), { guard, fetch: (url, init) => fetch(url.toString().replace('cdn.test', '127.0.0.1'), init) })).resolves.toMatchObject({
      width: 32,
    });
    expect(internalHits).toEqual([]);
  });

  it('names the other reasons a redirect is refused', async () => {
    await expect(downloadImage(link('/to-unknown'), { guard })).rejects.toThrow(/the image prompt link redirects to a host that could not be resolved/);
    await expect(downloadImage(link('/to-file'), { guard })).rejects.toThrow(/the image prompt link redirects to a link that is not http or https/);
    await expect(downloadImage(link(`/chain/${MAX_GUARDED_REDIRECTS}`), { guard })).rejects.toThrow(
      new RegExp(`the image prompt link redirects more than ${MAX_GUARDED_REDIRECTS} times`),
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
      message: 'image invalid: the image prompt link points to a private or local network address (an operator can allow such links with ALLOW_PRIVATE_URLS=true)',
    });
    expect(internalHits).toEqual([]);
    // One lookup to check the link, one for the connection, both judged; a stable public name connects through the
    // same resolver (the system's knows no `rebind.test`).
    expect(lookups).toEqual(['rebind.test', 'rebind.test']);
    rebindAnswers = ['127.0.0.1'];
    await expect(downloadImage(`http://rebind.test:${cdn.port}/a.png`, { guard })).resolves.toMatchObject({ width: 32 });
  });

  it('refuses a private first link as before', async () => {
    await expect(downloadImage(`http://internal.test:${cdn.port}/a.png`, { guard })).rejects.toThrow(/image prompt link points to a private or local network address/);
    await expect(downloadImage(`http://127.0.0.2:${cdn.port}/a.png`, { guard: {} })).rejects.toThrow(/image prompt link points to a private or local network address/);
    expect(internalHits).toEqual([]);
  });

  it('follows redirects unchecked when private links are allowed (operators, Discord attachments on the fake CDN)', async () => {
    await expect(downloadImage(link('/to-internal'), { guard: { allowPrivate: true } })).resolves.toMatchObject({ width: 32 });
    await expect(downloadImage(link('/to-internal'))).resolves.toMatchObject({ width: 32 });
    expect(internalHits).toEqual(['/latest/meta-data/', '/latest/meta-data/']);
  });
});

/** The rejection of a download, which must fail. */
async function refusal(promise: Promise<unknown>): Promise<LinkRefused> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinkRefused);
  return err as LinkRefused;
}

describe('a member’s link that resolves to a private address', () => {
  it('is refused before any request, saying it was the member’s link and which setting allows it, never the host or port', async () => {
    for (const url of [`http://169.254.169.254.nip.io:${cdn.port}/latest/meta-data/`, `http://instance-data:${cdn.port}/latest/meta-data/`]) {
      const err = await refusal(downloadImage(url, { guard, timeoutMs: 5_000 }));
      expect(err).toMatchObject({ owner: 'member', reason: 'private', code: 'image_invalid' });
      expect(err.userMessage).toBe(
        'The image could not be used: the image prompt link points to a private or local network address (an operator can allow such links with ALLOW_PRIVATE_URLS=true).',
      );
      for (const leak of ['nip.io', 'instance-data', '169.254', String(cdn.port)]) expect(`${err.message} ${err.userMessage}`).not.toContain(leak);
    }
    expect(internalHits).toEqual([]);
  });
});

describe('a provider’s output link', () => {
  const outputOf = (baseUrl: string): UrlGuardOptions => ({ ...guard, outputOf: { provider: 'replicate', baseUrl } });
  const internalImage = () => `http://127.0.0.2:${cdn.port}/a.png`;

  it('must be public when the provider is configured at a public address: the refusal names the provider’s output and its setting', async () => {
    const hosted = outputOf('https://api.test/v1');
    for (const [url, how] of [
      [internalImage(), 'points to'],
      [`http://internal.test:${cdn.port}/a.png`, 'points to'],
      [link('/to-internal'), 'redirects to'],
    ] as const) {
      const err = await refusal(downloadImage(url, { guard: hosted, timeoutMs: 5_000 }));
      expect(err, url).toMatchObject({ owner: 'provider', reason: 'private' });
      expect(err.userMessage, url).toBe(
        `The image could not be used: the replicate provider’s output link ${how} a private or local network address (a provider’s outputs may come from private addresses only when the provider itself is configured at one, with REPLICATE_API_URL).`,
      );
    }
    expect(internalHits).toEqual([]);
    // Its public outputs download as usual.
    await expect(downloadImage(link('/a.png'), { guard: hosted })).resolves.toMatchObject({ width: 32 });
  });

  it('may come from private addresses, redirects included, when the provider itself is configured at one', async () => {
    for (const base of ['http://proxy.test/v1', 'http://localhost:5000', 'http://127.0.0.1:5000']) {
      await expect(downloadImage(internalImage(), { guard: outputOf(base) }), base).resolves.toMatchObject({ width: 32 });
    }
    await expect(downloadImage(link('/to-internal'), { guard: outputOf('http://proxy.test/v1') })).resolves.toMatchObject({ width: 32 });
    expect(internalHits).toEqual(['/a.png', '/a.png', '/a.png', '/latest/meta-data/']);
  });

  it('does not widen what a member may link to: ALLOW_PRIVATE_URLS stays the only way', async () => {
    const err = await refusal(downloadImage(internalImage(), { guard: { ...guard }, timeoutMs: 5_000 }));
    expect(err.owner).toBe('member');
    expect(internalHits).toEqual([]);
  });
});
