import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/** One request as the fake saw it. */
export interface RecordedCall {
  method: string;
  /** Path with the query string, e.g. `/v1/predictions/abc?x=1`. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** Parsed JSON body, or undefined. */
  body: unknown;
  at: number;
}

export type Handler = (call: RecordedCall, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

/**
 * Base of every local fake: one `node:http` server on 127.0.0.1 and a free port, a record of calls, `waitFor` so
 * tests wait on effects instead of sleeping, and 404 JSON for unknown routes so a missing route fails loudly.
 */
export class FakeServer {
  readonly calls: RecordedCall[] = [];
  readonly server: Server;
  private waiters: Array<() => void> = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly handler: Handler) {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves with the first recorded call that matches (already recorded or future). */
  async waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find(predicate);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`FakeServer.waitFor timed out; calls: ${this.calls.map((c) => `${c.method} ${c.url}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  callsTo(method: string, pathPattern: RegExp): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && pathPattern.test(c.path));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: unknown;
    if ((req.headers['content-type'] ?? '').includes('json') && rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    const call: RecordedCall = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body,
      at: Date.now(),
    };
    this.calls.push(call);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    try {
      await this.handler(call, res, req);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { detail: `fake crashed: ${(err as Error).message}` });
    }
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function notFound(res: ServerResponse, call: RecordedCall): void {
  sendJson(res, 404, { detail: `fake: no route for ${call.method} ${call.path}` });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const imageCache = new Map<string, Promise<Buffer>>();

/**
 * Real image bytes for fakes to serve: a solid-colour image of the given size and format. Memoized (a few dozen
 * entries), so a fake under benchmark load answers at once instead of encoding the same picture again.
 */
export function makeImage(width: number, height: number, format: 'png' | 'jpeg' | 'webp' = 'png', color = '#3366cc'): Promise<Buffer> {
  const key = `${width}x${height}.${format}.${color}`;
  let bytes = imageCache.get(key);
  if (!bytes) {
    const img = sharp({ create: { width, height, channels: 3, background: color } });
    bytes = (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : img.webp()).toBuffer();
    if (imageCache.size >= 64) imageCache.delete(imageCache.keys().next().value!);
    imageCache.set(key, bytes);
  }
  return bytes;
}
