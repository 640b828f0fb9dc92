import { QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { DEFAULT_PREFIX, QUEUE_NAME } from './generation-queue.js';
import type { JobProgress } from './generation-steps.js';
import type { GenerationJobResult } from './job-data.js';
import { errorLog } from '../error-log.js';

/** What the adapters show on a status message. */
export type ProgressEvent =
  | { type: 'started'; jobId: string }
  | { type: 'progress'; jobId: string; progress: JobProgress }
  | { type: 'retrying'; jobId: string; delayMs: number }
  | { type: 'delivered'; jobId: string; result: GenerationJobResult }
  | { type: 'failed'; jobId: string; reason: string };

export interface ProgressFeedOptions {
  connection: ConnectionOptions;
  prefix?: string;
  logger: Logger;
  /** Least time between two events of one job (terminal events always pass). Default 1000 ms. */
  minIntervalMs?: number;
}

/**
 * Job progress for any process (the bot role edits status messages from it), built on BullMQ's QueueEvents (a Redis
 * stream, so events survive short disconnects). Events are throttled per job: at most one per interval, the latest
 * kept and sent when the interval ends, so a status message is not edited more than once a second.
 */
export class ProgressFeed {
  private readonly events: QueueEvents;
  private readonly listeners = new Set<(e: ProgressEvent) => void>();
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, { event: ProgressEvent; timer: NodeJS.Timeout }>();
  private readonly minIntervalMs: number;

  constructor(private readonly options: ProgressFeedOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.events = new QueueEvents(QUEUE_NAME, { connection: options.connection, prefix: options.prefix ?? DEFAULT_PREFIX, autorun: true });
    this.events.on('active', ({ jobId }) => this.emit({ type: 'started', jobId }));
    this.events.on('progress', ({ jobId, data }) => {
      if (data && typeof data === 'object' && 'stage' in data) this.emit({ type: 'progress', jobId, progress: data as JobProgress });
    });
    this.events.on('delayed', ({ jobId, delay }) => this.emit({ type: 'retrying', jobId, delayMs: Math.max(0, Number(delay) - Date.now()) }));
    this.events.on('completed', ({ jobId, returnvalue }) =>
      this.emit({ type: 'delivered', jobId, result: (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as GenerationJobResult }),
    );
    this.events.on('failed', ({ jobId, failedReason }) => this.emit({ type: 'failed', jobId, reason: failedReason }));
    this.events.on('error', errorLog(options.logger, 'progress feed error'));
  }

  async ready(): Promise<void> {
    await this.events.waitUntilReady();
  }

  subscribe(listener: (e: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    await this.events.close();
  }

  private emit(event: ProgressEvent): void {
    const terminal = event.type === 'delivered' || event.type === 'failed';
    const pending = this.pending.get(event.jobId);
    if (terminal) {
      if (pending) clearTimeout(pending.timer);
      this.pending.delete(event.jobId);
      this.last.delete(event.jobId);
      return this.send(event);
    }
    const wait = (this.last.get(event.jobId) ?? 0) + this.minIntervalMs - Date.now();
    if (wait <= 0 && !pending) {
      this.last.set(event.jobId, Date.now());
      return this.send(event);
    }
    if (pending) {
      pending.event = event; // coalesce: the latest state wins
      return;
    }
    const timer = setTimeout(() => {
      const p = this.pending.get(event.jobId);
      this.pending.delete(event.jobId);
      if (!p) return;
      this.last.set(event.jobId, Date.now());
      this.send(p.event);
    }, wait);
    this.pending.set(event.jobId, { event, timer });
  }

  private send(event: ProgressEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.options.logger.warn({ err, jobId: event.jobId }, 'progress listener failed');
      }
    }
  }
}
