import type { RedisClient } from '../redis-connection.js';
import { SPREAD, SpreadKeys } from '../key-space.js';

/**
 * Holds a generated image between the generation step and delivery, so a job re-run after a crash delivers the
 * image it already paid for instead of generating again. Entries expire after a day; delivered ones are deleted.
 *
 * Keys are tagged by the job (`fluxbot:i:{j…}`, a gallery's other images `fluxbot:i:{j…}:1`…): they spread over a
 * cluster's masters, and one job's images share a slot. Images stashed before that layout (`{fluxbot}:image:…`) are
 * still read and deleted: an upgrade in the middle of a job, and images kept for a person (7 days).
 */
export class ImageStash {
  private readonly keys: SpreadKeys;

  constructor(
    /** The stash's connection; the worker also batches its other per-job writes on it (see queue/step-writes.ts). */
    readonly redis: RedisClient,
    private readonly prefix = '{fluxbot}',
    readonly ttlSeconds = 86_400,
  ) {
    this.keys = new SpreadKeys(prefix);
  }

  /**
   * Where an image lives: `stashId` is a job id, or a gallery image's `<job id>.<index>` (see partStashId), kept in
   * its job's slot.
   */
  key(stashId: string): string {
    const dot = stashId.indexOf('.');
    return dot < 0 ? this.keys.key(SPREAD.image, stashId) : this.keys.key(SPREAD.image, stashId.slice(0, dot), stashId.slice(dot + 1));
  }

  /** The key of an image stashed before the spread layout. */
  private legacyKey(stashId: string): string {
    return `${this.prefix}:image:${stashId}`;
  }

  async put(stashId: string, bytes: Buffer): Promise<void> {
    await this.redis.set(this.key(stashId), bytes, 'EX', this.ttlSeconds);
  }

  async get(stashId: string): Promise<Buffer | null> {
    return (await this.redis.getBuffer(this.key(stashId))) ?? this.redis.getBuffer(this.legacyKey(stashId));
  }

  /** A kept image and how long it is still kept (ms), or undefined once it is gone. */
  async kept(stashId: string): Promise<{ bytes: Buffer; ttlMs: number } | undefined> {
    for (const key of [this.key(stashId), this.legacyKey(stashId)]) {
      const [bytes, ttl] = await Promise.all([this.redis.getBuffer(key), this.redis.pttl(key)]);
      if (bytes) return { bytes, ttlMs: Math.max(0, ttl) };
    }
    return undefined;
  }

  /** Drops a job's image (the job ended for good without delivering it). */
  async delete(stashId: string): Promise<void> {
    await Promise.all([this.redis.del(this.key(stashId)), this.redis.del(this.legacyKey(stashId))]);
  }
}
