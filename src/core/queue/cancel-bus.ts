import type { RedisClient } from '../redis-connection.js';
import { SPREAD, spreadName } from '../key-space.js';

/**
 * Cancels reach whichever worker holds the job: BullMQ's `worker.cancelJob` only works in the process that runs
 * it, so a cancel is published on a Redis channel every worker listens to, and also left as a flag that a worker
 * checks when the job runs again (a cancel that found the job locked by a worker that was then killed).
 */
export class CancelBus {
  readonly channel: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = '{fluxbot}',
  ) {
    this.channel = `${prefix}:cancel`;
  }

  /** Tagged by the job (`fluxbot:c:{j…}`): spread over a cluster's masters. A flag lives an hour. */
  private flagKey(jobId: string): string {
    return `${spreadName(this.prefix)}:${SPREAD.canceled}:{${jobId}}`;
  }

  async request(jobId: string): Promise<void> {
    await this.redis.set(this.flagKey(jobId), '1', 'EX', 3600);
    await this.redis.publish(this.channel, jobId);
  }

  async isRequested(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.flagKey(jobId))) === 1;
  }

  /** Listens on a dedicated connection (a subscribed ioredis connection can do nothing else). Returns a stop function. */
  async listen(subscriber: RedisClient, onCancel: (jobId: string) => void): Promise<() => Promise<void>> {
    const handler = (channel: string, message: string) => {
      if (channel === this.channel) onCancel(message);
    };
    subscriber.on('message', handler);
    await subscriber.subscribe(this.channel);
    return async () => {
      subscriber.off('message', handler);
      await subscriber.unsubscribe(this.channel).catch(() => undefined);
    };
  }
}
