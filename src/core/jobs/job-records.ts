import { PLATFORMS } from '../ports.js';
import type { RedisClient } from '../redis-connection.js';
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
 */
export class JobRecordStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(options: JobRecordStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? '{fluxbot}';
    this.ttlSeconds = Math.round((options.retentionDays ?? 30) * 86_400);
  }

  private key(platform: Platform, messageId: string): string {
    return `${this.prefix}:record:${platform}:${messageId}`;
  }

  /** Key, value and lifetime of a record, for callers that write it together with other state in one round trip. */
  entry(record: JobRecord): { key: string; value: string; ttlSeconds: number } {
    return { key: this.key(record.platform, record.messageId), value: JSON.stringify(record), ttlSeconds: this.ttlSeconds };
  }

  /** The record of the image posted as this message, or undefined (not ours, expired, or not an image). */
  async find(platform: Platform, messageId: string): Promise<JobRecord | undefined> {
    const raw = await this.redis.get(this.key(platform, messageId));
    if (raw === null) return undefined;
    const parsed = JobRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? (parsed.data as JobRecord) : undefined;
  }

  /** Drops the record of a deleted image. */
  async remove(platform: Platform, messageId: string): Promise<void> {
    await this.redis.del(this.key(platform, messageId));
  }
}
