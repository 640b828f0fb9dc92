import { lookup } from 'node:dns/promises';
import { isIP, BlockList } from 'node:net';
import { ImageInvalid } from '../errors.js';

/**
 * Refuses links that point into private networks before the bot fetches them (an image prompt link is chosen by
 * any server member, so fetching it blindly would let them probe the bot's own network).
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  // v4-mapped addresses (::ffff:a.b.c.d) are checked as IPv4 in isPrivateAddress: a ::ffff:0:0/96 rule here would
  // make BlockList match every IPv4 address.
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6 && address.toLowerCase().startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIP(v4) === 4) return blocked.check(v4, 'ipv4');
  }
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlGuardOptions {
  /** Allow loopback/private targets (tests and operators whose image hosts live on a private network). */
  allowPrivate?: boolean;
}

/** Throws ImageInvalid unless `raw` is an http(s) URL whose host resolves only to public addresses. */
export async function assertFetchableUrl(raw: string, options: UrlGuardOptions = {}): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ImageInvalid('the link is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ImageInvalid('only http and https links are accepted');
  if (url.username || url.password) throw new ImageInvalid('links with credentials are not accepted');
  if (options.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw new ImageInvalid('the link’s host could not be resolved');
  if (addresses.some(isPrivateAddress)) throw new ImageInvalid('links to private or local network addresses are not accepted');
  return url;
}
