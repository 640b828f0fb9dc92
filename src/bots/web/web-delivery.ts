import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../../core/ports.js';
import type { FluxRequest } from '../../core/request.js';
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
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlSeconds = WEB_IMAGE_TTL_SECONDS,
  ) {}

  /** Tagged by the image (`fluxbot:web:{wj…}`): spread over a cluster's masters. */
  key(imageId: string): string {
    return `${spreadName(this.prefix)}:${SPREAD.web}:{${imageId}}`;
  }

  /** Stores (or stores again, restarting its day) the image under its id. */
  async put(imageId: string, image: WebImage): Promise<void> {
    await this.redis.multi().hset(this.key(imageId), 'type', image.contentType, 'bytes', image.bytes).expire(this.key(imageId), this.ttlSeconds).exec();
  }

  /** The image, or undefined once its day has passed. */
  async get(imageId: string): Promise<WebImage | undefined> {
    let [type, bytes] = await this.redis.hmgetBuffer(this.key(imageId), 'type', 'bytes');
    // Stored before the spread layout (`{prefix}:web:image:…`): read for its day.
    if (!type || !bytes) [type, bytes] = await this.redis.hmgetBuffer(`${this.prefix}:web:image:${imageId}`, 'type', 'bytes');
    return type && bytes ? { contentType: type.toString('utf8'), bytes } : undefined;
  }

  /** Drops a deleted image. */
  async remove(imageId: string): Promise<void> {
    await this.redis.del(this.key(imageId));
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
    await this.images.put(imageId, { bytes: d.image.bytes, contentType: d.image.contentType });
    return { platform: 'web', messageId: imageId, channelId: d.target.channelId };
  }

  async notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void> {
    this.logger.debug({ jobId: job.jobId, code: error.code }, 'playground job failed; the page shows it from the job');
  }
}
