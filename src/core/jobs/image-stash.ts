import type { RedisClient } from '../redis-connection.js';

/**
 * Holds a generated image between the generation step and delivery, so a job re-run after a crash delivers the
 * image it already paid for instead of generating again. Entries expire after a day; delivered ones are deleted.
 */
export class ImageStash {
  constructor(
    /** The stash's connection; the worker also batches its other per-job writes on it (see queue/step-writes.ts). */
    readonly redis: RedisClient,
    private readonly prefix = '{fluxbot}',
    readonly ttlSeconds = 86_400,
  ) {}

  /** Where a job's image lives (for callers that store it together with other state in one round trip). */
  key(jobId: string): string {
    return `${this.prefix}:image:${jobId}`;
  }

  async put(jobId: string, bytes: Buffer): Promise<void> {
    await this.redis.set(this.key(jobId), bytes, 'EX', this.ttlSeconds);
  }

  async get(jobId: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.key(jobId));
  }

  /** Drops a job's image (the job ended for good without delivering it). */
  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId));
  }

}
