import { request } from 'node:http';
import { loadConfig } from '../../../src/config.js';
import type { FluxbotCore } from '../../../src/core/core.js';
import { createProviders } from '../../../src/core/providers/registry.js';
import type { QuotaDefaults } from '../../../src/core/quotas/types.js';
import { WebAdapter } from '../../../src/bots/web/web-adapter.js';
import { DEFAULT_FLOOD_LIMITS, type FloodLimits } from '../../../src/bots/web/web-routes.js';
import { HttpServer } from '../../../src/http/server.js';
import { dropPrefix, makeCore, silentLogger } from '../../helpers/core.js';

/** Flood limits loose enough that ordinary tests never meet them. */
export const LOOSE_LIMITS: FloodLimits = { ...DEFAULT_FLOOD_LIMITS, calls: { burst: 1000, refillMs: 1 }, actions: { burst: 1000, refillMs: 1 }, actionsPerAddress: { burst: 1000, refillMs: 1 } };

export interface Playground {
  core: FluxbotCore;
  base: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The playground as the app runs it, in process: a core on its own prefix, the web adapter with a progress feed, a
 * worker with the offline preview provider delivering to it, and the HTTP server with the adapter's route mounted.
 */
export async function startPlayground(options: { token?: string; quotas?: Partial<QuotaDefaults>; limits?: FloodLimits; latencyMs?: number; concurrency?: number } = {}): Promise<Playground> {
  const core = await makeCore({ quotas: { dailyPerUser: 5, concurrentPerUser: 2, dailyPerGuild: 1000, concurrentPerGuild: 100, ...options.quotas } });
  const config = loadConfig({
    PLAYGROUND: 'on',
    PREVIEW_LATENCY_MS: String(options.latencyMs ?? 0),
    ...(options.token ? { PLAYGROUND_TOKEN: options.token } : {}),
  });
  const progress = core.createProgressFeed(50);
  const adapter = new WebAdapter({ config, core, logger: silentLogger, progress }, { limits: options.limits ?? LOOSE_LIMITS });
  const worker = core.createWorker({ providers: createProviders(config), deliveries: { web: adapter.delivery }, concurrency: options.concurrency ?? 4 });
  await worker.start();
  const http = new HttpServer({ port: 0, host: '127.0.0.1', logger: silentLogger, checks: [], routes: adapter.routes });
  const port = await http.listen();
  await progress.ready();
  await adapter.start();
  return {
    core,
    port,
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      await http.close();
      await adapter.stop();
      await core.close(5000);
      await dropPrefix(core.prefix);
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** A browser as the API sees it: a cookie jar and the page's headers. */
export class Client {
  cookie: string | undefined;

  constructor(readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.send(path, { headers });
  }

  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return this.send(path, { method: 'POST', body: text, headers: { 'content-type': 'application/json', 'x-fluxbot-playground': '1', ...headers } });
  }

  /** The page's start: a session cookie. */
  async open(): Promise<this> {
    await this.get('/api/session');
    return this;
  }

  generate(fields: Record<string, unknown>, more: Record<string, unknown> = {}): Promise<Answer> {
    return this.post('/api/generate', { requestId: crypto.randomUUID(), fields, ...more });
  }

  /** Follows a job's status stream to its end: the final event and every status line before it. */
  async follow(jobId: string): Promise<{ final: string; data: Record<string, unknown>; statuses: string[] }> {
    const res = await fetch(`${this.base}/api/jobs/${jobId}/events`, { headers: this.cookie ? { cookie: this.cookie } : {} });
    if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
    const text = await res.text(); // the server ends the stream after the final event
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event:'))
      .map((block) => {
        const [head, data] = block.split('\n');
        return { event: head!.slice('event: '.length), data: JSON.parse(data!.slice('data: '.length)) as Record<string, unknown> };
      });
    const last = events.at(-1)!;
    return { final: last.event, data: last.data, statuses: events.filter((e) => e.event === 'status').map((e) => String(e.data.text)) };
  }

  private async send(path: string, init: { method?: string; body?: string; headers: Record<string, string> }): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, { ...init, headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...init.headers } });
    const set = res.headers.getSetCookie()[0];
    if (set) this.cookie = set.split(';')[0];
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a page or an image
    }
    return { status: res.status, headers: res.headers, body, text };
  }
}

/** The session id inside a playground cookie. */
export function sessionId(cookie: string | undefined): string {
  return (cookie ?? '').split('=')[1]?.split('.')[0] ?? '';
}

/** A GET with headers fetch will not send (Host): node:http directly. */
export function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
