import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether the request comes from this machine. A request carrying forwarding headers came through a proxy, which
 * may well run on this machine for the whole internet: it is not local, whatever its socket says.
 */
export function fromLoopback(req: IncomingMessage, localNetworks: readonly LocalNetwork[] = []): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined || req.headers['x-real-ip'] !== undefined) return false;
  const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (address === '::1' || (isIP(address) === 4 && address.startsWith('127.'))) return true;
  if (localNetworks.length === 0 || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  return localNetworks.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
}

/** A network whose clients count as this machine (PLAYGROUND_LOCAL_NETWORKS), as ipaddr.js parses a CIDR. */
export type LocalNetwork = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses PLAYGROUND_LOCAL_NETWORKS entries (`172.28.0.0/16`): the Docker network through which a port published on
 * the host's 127.0.0.1 reaches the container (the container sees the network's gateway, not loopback).
 */
export function parseLocalNetworks(cidrs: readonly string[]): LocalNetwork[] {
  return cidrs.map((cidr) => ipaddr.parseCIDR(cidr));
}

/**
 * Whether the Host header names this machine. Without a token the page must not be reachable under another name:
 * a site whose name resolves to 127.0.0.1 (DNS rebinding) could otherwise drive it from a local browser.
 */
export function localHostHeader(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] ?? '';
  return LOCAL_NAMES.has(name) || name.endsWith('.localhost');
}

/** The port the person typed (for messages that tell them where to go). */
export function hostPort(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  const port = /:(\d+)$/.exec(host)?.[1];
  return port ?? String(req.socket.localPort ?? '');
}

/**
 * Cross-site request check for state-changing calls: the page sends JSON with a custom header (a cross-site form
 * cannot, and a cross-site script cannot without a CORS preflight that this server never answers), and an Origin,
 * when the browser sends one, must be this very host.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  if (req.headers['x-fluxbot-playground'] !== '1') return false;
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** The client address for flood limits (the socket's: forwarding headers are not trusted). */
export function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
}
