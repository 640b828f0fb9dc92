/** What the main thread and the ack thread (ack-thread.ts, ack-thread-worker.ts) send each other. */

/**
 * How one interaction callback went. `code` is Discord's JSON error code (40060: already acknowledged). `unavailable`:
 * the thread is gone, nothing was sent; `lost`: the thread died with this ack in flight, it may or may not have landed.
 * Either way the caller acks through discord.js instead.
 */
export type AckOutcome = { ok: true } | { ok: false; status: number; code?: number; message: string } | { ok: 'unavailable' | 'lost' };

/** One ack asked of the thread; `n` pairs it with its outcome. */
export interface AckRequest {
  n: number;
  id: string;
  token: string;
  flags: number;
  /** The callback type: 5 a deferred reply (a command, a modal), 6 a deferred update (a button click). */
  type: AckType;
}

export type AckType = 5 | 6;

/** The thread's settings (its workerData). */
export interface AckThreadData {
  apiUrl: string;
  version: string;
  connections: number;
  deadlineMs: number;
  userAgent: string;
}
