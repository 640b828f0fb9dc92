import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { AckOutcome, AckRequest, AckThreadData, AckType } from './ack-thread-protocol.js';

export type { AckOutcome } from './ack-thread-protocol.js';

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
 * Starts ack-thread-worker.ts. Built, it is the .js file next to this one. From the TypeScript sources (tsx in
 * development, vitest in tests) a worker thread does not inherit the parent's loader hooks, so a small bootstrap
 * registers tsx in the thread first, then imports the same file.
 */
function startThread(workerData: AckThreadData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const file = new URL(`./ack-thread-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSources) return new Worker(file, { workerData });
  // require.resolve finds tsx's CommonJS build of its API; the thread needs the ES module one beside it.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

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
  private outbox: AckRequest[] = [];
  private alive = true;
  private closing = false;

  constructor(private readonly options: AckThreadOptions) {
    this.worker = startThread({
      apiUrl: options.apiUrl,
      version: options.version,
      connections: options.connections ?? 128,
      deadlineMs: options.deadlineMs ?? 2500,
      userAgent: options.userAgent,
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

  /** Acks one interaction with a deferred reply (`flags`: e.g. ephemeral), or a click with a deferred update (type 6). */
  defer(interactionId: string, token: string, flags: number, type: AckType = 5): Promise<AckOutcome> {
    if (!this.alive) return Promise.resolve({ ok: 'unavailable' });
    const n = this.next++;
    return new Promise((resolve) => {
      this.pending.set(n, resolve);
      // Sent in one message per event-loop turn: a burst's interactions arrive several per turn, and each message
      // costs both threads more than the ack's own bookkeeping.
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ n, id: interactionId, token, flags, type });
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
