import { PLATFORMS } from '../ports.js';
import type { RedisClient } from '../redis-connection.js';
import { SPREAD, SpreadKeys } from '../key-space.js';
import { z } from 'zod';
import { FluxRequestSchema, type FluxRequest } from '../request.js';
import { DeliveryTargetSchema, RequesterSchema } from '../queue/job-data.js';
import type { DeliveryTarget, Platform, Requester } from '../ports.js';

/** What a reroll needs about a delivered image, kept under the platform message id it was posted as. */
export const JobRecordSchema = z.object({
  jobId: z.string(),
  request: FluxRequestSchema,
  requester: RequesterSchema,
  target: DeliveryTargetSchema,
  platform: z.enum(PLATFORMS),
  messageId: z.string(),
  channelId: z.string(),
  threadId: z.string().optional(),
  provider: z.string(),
  seed: z.number(),
  createdAt: z.number(),
  rerollOf: z.string().optional(),
  /** Where the person got it when the target refused it (see DeliveredMessage.via); absent: in the target. */
  via: z.enum(['private', 'kept']).optional(),
  /** The image's format, so a kept image can be handed out again with the right name and type. */
  format: z.enum(['png', 'jpg', 'webp']).optional(),
  /** What the image cost, micro-dollars (settled; see GenerationJobData.stored.costMicros). */
  costMicros: z.number().optional(),
  /** The input images' sizes `[width, height]` (null: unknown): a reroll's estimate needs no download. */
  inputSizes: z.array(z.tuple([z.number(), z.number()]).nullable()).optional(),
  /** A gallery: how many images the message carries (fewer than `request.count` when some could not be made). */
  images: z.number().int().min(1).optional(),
});
export type JobRecord = z.infer<typeof JobRecordSchema> & {
  request: FluxRequest;
  requester: Requester;
  target: DeliveryTarget;
};

export interface JobRecordStoreOptions {
  redis: RedisClient;
  /** Key prefix with the cluster hash tag, e.g. `{fluxbot}`. */
  prefix?: string;
  /** How long records (and so rerolls) last. Default 30 days. */
  retentionDays?: number;
}

/**
 * Job records in Redis, found by platform + message id, so a 🔄 on a message works after restarts and for messages
 * the platform client never cached.
 *
 * Each record is a key of its own, tagged by its message (`fluxbot:r:{discord:123…}`): 30 days of them are most of
 * what the bot stores, and on a Redis Cluster they spread over every master (see key-space.ts). Records written
 * before that layout (`{fluxbot}:record:…`) are still read until they expire (one retention period).
 */
export class JobRecordStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly keys: SpreadKeys;
  private readonly ttlSeconds: number;

  constructor(options: JobRecordStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? '{fluxbot}';
    this.keys = new SpreadKeys(this.prefix);
    this.ttlSeconds = Math.round((options.retentionDays ?? 30) * 86_400);
  }

  /** Where the record of the image posted as this message lives. */
  key(platform: Platform, messageId: string): string {
    return this.keys.key(SPREAD.record, `${platform}:${messageId}`);
  }

  /** The key of a record written before the spread layout (read until it expires; remove after one retention). */
  private legacyKey(platform: Platform, messageId: string): string {
    return `${this.prefix}:record:${platform}:${messageId}`;
  }

  /** Key, value and lifetime of a record, for callers that write it together with other state in one round trip. */
  entry(record: JobRecord): { key: string; value: string; ttlSeconds: number } {
    return { key: this.key(record.platform, record.messageId), value: packRecord(record), ttlSeconds: this.ttlSeconds };
  }

  /** The record of the image posted as this message, or undefined (not ours, expired, or not an image). */
  async find(platform: Platform, messageId: string): Promise<JobRecord | undefined> {
    const raw = (await this.redis.get(this.key(platform, messageId))) ?? (await this.redis.get(this.legacyKey(platform, messageId)));
    if (raw === null) return undefined;
    const parsed = JobRecordSchema.safeParse(unpackRecord(JSON.parse(raw)));
    return parsed.success ? (parsed.data as JobRecord) : undefined;
  }

  /** Drops the record of a deleted image (in either layout: two keys in two slots, so two commands). */
  async remove(platform: Platform, messageId: string): Promise<void> {
    await Promise.all([this.redis.del(this.key(platform, messageId)), this.redis.del(this.legacyKey(platform, messageId))]);
  }
}

/**
 * A record as stored: without what it repeats (the requester's and target's platform, the target's channel when the
 * image was posted there, the seed when it is the request's), put back by unpackRecord. A retained record's bytes are
 * the bot's main memory cost (bench/footprint.ts); these repeats were about a sixth of a text-only one.
 */
export function packRecord(record: JobRecord): string {
  const { requester, target, seed, ...rest } = record;
  const { platform: requesterPlatform, ...who } = requester;
  const { platform: targetPlatform, channelId: targetChannel, ...where } = target;
  return JSON.stringify({
    ...rest,
    requester: requesterPlatform === record.platform ? who : requester,
    target: { ...(targetPlatform === record.platform ? {} : { platform: targetPlatform }), ...(targetChannel === record.channelId ? {} : { channelId: targetChannel }), ...where },
    ...(seed === record.request.seed ? {} : { seed }),
  });
}

/** The stored form back as a record (a record stored whole, by an older version, passes unchanged). */
export function unpackRecord(stored: unknown): unknown {
  if (!isObject(stored)) return stored;
  const record = { ...stored };
  if (isObject(record.requester) && record.requester.platform === undefined) record.requester = { ...record.requester, platform: record.platform };
  if (isObject(record.target)) record.target = { platform: record.platform, channelId: record.channelId, ...record.target };
  if (record.seed === undefined && isObject(record.request)) record.seed = record.request.seed;
  return record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
