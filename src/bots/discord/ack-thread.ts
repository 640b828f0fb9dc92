import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/**
 * How one interaction callback went. `code` is Discord's JSON error code (40060: already acknowledged). `unavailable`:
 * the thread is gone, nothing was sent; `lost`: the thread died with this ack in flight, it may or may not have landed.
 * Either way the caller acks through discord.js instead.
 */
export type AckOutcome = { ok: true } | { ok: false; status: number; code?: number; message: string } | { ok: 'unavailable' | 'lost' };

export interface AckThreadOptions {
  /** Discord's API base as discord.js's REST takes it (`DISCORD_API_URL`, e.g. `https://discord.com/api`). */
  apiUrl: string;
  /** API version, as discord.js's REST uses (`rest.options.version`). */
  version: string;
  /** The User-Agent Discord requires (`DiscordBot (url, version)`): discord.js's own. */
  userAgent: string;
  logger: Logger;
  /** Kept-alive connections the thread may open to Discord. Default 128. */
  connections?: number;
  /** Time one callback may take, retries included (Discord allows 3 s from the interaction). Default 2500 ms. */
  deadlineMs?: number;
}

/**
 * The thread's code, plain CommonJS evaluated by `new Worker(…, { eval: true })`: a worker thread does not inherit
 * the loader hooks that run the TypeScript sources in development and tests, and the built files live elsewhere, so
 * a file path would differ between the two. undici is handed over as a resolved path.
 *
 * It POSTs `type 5` (deferred channel message) callbacks like discord.js's `deferReply`: no bot token (the
 * interaction token in the path authorizes), a 429 waits its `retry_after` while the deadline allows, a 5xx or a
 * network error is retried (up to 3 tries), and a retry answered "already acknowledged" means the first try landed.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require(workerData.undiciPath);
const agent = new Agent({ connections: workerData.connections, keepAliveTimeout: 30000 });
const base = workerData.apiUrl.replace(/\\/+$/, '') + '/v' + workerData.version + '/interactions/';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function callback(id, token, flags) {
  const started = Date.now();
  const body = JSON.stringify({ type: 5, data: { flags } });
  const url = base + encodeURIComponent(id) + '/' + encodeURIComponent(token) + '/callback';
  for (let attempt = 1; ; attempt++) {
    const left = workerData.deadlineMs - (Date.now() - started);
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        body,
        headers: { 'content-type': 'application/json', 'user-agent': workerData.userAgent },
        headersTimeout: Math.max(1, left),
        bodyTimeout: Math.max(1, left),
      });
      const text = await res.body.text();
      if (res.statusCode < 300) return { ok: true };
      let error = {};
      try { error = JSON.parse(text) || {}; } catch { error = {}; }
      const code = typeof error.code === 'number' ? error.code : undefined;
      if (code === 40060 && attempt > 1) return { ok: true };
      const remaining = workerData.deadlineMs - (Date.now() - started);
      if (res.statusCode === 429) {
        const wait = Number(error.retry_after ?? res.headers['retry-after'] ?? 1) * 1000;
        if (Number.isFinite(wait) && wait < remaining - 50) { await sleep(wait); continue; }
      } else if (res.statusCode >= 500 && attempt < 3 && remaining > 100) {
        continue;
      }
      return { ok: false, status: res.statusCode, code, message: typeof error.message === 'string' ? error.message : 'HTTP ' + res.statusCode };
    } catch (err) {
      if (attempt < 3 && workerData.deadlineMs - (Date.now() - started) > 100) continue;
      return { ok: false, status: 0, message: String((err && err.message) || err) };
    }
  }
}

// Outcomes go back in one message per event-loop turn: in a burst many answers arrive together.
let outbox = [];
function answer(n, outcome) {
  if (outbox.length === 0) setImmediate(() => { const batch = outbox; outbox = []; parentPort.postMessage(batch); });
  outbox.push({ n, outcome });
}

parentPort.on('message', (m) => {
  if (m === 'close') return void agent.close().finally(() => parentPort.close());
  for (const ack of m) {
    callback(ack.id, ack.token, ack.flags).then(
      (outcome) => answer(ack.n, outcome),
      (err) => answer(ack.n, { ok: false, status: 0, message: String(err) }),
    );
  }
});
`;

/**
 * Sends interaction acks (the deferred reply) from a worker thread with its own connection pool. Each ack then costs
 * the main thread a message to the thread and one back, instead of discord.js's REST queue and the HTTP request
 * (~0.1 ms instead of ~0.4 ms on a small machine): in a burst the main thread is busy with the gateway and the
 * interactions themselves, and the acks no longer queue behind that (bench/discord-ack.ts).
 *
 * When the thread is not available (it failed to start, or died) `defer` says so, and the caller acks the usual way,
 * through discord.js.
 */
export class AckThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (outcome: AckOutcome) => void>();
  private next = 0;
  private outbox: Array<{ n: number; id: string; token: string; flags: number }> = [];
  private alive = true;
  private closing = false;

  constructor(private readonly options: AckThreadOptions) {
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        apiUrl: options.apiUrl,
        version: options.version,
        connections: options.connections ?? 128,
        deadlineMs: options.deadlineMs ?? 2500,
        undiciPath: createRequire(import.meta.url).resolve('undici'),
        userAgent: options.userAgent,
      },
    });
    this.worker.on('message', (batch: Array<{ n: number; outcome: AckOutcome }>) => {
      for (const { n, outcome } of batch) {
        this.pending.get(n)?.(outcome);
        this.pending.delete(n);
      }
    });
    this.worker.on('error', (err) => {
      options.logger.error({ err }, 'ack thread failed; acks go through discord.js');
      this.stop();
    });
    this.worker.on('exit', (code) => {
      if (this.alive && !this.closing) options.logger.error({ code }, 'ack thread exited; acks go through discord.js');
      this.stop();
    });
  }

  /** Acks one interaction with a deferred reply (`flags`: e.g. ephemeral). */
  defer(interactionId: string, token: string, flags: number): Promise<AckOutcome> {
    if (!this.alive) return Promise.resolve({ ok: 'unavailable' });
    const n = this.next++;
    return new Promise((resolve) => {
      this.pending.set(n, resolve);
      // Sent in one message per event-loop turn: a burst's interactions arrive several per turn, and each message
      // costs both threads more than the ack's own bookkeeping.
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ n, id: interactionId, token, flags });
    });
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (this.alive) this.worker.postMessage(batch);
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    this.closing = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  /** Not alive any more: whatever is waiting is told to ack the usual way. */
  private stop(): void {
    this.alive = false;
    for (const resolve of this.pending.values()) resolve({ ok: 'lost' });
    this.pending.clear();
  }
}
