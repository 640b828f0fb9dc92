import { PLATFORMS } from '../ports.js';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../models.js';
import { DeliveryTargetSchema, RequesterSchema } from '../ports.js';
import { FluxRequestSchema } from '../request.js';

const PlatformSchema = z.enum(PLATFORMS);

export { DeliveryTargetSchema, RequesterSchema };

export const CheckpointSchema = z.object({
  provider: z.enum(PROVIDER_NAMES),
  id: z.string(),
  pollUrl: z.string().optional(),
  modelId: z.string().optional(),
  /** When the prediction was first checkpointed (epoch ms): how long the job keeps following it through faults. */
  at: z.number().optional(),
  /**
   * A gallery made one call per image: the image (0-based) this prediction makes. Set only while the checkpoint stands
   * in `checkpoint` for a failed image's retry (see gallery-steps.ts); absent: the job's one call.
   */
  part: z.number().int().min(0).optional(),
});

/** A generated image stored in Redis (the stash), waiting for delivery: what the delivery and the record need of it. */
export const StoredImageSchema = z.object({
  provider: z.enum(PROVIDER_NAMES),
  predictionId: z.string(),
  seed: z.number(),
  width: z.number(),
  height: z.number(),
  format: z.enum(['png', 'jpg', 'webp']),
  contentType: z.string(),
  nsfw: z.boolean(),
  generationMs: z.number(),
  bytes: z.number(),
  /** What the image cost, micro-dollars: the provider's own figure where it reports one, else the price table's. */
  costMicros: z.number().optional(),
});
export type StoredImage = z.infer<typeof StoredImageSchema>;

/** One image of a gallery: its own prediction (when made one call per image) and, once made, the stored image. */
export const GalleryPartSchema = z.object({
  checkpoint: CheckpointSchema.optional(),
  stored: StoredImageSchema.optional(),
});
export type GalleryPart = z.infer<typeof GalleryPartSchema>;

/**
 * What a job carries through the queue. The worker checkpoints into it after each step (`job.updateData`):
 * the provider's prediction id, then the stored image, then the delivered message, so a job re-run after a crash
 * resumes where it stopped: it never pays for the same image twice and never posts twice.
 */
export const GenerationJobDataSchema = z.object({
  jobId: z.string(),
  kind: z.enum(['generate', 'reroll']),
  request: FluxRequestSchema,
  requester: RequesterSchema,
  target: DeliveryTargetSchema,
  rerollOf: z.string().optional(),
  submittedAt: z.number(),
  /** Index into the job's failover list (its route: `PROVIDERS` in order, or by price with PROVIDER_ROUTING=cheapest). */
  providerIndex: z.number().int().min(0),
  /** Transient failures on the current provider. */
  providerFailures: z.number().int().min(0),
  /** Times the job waited for a provider's rate limit (bounded so a job cannot wait forever). */
  rateLimitWaits: z.number().int().min(0),
  checkpoint: CheckpointSchema.optional(),
  /** The quota day the job was admitted on: its money settles on that day's and month's keys. */
  admittedDay: z.string().optional(),
  /** The input images' sizes `[width, height]` as checked at admission (null: unknown), for the cost. */
  inputSizes: z.array(z.tuple([z.number(), z.number()]).nullable()).optional(),
  /** The image is stored in Redis under the job's image key (one-image jobs; a gallery's images are in `parts`). */
  stored: StoredImageSchema.optional(),
  /**
   * A gallery (`request.count` > 1): one entry per image, each checkpointed on its own (its prediction, then its stored
   * image under its own stash key), so a re-run makes only the images still missing and pays for none twice.
   */
  parts: z.array(GalleryPartSchema).optional(),
  /** A gallery delivered with fewer images than asked: why the rest could not be made. */
  shortfall: z.object({ code: z.string(), message: z.string() }).optional(),
  delivered: z
    .object({
      platform: PlatformSchema,
      messageId: z.string(),
      channelId: z.string(),
      threadId: z.string().optional(),
      /** Delivered privately (the target refused it) or kept for the person to fetch (see DeliveredMessage.via). */
      via: z.enum(['private', 'kept']).optional(),
      /** Posted as a follow-up of the person's interaction (see DeliveredMessage.followUp). */
      followUp: z.boolean().optional(),
    })
    .optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type GenerationJobData = z.infer<typeof GenerationJobDataSchema>;

/** What a completed job returns (BullMQ's return value, seen by `completed` listeners). */
export interface GenerationJobResult {
  messageId: string;
  channelId: string;
  threadId?: string;
  provider: string;
  seed: number;
  generationMs: number;
  /** What the image cost, micro-dollars (see `stored.costMicros`). */
  costMicros?: number;
}
