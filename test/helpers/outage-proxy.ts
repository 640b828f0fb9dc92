import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/** One answered request, as the proxy passed it on. */
export interface ProxiedCall {
  method: string;
  path: string;
  status: number;
  /** The upstream's JSON answer (undefined when down or not JSON). */
  body: unknown;
  at: number;
}

/**
 * An HTTP reverse proxy in front of a provider fake that can take the provider "down": while `down`, every request
 * is answered 503 (as a provider's load balancer does in an outage) without reaching the fake. It records each call
 * and the upstream's answer, so tests can read prediction ids the provider handed out.
 */
export class OutageProxy {
  down = false;
  readonly calls: ProxiedCall[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly upstream: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Starts a proxy on 127.0.0.1 and a free port, forwarding to `upstream` (an origin, e.g. `http://127.0.0.1:1234`). */
  static async start(upstream: string): Promise<OutageProxy> {
    const proxy = new OutageProxy(upstream.replace(/\/+$/, ''));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Calls answered 503 by the outage. */
  get refused(): ProxiedCall[] {
    return this.calls.filter((c) => c.status === 503);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? '/';
    if (this.down) {
      this.calls.push({ method: req.method ?? 'GET', path, status: 503, body: undefined, at: Date.now() });
      const text = JSON.stringify({ detail: 'Service Unavailable' });
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k, v]) => v !== undefined && !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    try {
      const method = req.method ?? 'GET';
      const upstream = await fetch(`${this.upstream}${path}`, {
        method,
        headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
      });
      const bytes = Buffer.from(await upstream.arrayBuffer());
      let body: unknown;
      try {
        body = JSON.parse(bytes.toString('utf8'));
      } catch {
        body = undefined;
      }
      this.calls.push({ method, path, status: upstream.status, body, at: Date.now() });
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
      });
      res.writeHead(upstream.status, { ...out, 'content-length': bytes.length });
      res.end(bytes);
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  }
}
