import { z } from 'zod';
import type { DeliveryRefused, FluxError } from './errors.js';
import type { GeneratedImage } from './providers/provider.js';
import type { FluxRequest } from './request.js';

/** The adapters: two chat platforms and the web playground (`web`: each browser session is a person). */
export const PLATFORMS = ['discord', 'slack', 'web'] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * Who asked. Ids carry their platform: `userKey` is `discord:<guild>:<user>`, `slack:<team>:<user>` or
 * `web:<space>:<session>`, `guildKey` is `discord:<guild>`, `slack:<team>` or `web:<space>`; quotas, bans and records use these keys.
 */
export const RequesterSchema = z.object({
  platform: z.enum(PLATFORMS),
  guildId: z.string().min(1),
  userId: z.string().min(1),
  /** Shown in captions and logs; optional. */
  displayName: z.string().optional(),
});
export type Requester = z.infer<typeof RequesterSchema>;

export function userKey(r: Pick<Requester, 'platform' | 'guildId' | 'userId'>): string {
  return `${r.platform}:${r.guildId}:${r.userId}`;
}

export function guildKey(r: Pick<Requester, 'platform' | 'guildId'>): string {
  return `${r.platform}:${r.guildId}`;
}

/**
 * Where a job's results go. The core treats it as opaque apart from the fields below; adapters put what their
 * delivery needs (a status message id, a thread id) here when they submit.
 */
export const DeliveryTargetSchema = z.object({
  platform: z.enum(PLATFORMS),
  channelId: z.string().min(1),
  /** Discord thread id / Slack thread_ts the image is posted into, when already known. */
  threadId: z.string().optional(),
  /** The status message that anchors the thread and shows progress. */
  statusMessageId: z.string().optional(),
  /** Largest upload the destination accepts; the worker re-encodes images to fit. */
  maxUploadBytes: z.number().int().positive().optional(),
  /** Channel allows NSFW content (Discord's channel flag). */
  nsfwAllowed: z.boolean().optional(),
  /** Adapter-specific extras (strings only, so the job stays plain JSON). */
  extra: z.record(z.string(), z.string()).optional(),
});
export type DeliveryTarget = z.infer<typeof DeliveryTargetSchema>;

/** A posted image: the message a reaction reroll will point at. */
export interface DeliveredMessage {
  platform: Platform;
  messageId: string;
  channelId: string;
  threadId?: string | undefined;
  /**
   * Where the person got it when the target refused it: `private` (a DM, an interaction follow-up only they see) or
   * `kept` (nowhere could take it: the image is kept for them to fetch with `/flux-history`). Absent: in the target.
   */
  via?: 'private' | 'kept' | undefined;
  /**
   * Posted through the person's interaction (a follow-up of its webhook), not with the bot's own token: only that
   * interaction's token can edit it (Discord's follow-ups). Absent: a message of the bot's.
   */
  followUp?: boolean | undefined;
}

export interface DeliveryRequest {
  jobId: string;
  request: FluxRequest;
  requester: Requester;
  target: DeliveryTarget;
  image: GeneratedImage;
  /**
   * A gallery (`request.count` > 1): every image made, in order (`image` is the first), posted together as one
   * message. Fewer than `request.count` when some could not be made (`shortfall` says why). Absent: one image.
   */
  images?: GeneratedImage[];
  /** A gallery delivered with fewer images than asked: why the rest are missing, in words for the person. */
  shortfall?: string;
  model: string;
  /** Generation time in ms (provider call to downloaded image). */
  generationMs: number;
  /** What the image cost (a gallery: all its images), micro-dollars (shown with it, e.g. "$0.045"); absent when not known. */
  costMicros?: number;
  /** Set for rerolls: the message this one rerolls. */
  rerollOf?: string;
  /**
   * Set when an earlier run of this job may already have posted the image: the job runs again after its image was
   * stored (a crash or a failed delivery attempt). `since` is when the job was submitted (epoch ms). A platform
   * without an idempotent post looks for that earlier post before posting again.
   */
  redelivery?: { since: number };
}

/** What `afterRecorded` is told of a delivery: all but the bytes, and how many images the message carries (1 unless a gallery). */
export type RecordedDelivery = Omit<DeliveryRequest, 'image' | 'images'> & { imageCount: number };

/**
 * The platform side of delivery, implemented by each adapter with its REST client (the bot token, never a
 * short-lived interaction token). Workers call it; it must be safe to call from any worker process.
 */
export interface DeliveryPort {
  /** Posts the image into the target thread; returns the posted message. */
  deliver(delivery: DeliveryRequest): Promise<DeliveredMessage>;
  /**
   * Gives the image to the person privately after `deliver` threw DeliveryRefused (the channel or thread refuses it
   * for good): Discord an interaction follow-up while its token lives, else a DM; Slack a DM. Returns the message
   * with `via: 'private'`; throws DeliveryRefused when even that is impossible (the worker then keeps the image for
   * the person), anything else for a fault that may pass (retried). Must be idempotent like `deliver`.
   */
  deliverPrivately?(delivery: DeliveryRequest, refused: DeliveryRefused): Promise<DeliveredMessage>;
  /**
   * Called once the job record is saved: adds the 🔄 reaction (so a reaction can never arrive before the record
   * that makes it work) and marks the status message done. Failures here are logged, never retried.
   */
  afterRecorded?(message: DeliveredMessage, delivery: RecordedDelivery): Promise<void>;
  /** Tells the person why no image came (in the thread, or as the status message). */
  notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void>;
}
