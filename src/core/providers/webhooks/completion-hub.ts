import type { RedisClient } from '../../redis-connection.js';
import { GenerationCanceled } from '../../errors.js';
import type { CompletionNotice, CompletionNotifier } from '../provider.js';
import { SPREAD, spreadName } from '../../key-space.js';

export interface CompletionHubOptions {
  /** Commands: recording and reading webhook results. */
  redis: RedisClient;
  /** A dedicated connection for the channel (a subscribed ioredis connection can do nothing else); needed by `start`. */
  subscriber?: RedisClient;
  prefix: string;
  /**
   * How long a provider waits between status checks while a webhook is expected: the fallback for a webhook that
   * never comes. Default 15 s.
   */
  fallbackPollMs?: number;
  /** How long a recorded result waits for its worker. Default 10 minutes (longer than any generation). */
  ttlSec?: number;
}

/** What a webhook left for the worker running its prediction. */
export interface HookRecord {
  /** The job id from the webhook URL (for logs). */
  job?: string | undefined;
  /** The provider's payload when it is trusted as is (signed); absent for a wake-up only. */
  payload?: unknown;
}

interface Waiter {
  resolve: (notice: CompletionNotice | undefined) => void;
}

/**
 * Brings a provider's webhook to the worker waiting on that prediction, whichever process received it: the result is
 * recorded under `<name>:hook:{<provider>:<id>}` (see hookKey) (short TTL, for a worker that starts waiting after it arrived) and
 * published on `{prefix}:hooks`, where every worker process listens. The worker's wait takes the record (GETDEL), so
 * one webhook wakes one wait; a webhook nobody waits for (late, or for a job already finished by polling) expires.
 */
export class CompletionHub {
  readonly channel: string;
  private readonly fallbackPollMs: number;
  private readonly ttlSec: number;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly onMessage = (channel: string, message: string) => {
    if (channel === this.channel) this.deliver(message);
  };
  private listening = false;

  constructor(private readonly options: CompletionHubOptions) {
    this.channel = `${options.prefix}:hooks`;
    this.fallbackPollMs = options.fallbackPollMs ?? 15_000;
    this.ttlSec = options.ttlSec ?? 600;
  }

  /** Subscribes to the channel; until then waits still end early for results recorded before they began. */
  async start(): Promise<void> {
    const subscriber = this.options.subscriber;
    if (!subscriber) throw new Error('CompletionHub.start needs a subscriber connection');
    if (this.listening) return;
    subscriber.on('message', this.onMessage);
    await subscriber.subscribe(this.channel);
    this.listening = true;
  }

  async close(): Promise<void> {
    const subscriber = this.options.subscriber;
    if (!this.listening || !subscriber) return;
    this.listening = false;
    subscriber.off('message', this.onMessage);
    await subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  /** Records a webhook's result and wakes the worker waiting on it (called by the receiver, in any process). */
  async record(provider: string, id: string, record: HookRecord): Promise<void> {
    const key = this.key(provider, id);
    const value = JSON.stringify(record);
    await this.options.redis.multi().set(key, value, 'EX', this.ttlSec).publish(this.channel, JSON.stringify({ key, value })).exec();
  }

  /** The notifier a provider uses for one generation (bound to the provider's name). */
  notifier(provider: string): CompletionNotifier {
    return { waitForCompletion: (id, pollIntervalMs, signal) => this.wait(this.key(provider, id), Math.max(pollIntervalMs, this.fallbackPollMs), signal) };
  }

  private key(provider: string, id: string): string {
    return hookKey(this.options.prefix, provider, id);
  }

  private wait(key: string, ms: number, signal: AbortSignal | undefined): Promise<CompletionNotice | undefined> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new GenerationCanceled());
      const waiters = this.waiters.get(key) ?? new Set<Waiter>();
      this.waiters.set(key, waiters);
      const finish = (notice: CompletionNotice | undefined, err?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        if (err) reject(err);
        else resolve(notice);
      };
      const waiter: Waiter = { resolve: (notice) => finish(notice) };
      const onAbort = () => finish(undefined, new GenerationCanceled());
      const timer = setTimeout(() => finish(undefined), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(waiter);
      // Registered before looking, so a webhook landing between the look and the subscription still wakes us.
      this.options.redis
        .getdel(key)
        .then((value) => {
          if (value !== null) waiter.resolve(toNotice(value));
        })
        .catch(() => undefined); // Redis away: the timer is the fallback, as with a lost webhook.
    });
  }

  private deliver(message: string): void {
    let parsed: { key?: unknown; value?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (typeof parsed.key !== 'string' || typeof parsed.value !== 'string') return;
    const waiters = this.waiters.get(parsed.key);
    if (!waiters || waiters.size === 0) return;
    // Taken here: the record must not wake this prediction's next wait again.
    void this.options.redis.del(parsed.key).catch(() => undefined);
    const notice = toNotice(parsed.value);
    for (const waiter of [...waiters]) waiter.resolve(notice);
  }
}

function toNotice(value: string): CompletionNotice {
  try {
    const record = JSON.parse(value) as HookRecord;
    return record.payload === undefined ? {} : { payload: record.payload };
  } catch {
    return {};
  }
}

/** Where a webhook's result waits for its worker: tagged by the prediction (`fluxbot:hook:{replicate:p1}`), spread. */
export function hookKey(prefix: string, provider: string, id: string): string {
  return `${spreadName(prefix)}:${SPREAD.hook}:{${provider}:${id}}`;
}
