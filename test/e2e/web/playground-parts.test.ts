import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fromLoopback, localHostHeader, parseLocalNetworks, sameOrigin } from '../../../src/bots/web/access.js';
import { RateLimiter } from '../../../src/bots/web/rate-limit.js';
import { SESSION_COOKIE, SessionCodec, tokenMatches } from '../../../src/bots/web/session.js';

const req = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

/** The playground's small parts on their own: sessions, flood buckets, the access rules. */
describe('web playground parts', () => {
  it('a session cookie verifies only with the same secret and token', () => {
    const codec = new SessionCodec('secret-a', undefined);
    let cookie = '';
    const res = { setHeader: (_: string, v: string) => (cookie = v.split(';')[0]!) } as never;
    const session = codec.read(req({}));
    expect(session.fresh).toBe(true);
    codec.write(res, { ...session, signedIn: true }, false);
    expect(cookie.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
    expect(codec.read(req({ cookie: `other=1; ${cookie}` }))).toEqual({ id: session.id, signedIn: true, fresh: false });
    for (const other of [new SessionCodec('secret-b', undefined), new SessionCodec('secret-a', 'a-playground-token')]) {
      const read = other.read(req({ cookie }));
      expect(read.fresh).toBe(true);
      expect(read.id).not.toBe(session.id);
    }
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches('a-playground-token', 'a-playground-token')).toBe(true);
    expect(tokenMatches('a-playground-toke', 'a-playground-token')).toBe(false);
    expect(tokenMatches('', 'a-playground-token')).toBe(false);
  });

  it('a bucket allows its burst, then one per refill', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 3, refillMs: 1000 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1000);
    expect(limiter.take('b')).toBe(0); // buckets are per key
    now = 999;
    expect(limiter.take('a')).toBeGreaterThan(0); // about 1 ms left
    now = 1000;
    expect(limiter.take('a')).toBe(0);
    now = 1_000_000;
    expect([0, 1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1000]); // refills to the burst, no further
  });

  it('local means a loopback socket without proxy headers, and a local host name', () => {
    expect(fromLoopback(req({}))).toBe(true);
    expect(fromLoopback(req({}, '::1'))).toBe(true);
    expect(fromLoopback(req({}, '::ffff:127.0.0.1'))).toBe(true);
    expect(fromLoopback(req({}, '192.168.1.20'))).toBe(false);
    expect(fromLoopback(req({}, '172.17.0.1'))).toBe(false);
    expect(fromLoopback(req({ 'x-forwarded-for': '127.0.0.1' }))).toBe(false);
    expect(fromLoopback(req({ 'x-real-ip': '203.0.113.9' }))).toBe(false);
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'localhost', 'app.localhost:8080']) expect(localHostHeader(req({ host })), host).toBe(true);
    for (const host of ['evil.example:8080', 'localhost.evil.example', '127.0.0.1.nip.io', '']) expect(localHostHeader(req({ host })), host).toBe(false);
  });

  it('PLAYGROUND_LOCAL_NETWORKS: the Compose network counts as this machine, still never through a proxy', () => {
    const compose = parseLocalNetworks(['172.28.0.0/16']);
    expect(fromLoopback(req({}, '172.28.0.1'), compose)).toBe(true);
    expect(fromLoopback(req({}, '::ffff:172.28.0.1'), compose)).toBe(true);
    expect(fromLoopback(req({}, '172.29.0.1'), compose)).toBe(false);
    expect(fromLoopback(req({}, '172.28.0.1'))).toBe(false);
    expect(fromLoopback(req({ 'x-forwarded-for': '203.0.113.9' }, '172.28.0.1'), compose)).toBe(false);
    expect(() => parseLocalNetworks(['not-a-network'])).toThrow();
  });

  it('a write must carry the page header, JSON, and its own origin', () => {
    const ok = { 'x-fluxbot-playground': '1', 'content-type': 'application/json', host: 'localhost:8080' };
    expect(sameOrigin(req(ok))).toBe(true);
    expect(sameOrigin(req({ ...ok, origin: 'http://localhost:8080' }))).toBe(true);
    expect(sameOrigin(req({ ...ok, origin: 'http://localhost:9999' }))).toBe(false);
    expect(sameOrigin(req({ ...ok, origin: 'null' }))).toBe(false);
    expect(sameOrigin(req({ ...ok, 'content-type': 'text/plain' }))).toBe(false);
    expect(sameOrigin(req({ 'content-type': 'application/json', host: 'localhost:8080' }))).toBe(false);
  });
});
