import type { Logger } from 'pino';
import type { ProgressEvent, ProgressFeed } from '../../core/queue/progress-feed.js';

/**
 * Where a job stands, as a status message shows it. Platform-neutral: each adapter renders it in its own markup.
 * `done` and `failed` are final; the worker shows them too (it always runs, even when this bot process restarted).
 */
export type StatusState =
  | { kind: 'submitting' }
  | { kind: 'queued'; text: string }
  | { kind: 'generating'; queuePosition?: number | undefined }
  | { kind: 'delivering' }
  | { kind: 'retrying'; delayMs: number }
  | { kind: 'done' }
  | { kind: 'failed'; reason?: string | undefined };

export interface StatusTrackerOptions<M> {
  /** Shows `state` on the status message `message` (a chat.update, a message edit). Errors are logged, not thrown. */
  render: (message: M, state: StatusState, jobId: string) => Promise<unknown>;
  /**
   * The reason a failed job gives the person (the job's recorded user message), so the final text matches what the
   * worker wrote. The feed's own failure reason is not shown: it can be a raw internal error.
   */
  failureReason?: (jobId: string) => Promise<string | undefined>;
  logger: Logger;
  /** Jobs tracked at most; the oldest are forgotten first (their messages simply stop being edited). Default 10 000. */
  maxTracked?: number;
}

interface Tracked<M> {
  message: M;
  /** Edits of one message run one after another, so a late edit never overwrites a newer state. */
  chain: Promise<void>;
}

/** Recently finished jobs remembered, for a job that finishes before its submitter starts tracking it. */
const MAX_FINISHED = 1_000;

/**
 * Keeps status messages current from the ProgressFeed (bot role): one edit per event, the feed already throttles to
 * one per second per job. Only jobs submitted by this process are known; after a restart their messages are no
 * longer edited here, and the worker still marks them done or failed. Final states are rendered here as well as by
 * the worker, with the same text, so whichever edit lands last the message ends right.
 */
export class StatusTracker<M> {
  private readonly tracked = new Map<string, Tracked<M>>();
  private readonly finished = new Map<string, StatusState>();
  /** Edits under way, also of jobs no longer tracked (a final edit), so `detach` can wait for them. */
  private readonly pending = new Set<Promise<void>>();
  private readonly maxTracked: number;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: StatusTrackerOptions<M>) {
    this.maxTracked = options.maxTracked ?? 10_000;
  }

  attach(feed: ProgressFeed): void {
    this.unsubscribe?.();
    this.unsubscribe = feed.subscribe((event) => this.onEvent(event));
  }

  /** Stops listening; waits for edits already started. */
  async detach(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.all([...this.pending]);
    this.tracked.clear();
    this.finished.clear();
  }

  /**
   * Starts editing a job's status message and shows `state` on it. A fast job may already be finished: then the
   * final state is shown instead, so a late "queued" never overwrites "done".
   */
  track(jobId: string, message: M, state: StatusState): Promise<void> {
    bounded(this.tracked, this.maxTracked);
    this.tracked.set(jobId, { message, chain: Promise.resolve() });
    const final = this.finished.get(jobId);
    const shown = this.show(jobId, final?.kind === 'failed' ? () => this.failedState(jobId) : (final ?? state));
    if (final) this.tracked.delete(jobId);
    return shown;
  }

  /** Shows `state` (or what it resolves to) on the status message of a tracked job, after earlier edits. */
  show(jobId: string, state: StatusState | (() => Promise<StatusState>)): Promise<void> {
    const entry = this.tracked.get(jobId);
    if (!entry) return Promise.resolve();
    entry.chain = entry.chain
      .then(async () => this.options.render(entry.message, typeof state === 'function' ? await state() : state, jobId))
      .then(
        () => undefined,
        (err: unknown) => this.options.logger.warn({ err, jobId }, 'could not update the status message'),
      );
    const chain = entry.chain;
    this.pending.add(chain);
    void chain.finally(() => this.pending.delete(chain));
    return chain;
  }

  private onEvent(event: ProgressEvent): void {
    if (event.type === 'failed') {
      void this.show(event.jobId, () => this.failedState(event.jobId));
      return this.finish(event.jobId, { kind: 'failed' });
    }
    const state = statusStateOf(event);
    if (!state) return;
    void this.show(event.jobId, state);
    if (event.type === 'delivered') this.finish(event.jobId, state);
  }

  private async failedState(jobId: string): Promise<StatusState> {
    const reason = await this.options.failureReason?.(jobId).catch(() => undefined);
    return { kind: 'failed', reason };
  }

  private finish(jobId: string, state: StatusState): void {
    this.tracked.delete(jobId);
    bounded(this.finished, MAX_FINISHED);
    this.finished.set(jobId, state);
  }
}

/** The status a progress event means (`failed` without its reason: see `failureReason`). */
export function statusStateOf(event: ProgressEvent): StatusState | undefined {
  switch (event.type) {
    case 'started':
      return { kind: 'generating' };
    case 'progress':
      return event.progress.stage === 'delivering' ? { kind: 'delivering' } : { kind: 'generating', queuePosition: event.progress.queuePosition };
    case 'retrying':
      return { kind: 'retrying', delayMs: event.delayMs };
    case 'delivered':
      return { kind: 'done' };
    case 'failed':
      return { kind: 'failed' };
  }
}

/** Makes room for one more entry by dropping the oldest (Maps iterate in insertion order). */
function bounded<V>(map: Map<string, V>, max: number): void {
  while (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}
