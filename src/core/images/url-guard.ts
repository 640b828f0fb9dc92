import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { linkRefused, type OutputOf, type UrlRefusal } from './link-refusal.js';

/**
 * Refuses links that point into private networks before the bot fetches them (an image prompt link is chosen by
 * any server member, so fetching it blindly would let them probe the bot's own network).
 *
 * Which addresses are public is ipaddr.js's range table: only its `unicast` range is. Everything else (private,
 * loopback, link-local, carrier-grade NAT, site-local `fec0::/10`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4,
 * Teredo `2001::/32`, documentation and benchmarking ranges, multicast, reserved) is refused: a hand-kept table
 * missed several of these, and tunnel or translation prefixes can lead back into a private network.
 */

/** True for an address outside ipaddr.js's `unicast` range (and for anything that is not an address). */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 0) return true;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return true;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // `::ffff:a.b.c.d` reaches the IPv4 host a.b.c.d (URLs write it as hex, `[::ffff:7f00:1]`): judge that host.
    if (v6.isIPv4MappedAddress()) return isPrivateAddress(v6.toIPv4Address().toString());
    // ipaddr.js reads the deprecated v4-compatible `::a.b.c.d` (::/96) as unicast; some stacks still route it to
    // a.b.c.d, and no public host uses it.
    if (v6.parts.slice(0, 6).every((part) => part === 0)) return true;
  }
  return parsed.range() !== 'unicast';
}

export type { OutputOf, UrlRefusal } from './link-refusal.js';

export interface UrlGuardOptions {
  /** Allow loopback/private targets (operators whose members' image hosts live on a private network; tests). */
  allowPrivate?: boolean;
  /**
   * Set when the link is a provider's output rather than a member's: refusals then name the provider's output and
   * the setting that allows it, and private addresses are accepted when `baseUrl` is itself on a private network.
   */
  outputOf?: OutputOf;
  /** Resolves a host name to all its addresses; `dns.lookup` by default (tests point names at local servers). */
  lookup?: (hostname: string) => Promise<LookupAddress[]>;
  /** Private addresses accepted anyway (tests standing in a public host on loopback); compared as written. */
  trustedAddresses?: readonly string[];
}

/** Throws a LinkRefused (an ImageInvalid) unless `raw` is an http(s) URL whose host resolves only to public addresses. */
export async function assertFetchableUrl(raw: string, options: UrlGuardOptions = {}): Promise<URL> {
  const checked = await checkFetchableUrl(raw, options);
  if (typeof checked === 'string') throw linkRefused(checked, options.outputOf);
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
  const resolved = await resolvePublic(hostOf(url), options);
  return typeof resolved === 'string' ? resolved : url;
}

/**
 * True when the host of `raw` (a provider's configured base) is on a private or local network: a private address,
 * or a name that resolves to at least one. Such a provider runs on the operator's network, so its outputs may live
 * there too, and a member's link must not be handed to it (it would fetch it from inside). False when the URL does not
 * parse or its host does not resolve (the provider's own calls then fail on their own).
 */
export async function isOnPrivateNetwork(raw: string, options: Pick<UrlGuardOptions, 'lookup'> = {}): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (isLocalhostName(url.hostname)) return true;
  return (await resolvePublic(hostOf(url), options)) === 'private';
}

/** `localhost` and its subdomains, loopback by definition (RFC 6761) whatever a resolver says. */
function isLocalhostName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost');
}

/** The host a connection would go to, without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** The addresses of `host` (itself when it is an address) when all are public. */
async function resolvePublic(
  host: string,
  options: Pick<UrlGuardOptions, 'lookup' | 'trustedAddresses'>,
): Promise<LookupAddress[] | 'unresolved' | 'private'> {
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
 * a public address to the check and a private one to the connection (DNS rebinding). Errors are LinkRefused.
 */
export function guardedLookup(options: UrlGuardOptions = {}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolvePublic(hostname, options).then(
      (resolved) => {
        if (typeof resolved === 'string') return callback(linkRefused(resolved, options.outputOf), '');
        const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const wanted = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved;
        const first = wanted[0];
        if (!first) callback(linkRefused('unresolved', options.outputOf), '');
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
 * is `localhost`. Names that merely resolve to private addresses (`169.254.169.254.nip.io`, `instance-data`) pass
 * here; the guarded downloader refuses them when the bot fetches the link, before any provider on the operator's
 * network sees it.
 */
export function isPrivateLink(raw: string): boolean {
  let host: string;
  try {
    host = new URL(raw).hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  } catch {
    return false;
  }
  return isLocalhostName(host) || (isIP(host) !== 0 && isPrivateAddress(host));
}
