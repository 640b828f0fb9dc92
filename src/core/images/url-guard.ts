import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, BlockList, type LookupFunction } from 'node:net';
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

/** True for an address in a private, loopback, link-local or otherwise non-public range (and for non-addresses). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    // An IPv4 address inside an IPv6 one reaches that IPv4 host: judge it as IPv4. URLs normalise `[::ffff:127.0.0.1]`
    // to the hex form `[::ffff:7f00:1]`, so the embedded address is read from the bits, not from the text.
    const v4 = embeddedIPv4(address);
    if (v4 !== undefined && blocked.check(v4, 'ipv4')) return true;
  }
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The IPv4 address an IPv6 address carries: v4-mapped `::ffff:0:0/96`, v4-compatible `::/96`, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`. Undefined for other addresses.
 */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && (groups[5] === 0xffff || groups[5] === 0)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail and `::` expanded); undefined if malformed. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(fill, 0)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

export interface UrlGuardOptions {
  /** Allow loopback/private targets (tests and operators whose image hosts live on a private network). */
  allowPrivate?: boolean;
  /** Resolves a host name to all its addresses; `dns.lookup` by default (tests point names at local servers). */
  lookup?: (hostname: string) => Promise<LookupAddress[]>;
  /** Private addresses accepted anyway (tests standing in a public host on loopback); compared as written. */
  trustedAddresses?: readonly string[];
}

/** Why a link may not be fetched. */
export type UrlRefusal = 'invalid' | 'protocol' | 'credentials' | 'unresolved' | 'private';

const REFUSALS: Record<UrlRefusal, string> = {
  invalid: 'the link is not a valid URL',
  protocol: 'only http and https links are accepted',
  credentials: 'links with credentials are not accepted',
  unresolved: 'the link’s host could not be resolved',
  private: 'links to private or local network addresses are not accepted',
};

/** Throws ImageInvalid unless `raw` is an http(s) URL whose host resolves only to public addresses. */
export async function assertFetchableUrl(raw: string, options: UrlGuardOptions = {}): Promise<URL> {
  const checked = await checkFetchableUrl(raw, options);
  if (typeof checked === 'string') throw new ImageInvalid(REFUSALS[checked]);
  return checked;
}

/** {@link assertFetchableUrl} for callers that word the refusal themselves (a redirect): the URL, or why not. */
export async function checkFetchableUrl(raw: string, options: UrlGuardOptions = {}): Promise<URL | UrlRefusal> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'invalid';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'protocol';
  if (url.username || url.password) return 'credentials';
  if (options.allowPrivate) return url;
  const resolved = await resolvePublic(url.hostname.replace(/^\[|\]$/g, ''), options);
  return typeof resolved === 'string' ? resolved : url;
}

/** The addresses of `host` (itself when it is an address) when all are public. */
async function resolvePublic(host: string, options: UrlGuardOptions): Promise<LookupAddress[] | 'unresolved' | 'private'> {
  const family = isIP(host);
  const resolve = options.lookup ?? ((name: string) => lookup(name, { all: true }));
  const addresses = family !== 0 ? [{ address: host, family }] : await resolve(host).catch(() => []);
  if (addresses.length === 0) return 'unresolved';
  const trusted = options.trustedAddresses ?? [];
  return addresses.some((a) => isPrivateAddress(a.address) && !trusted.includes(a.address)) ? 'private' : addresses;
}

/**
 * A `net.connect` lookup for guarded downloads: it resolves the name once and hands the connection only addresses it
 * has judged public. Checking a link and then letting the connection resolve the name again would let a host answer
 * a public address to the check and a private one to the connection (DNS rebinding). Errors are ImageInvalid.
 */
export function guardedLookup(options: UrlGuardOptions = {}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolvePublic(hostname, options).then(
      (resolved) => {
        if (typeof resolved === 'string') return callback(new ImageInvalid(REFUSALS[resolved]), '');
        const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const wanted = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved;
        const first = wanted[0];
        if (!first) callback(new ImageInvalid(REFUSALS.unresolved), '');
        else if (lookupOptions.all) callback(null, wanted);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, ''),
    );
  };
}

/**
 * Synchronous first check of a link typed by a person, for the reply before anything is queued: true when its host
 * is written as a private or local address (any form a URL accepts: `2130706433`, `0177.0.0.1`, `[::ffff:7f00:1]`) or
 * is `localhost`. Names that merely resolve to private addresses are caught by {@link assertFetchableUrl} when fetched.
 */
export function isPrivateLink(raw: string): boolean {
  let host: string;
  try {
    host = new URL(raw).hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isPrivateAddress(host);
}
