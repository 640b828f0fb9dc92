import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { ProgressEvent, ProgressFeed } from '../../core/queue/progress-feed.js';
import { statusText, type StatusState } from './slack-text.js';

interface Tracked {
  channel: string;
  ts: string;
  header: string;
  /** Edits of one message run one after another, so a late edit never overwrites a newer state. */
  chain: Promise<void>;
}

/** Jobs tracked at most; the oldest are forgotten first (their messages simply stop being edited). */
const MAX_TRACKED = 10_000;
/** Latest states of jobs not tracked yet (a fast job may start or finish before its submitter tracks it). */
const MAX_EARLY = 1_000;

/**
 * Keeps status messages current from the ProgressFeed (bot role): one chat.update per event, the feed already
 * throttles to one per second per job. Only jobs submitted by this process are known; after a restart their
 * messages are no longer edited here, and the worker still marks them done or failed.
 */
export class StatusBoard {
  private readonly tracked = new Map<string, Tracked>();
  private readonly early = new Map<string, StatusState>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
  ) {}

  attach(feed: ProgressFeed): void {
    this.unsubscribe = feed.subscribe((event) => this.onEvent(event));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.tracked.clear();
    this.early.clear();
  }

  /**
   * Starts editing a job's status message and shows `state` on it, unless the job already moved on before it was
   * tracked (a fast worker): then its latest state is shown, so a late "queued" never overwrites "done".
   */
  track(jobId: string, message: { channel: string; ts: string; header: string }, state: StatusState): Promise<void> {
    bounded(this.tracked, MAX_TRACKED);
    this.tracked.set(jobId, { ...message, chain: Promise.resolve() });
    const seen = this.early.get(jobId);
    this.early.delete(jobId);
    const shown = this.show(jobId, seen ?? state);
    if (seen?.kind === 'done' || seen?.kind === 'failed') this.tracked.delete(jobId);
    return shown;
  }

  /** Shows `state` on the status message of a tracked job. */
  private show(jobId: string, state: StatusState): Promise<void> {
    const entry = this.tracked.get(jobId);
    if (!entry) return Promise.resolve();
    entry.chain = entry.chain
      .then(() => this.client.chat.update({ channel: entry.channel, ts: entry.ts, text: statusText(entry.header, state) }))
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err, jobId }, 'could not update the status message'),
      );
    return entry.chain;
  }

  private onEvent(event: ProgressEvent): void {
    const state = toState(event);
    if (!state) return;
    if (!this.tracked.has(event.jobId)) {
      bounded(this.early, MAX_EARLY);
      this.early.set(event.jobId, state);
      return;
    }
    void this.show(event.jobId, state);
    if (event.type === 'delivered' || event.type === 'failed') this.tracked.delete(event.jobId);
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

function toState(event: ProgressEvent): StatusState | undefined {
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
