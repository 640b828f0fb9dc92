import type { RedisClient } from '../../core/redis-connection.js';
import type { Logger } from 'pino';
import type { FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../../core/ports.js';
import { MAX_COUNT, type FluxRequest } from '../../core/request.js';
import { WEB_IMAGE_TTL_SECONDS } from './web-text.js';
import { SPREAD, spreadName } from '../../core/key-space.js';

/** A playground image: its bytes and type. */
export interface WebImage {
  bytes: Buffer;
  contentType: string;
}

/**
 * Playground images in Redis under the core's prefix, with a day's expiry (Redis memory is not an image host). The
 * image id is derived from the job id, so a job re-run after a crash stores the same image under the same id instead
 * of a second copy.
 */
export class WebImageStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly ttlSeconds = WEB_IMAGE_TTL_SECONDS,
  ) {}

  /**
   * Where image `index` (0-based) of a playground message is kept, tagged by the image (`fluxbot:web:{wj…}`): spread
   * over a cluster's masters. A gallery's images are kept one by one, beside each other (one slot).
   */
  key(imageId: string, index = 0): string {
    return `${spreadName(this.prefix)}:${SPREAD.web}:{${imageId}}${index === 0 ? '' : `:${index}`}`;
  }

  /** Stores (or stores again, restarting its day) image `index` of the message `imageId`. */
  async put(imageId: string, image: WebImage, index = 0): Promise<void> {
    const key = this.key(imageId, index);
    await this.redis.multi().hset(key, 'type', image.contentType, 'bytes', image.bytes).expire(key, this.ttlSeconds).exec();
  }

  /** Image `index` of the message, or undefined once its day has passed (or when it has no such image). */
  async get(imageId: string, index = 0): Promise<WebImage | undefined> {
    let [type, bytes] = await this.redis.hmgetBuffer(this.key(imageId, index), 'type', 'bytes');
    // Stored before the spread layout (`{prefix}:web:image:…`): read for its day.
    if (!type || !bytes) [type, bytes] = await this.redis.hmgetBuffer(`${this.prefix}:web:image:${imageId}${index === 0 ? '' : `:${index}`}`, 'type', 'bytes');
    return type && bytes ? { contentType: type.toString('utf8'), bytes } : undefined;
  }

  /** How many images the message still has kept (a gallery: up to MAX_COUNT; 0 once its day has passed). */
  async count(imageId: string): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < MAX_COUNT; i++) pipeline.exists(this.key(imageId, i));
    const replies = (await pipeline.exec()) ?? [];
    const found = replies.findIndex(([err, n]) => err || n !== 1);
    return found < 0 ? replies.length : found;
  }

  /** Drops a deleted message's images (all of a gallery's). */
  async remove(imageId: string): Promise<void> {
    await this.redis.del(...Array.from({ length: MAX_COUNT }, (_, i) => this.key(imageId, i)));
  }

  /** Which of these images are still kept. */
  async kept(imageIds: readonly string[]): Promise<boolean[]> {
    if (imageIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of imageIds) pipeline.exists(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, n]) => !err && n === 1);
  }
}

/** The image id of a job's playground image. */
export function imageIdOf(jobId: string): string {
  return `w${jobId}`;
}

/**
 * The worker side of the playground: "posting" an image is storing it where the page fetches it. The browser learns
 * about it (and about failures, with the reason the job records) from its status stream, so there is nothing to
 * notify here.
 */
export class WebDelivery implements DeliveryPort {
  constructor(
    private readonly images: WebImageStore,
    private readonly logger: Logger,
  ) {}

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const imageId = imageIdOf(d.jobId);
    // A gallery is one "message" too: its images under the one id, by their place in it.
    const images = d.images ?? [d.image];
    await Promise.all(images.map((image, i) => this.images.put(imageId, { bytes: image.bytes, contentType: image.contentType }, i)));
    return { platform: 'web', messageId: imageId, channelId: d.target.channelId };
  }

  async notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void> {
    this.logger.debug({ jobId: job.jobId, code: error.code }, 'playground job failed; the page shows it from the job');
  }
}
