/**
 * The ack thread's own code (started by ack-thread.ts, never imported by the main thread). It POSTs `type 5`
 * (deferred channel message) callbacks like discord.js's `deferReply`, and `type 6` (deferred update) like its
 * `deferUpdate`: no bot token (the interaction token in the
 * path authorizes), a 429 waits its `retry_after` while the deadline allows, a 5xx or a network error is retried (up
 * to 3 tries), and a retry answered "already acknowledged" (40060) means the first try landed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';
import type { AckOutcome, AckRequest, AckThreadData, AckType } from './ack-thread-protocol.js';

const data = workerData as AckThreadData;
const port = parentPort;
if (!port) throw new Error('ack-thread-worker.ts runs only as a worker thread (see ack-thread.ts)');

const agent = new Agent({ connections: data.connections, keepAliveTimeout: 30_000 });
const base = `${data.apiUrl.replace(/\/+$/, '')}/v${data.version}/interactions/`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function callback(id: string, token: string, flags: number, type: AckType): Promise<AckOutcome> {
  const started = Date.now();
  const left = () => data.deadlineMs - (Date.now() - started);
  const body = JSON.stringify(type === 5 ? { type, data: { flags } } : { type });
  const url = `${base}${encodeURIComponent(id)}/${encodeURIComponent(token)}/callback`;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        body,
        headers: { 'content-type': 'application/json', 'user-agent': data.userAgent },
        headersTimeout: Math.max(1, left()),
        bodyTimeout: Math.max(1, left()),
      });
      const text = await res.body.text();
      if (res.statusCode < 300) return { ok: true };
      const error = parseError(text);
      const code = typeof error.code === 'number' ? error.code : undefined;
      if (code === 40060 && attempt > 1) return { ok: true };
      if (res.statusCode === 429) {
        const wait = Number(error.retry_after ?? res.headers['retry-after'] ?? 1) * 1000;
        if (Number.isFinite(wait) && wait < left() - 50) {
          await sleep(wait);
          continue;
        }
      } else if (res.statusCode >= 500 && attempt < 3 && left() > 100) {
        continue;
      }
      const message = typeof error.message === 'string' ? error.message : `HTTP ${res.statusCode}`;
      return code === undefined ? { ok: false, status: res.statusCode, message } : { ok: false, status: res.statusCode, code, message };
    } catch (err) {
      if (attempt < 3 && left() > 100) continue;
      return { ok: false, status: 0, message: err instanceof Error ? err.message : String(err) };
    }
  }
}

function parseError(text: string): { code?: unknown; message?: unknown; retry_after?: unknown } {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

// Outcomes go back in one message per event-loop turn: in a burst many answers arrive together.
let outbox: Array<{ n: number; outcome: AckOutcome }> = [];
function answer(n: number, outcome: AckOutcome): void {
  if (outbox.length === 0) {
    setImmediate(() => {
      const batch = outbox;
      outbox = [];
      port!.postMessage(batch);
    });
  }
  outbox.push({ n, outcome });
}

port.on('message', (m: 'close' | AckRequest[]) => {
  if (m === 'close') return void agent.close().finally(() => port.close());
  for (const ack of m) {
    callback(ack.id, ack.token, ack.flags, ack.type).then(
      (outcome) => answer(ack.n, outcome),
      (err: unknown) => answer(ack.n, { ok: false, status: 0, message: String(err) }),
    );
  }
});
