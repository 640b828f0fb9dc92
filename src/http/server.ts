import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.js';
import type { Logger } from 'pino';

/** A readiness check: Redis, each platform connection. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean> | boolean;
}

export interface WebhookHandler {
  /** Handles `POST /webhooks/<provider>`; returns the status and a JSON body. Never throws for bad input. */
  handle(provider: string, req: { headers: IncomingMessage['headers']; rawBody: Buffer; query: URLSearchParams }): Promise<{ status: number; body: unknown }>;
}

/**
 * A mounted part of the site (the web playground, the operator dashboard): handles the request and returns true, or
 * returns false when the path is not its own. Mounted routes are tried in order, after the operator endpoints.
 */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface HttpServerOptions {
  port: number;
  host?: string;
  logger: Logger;
  checks: readonly ReadinessCheck[];
  metrics?: () => Promise<{ contentType: string; body: string }>;
  webhooks?: WebhookHandler;
  /** Largest accepted request body. Default 1 MiB (provider webhooks carry a prediction object). */
  maxBodyBytes?: number;
  /** Mounted parts of the site, tried after the operator endpoints (see HttpRoute). */
  routes?: readonly HttpRoute[];
}

/**
 * The operator endpoint on HTTP_PORT: `/healthz` (the process is alive), `/readyz` (Redis and the platform
 * connections are up), `/metrics` (Prometheus), `/webhooks/<provider>` (provider completion callbacks). Plain
 * node:http: four routes do not need a framework. Every bad request gets a JSON error, never a crash.
 */
export class HttpServer {
  private readonly server: Server;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: HttpServerOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        options.logger.error({ err, url: req.url }, 'http handler failed');
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/healthz') return this.only(req, res, 'GET', () => json(res, 200, { status: 'ok' }));
    if (path === '/readyz') {
      return this.only(req, res, 'GET', async () => {
        const results = await Promise.all(
          this.options.checks.map(async (c) => [c.name, await Promise.resolve(c.check()).catch(() => false)] as const),
        );
        const ready = results.every(([, ok]) => ok);
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
      });
    }
    if (path === '/metrics' && this.options.metrics) {
      return this.only(req, res, 'GET', async () => {
        const { contentType, body } = await this.options.metrics!();
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      });
    }
    const hook = /^\/webhooks\/([a-z]+)$/.exec(path);
    if (hook && this.options.webhooks) {
      return this.only(req, res, 'POST', async () => {
        const rawBody = await readBody(req, this.maxBodyBytes);
        if (rawBody === undefined) return json(res, 413, { error: `body larger than ${this.maxBodyBytes} bytes` });
        const { status, body } = await this.options.webhooks!.handle(hook[1]!, { headers: req.headers, rawBody, query: url.searchParams });
        json(res, status, body);
      });
    }
    for (const mounted of this.options.routes ?? []) if (await mounted(req, res, url)) return;
    req.resume();
    json(res, 404, { error: `no route ${path}` });
  }

  private async only(req: IncomingMessage, res: ServerResponse, method: string, fn: () => unknown): Promise<void> {
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      req.resume();
      res.setHeader('allow', method);
      return json(res, 405, { error: `use ${method}` });
    }
    await fn();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
