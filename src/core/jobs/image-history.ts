import type { RedisClient } from '../redis-connection.js';
import { SPREAD, SpreadKeys } from '../key-space.js';
import { PLATFORMS, userKey, type Platform, type Requester } from '../ports.js';
import type { ImageStash } from './image-stash.js';
import type { JobRecord, JobRecordStore } from './job-records.js';

/** How many of a person's latest images their history remembers. */
export const HISTORY_LENGTH = 25;
/**
 * How long an image that no channel could take is kept for its person to fetch (`/flux-history`). Images live in
 * Redis memory, so this is days, not the 30 days a reroll record lasts.
 */
export const KEPT_IMAGE_TTL_SECONDS = 7 * 86_400;

export interface HistoryEntry {
  record: JobRecord;
  /** A kept image that can still be fetched (its bytes are held until `keptUntil`, epoch ms). */
  kept?: { bytes: Buffer; keptUntil: number };
}

/**
 * A person's latest images and where each went: in the channel, privately (a DM or follow-up), or kept for them
 * because nowhere could take it. The worker writes both the index and the kept image atomically with the delivery
 * checkpoint (queue/step-writes.ts); this class reads them.
 */
export class ImageHistory {
  private readonly keys: SpreadKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly records: JobRecordStore,
    private readonly stash: ImageStash,
    private readonly prefix = '{fluxbot}',
  ) {
    this.keys = new SpreadKeys(prefix);
  }

  /**
   * The sorted set of a person's latest image messages (`<platform>:<message id>`, scored by delivery time), tagged by
   * the person (`fluxbot:h:{discord:g:u}`): spread over a cluster's masters.
   */
  key(user: string): string {
    return this.keys.key(SPREAD.history, user);
  }

  /** The history written before the spread layout: still read until it expires (one retention period). */
  private legacyKey(user: string): string {
    return `${this.prefix}:history:${user}`;
  }

  /** The person's latest images, newest first, with the bytes of any that were kept for them. */
  async list(requester: Requester, limit = 10): Promise<HistoryEntry[]> {
    const members = await this.latest(userKey(requester), Math.max(1, limit));
    const entries: HistoryEntry[] = [];
    for (const member of members) {
      const colon = member.indexOf(':');
      const platform = member.slice(0, colon);
      if (!isPlatform(platform)) continue;
      const record = await this.records.find(platform, member.slice(colon + 1));
      if (!record) continue;
      const entry: HistoryEntry = { record };
      if (record.via === 'kept') {
        const kept = await this.stash.kept(record.jobId);
        if (kept) entry.kept = { bytes: kept.bytes, keptUntil: Date.now() + kept.ttlMs };
      }
      entries.push(entry);
    }
    return entries;
  }

  /** The person's latest `limit` members, newest first, from both layouts (two keys in two slots: two reads). */
  private async latest(user: string, limit: number): Promise<string[]> {
    const [fresh, legacy] = await Promise.all([
      this.redis.zrevrange(this.key(user), 0, limit - 1, 'WITHSCORES'),
      this.redis.zrevrange(this.legacyKey(user), 0, limit - 1, 'WITHSCORES'),
    ]);
    if (legacy.length === 0) return fresh.filter((_, i) => i % 2 === 0);
    const scored = new Map<string, number>();
    for (const list of [legacy, fresh]) for (let i = 0; i < list.length; i += 2) scored.set(list[i]!, Number(list[i + 1]));
    return [...scored].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([member]) => member);
  }

  /** How many kept images the person can still fetch (for `/flux-quota`). */
  async keptCount(requester: Requester): Promise<number> {
    return (await this.list(requester, HISTORY_LENGTH)).filter((e) => e.kept).length;
  }
}

function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}
