import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { assertFetchableUrl, isOnPrivateNetwork, isPrivateAddress, isPrivateLink } from '../../src/core/images/url-guard.js';

/**
 * The address table is ipaddr.js's: only its `unicast` range is public. These are the ranges a hand-kept table let
 * through (site-local, the local-use NAT64 prefix, Teredo, documentation and benchmarking ranges, ...), and the public
 * addresses (including an IPv4-mapped public one) that must stay fetchable.
 */
describe('isPrivateAddress (ipaddr.js ranges: anything not unicast is refused)', () => {
  it('refuses the ranges a hand-made table missed', () => {
    for (const address of [
      'fec0::1', // site-local (deprecated, still routed on some networks)
      '64:ff9b:1::a00:1', // local-use NAT64 (RFC 8215)
      '64:ff9b::a9fe:a9fe', // well-known NAT64 prefix
      '2001::1', // Teredo
      '2001:db8::1', // IPv6 documentation
      '3fff::1', // IPv6 documentation (RFC 9637)
      '2001:2::1', // IPv6 benchmarking
      '100::1', // discard-only
      '2002:7f00:1::', // 6to4
      '192.0.2.1', // TEST-NET-1
      '198.51.100.7', // TEST-NET-2
      '203.0.113.9', // TEST-NET-3
      '192.88.99.1', // 6to4 relay anycast
      '255.255.255.255',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('keeps refusing private, loopback, link-local and IPv4 in IPv6 forms of them', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::', '::1', 'fd00::1', 'fe80::1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    // v4-mapped and deprecated v4-compatible spellings of loopback and the metadata service.
    for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::7f00:1', '::127.0.0.1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    expect(isPrivateAddress('not an address')).toBe(true);
  });

  it('accepts public unicast addresses, IPv4-mapped public ones included', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:808:808']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });

  it('the sync link check and the fetch check agree on literal addresses in the new ranges', async () => {
    for (const link of ['http://[fec0::1]/a.png', 'http://[2001::1]/a.png', 'http://[64:ff9b:1::1]/a.png', 'http://192.0.2.1/a.png']) {
      expect(isPrivateLink(link), link).toBe(true);
      await expect(assertFetchableUrl(link), link).rejects.toMatchObject({ code: 'image_invalid', reason: 'private', owner: 'member' });
    }
  });
});

describe('isOnPrivateNetwork (is a provider configured on the operator’s network?)', () => {
  const dns = async (name: string): Promise<LookupAddress[]> =>
    ({ 'gpu-box': [{ address: '10.0.0.5', family: 4 }], 'api.example': [{ address: '8.8.8.8', family: 4 }], 'split.example': [{ address: '8.8.8.8', family: 4 }, { address: '192.168.1.2', family: 4 }] })[name] ?? [];

  it('is true for private addresses, localhost names and names with any private address', async () => {
    for (const base of ['http://127.0.0.1:5000', 'http://[::1]:5000/v1', 'http://localhost:5000', 'http://cog.localhost', 'http://gpu-box:5000', 'http://split.example/v1']) {
      expect(await isOnPrivateNetwork(base, { lookup: dns }), base).toBe(true);
    }
  });

  it('is false for public hosts, names that do not resolve and URLs that do not parse', async () => {
    for (const base of ['https://api.example/v1', 'https://8.8.8.8/v1', 'https://nowhere.example/v1', 'not a url']) {
      expect(await isOnPrivateNetwork(base, { lookup: dns }), base).toBe(false);
    }
  });
});
