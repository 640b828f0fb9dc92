import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis-connection.js';
import sharp from 'sharp';
import { InvalidInput } from '../errors.js';
import { SPREAD, spreadName } from '../key-space.js';
import type { FluxRequest } from '../request.js';

/** How a stored image is named in a request: `fluxbot-input:<sha256 of the bytes>`. */
export const INPUT_REFERENCE_PREFIX = 'fluxbot-input:';
const REFERENCE = /^fluxbot-input:([0-9a-f]{64})$/;

/** How long an image the bot stored (a private file, an attachment, an upload) is kept by default: a day. */
export const DEFAULT_INPUT_TTL_SECONDS = 86_400;

/** Whether a request's image names a stored image rather than a link or an inline `data:` URI. */
export function isInputReference(value: string | undefined): value is `fluxbot-input:${string}` {
  return value !== undefined && REFERENCE.test(value);
}

/** A stored image's size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * A stored image of a request is gone (its short expiry passed): the person has to attach it again. `image` is the
 * 1-based position in `images`; without it the image prompt is meant.
 */
export class InputImageExpired extends InvalidInput {
  /** Which image of `images` (1-based), or undefined for the image prompt. */
  readonly image: number | undefined;

  constructor(ttlSeconds: number, image?: number) {
    super(
      image === undefined
        ? `The image prompt of this request has expired (images attached from Slack are kept for ${duration(ttlSeconds)}); attach it again.`
        : `Image ${image} (images) has expired (the bot keeps attached images for ${duration(ttlSeconds)}); attach it again.`,
      image === undefined ? 'image_prompt' : 'images',
    );
    this.image = image;
  }
}

/**
 * Images the bot keeps itself (private Slack files and Discord attachments, which providers cannot fetch or which
 * expire; uploads; inline images), stored once in Redis by content hash with their own short expiry, with their
 * type and size. Jobs, the 30-day reroll records and rerolls carry only the short reference; the bytes are put back
 * into the request right before the provider call. Without this a 10 MB file became a 13 MB `data:` URI copied into
 * the job, its record and every reroll, and a private file outlived its owner's deletion by the records' 30 days.
 */
export class InputImageStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = '{fluxbot}',
    /** How long a stored image lasts; putting the same bytes again starts it over. */
    readonly ttlSeconds = DEFAULT_INPUT_TTL_SECONDS,
  ) {}

  /** Tagged by its hash (`fluxbot:in:{<sha256>}`): stored images spread over a cluster's masters. */
  key(hash: string): string {
    return `${spreadName(this.prefix)}:${SPREAD.input}:{${hash}}`;
  }

  /** The key of an image stored before the spread layout (read until it expires: one input lifetime). */
  private legacyKey(hash: string): string {
    return `${this.prefix}:input:${hash}`;
  }

  /** Whether the image is still stored (under the spread key, else under the old one). */
  private async stored(hash: string): Promise<boolean> {
    return (await this.redis.exists(this.key(hash))) === 1 || (await this.redis.exists(this.legacyKey(hash))) === 1;
  }

  /**
   * Stores the bytes (once per content) and returns the reference to put in the request (`image_prompt` or an entry
   * of `images`). `size`, when known, is kept with them for cost estimates and checks.
   */
  async put(bytes: Buffer, contentType: string, size?: ImageSize): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const key = this.key(hash);
    const fields: Array<string | Buffer | number> = ['type', contentType, 'bytes', bytes];
    if (size) fields.push('width', size.width, 'height', size.height);
    await this.redis.multi().hset(key, ...fields).expire(key, this.ttlSeconds).exec();
    return `${INPUT_REFERENCE_PREFIX}${hash}`;
  }

  /**
   * A stored image's size: `{ size }` (undefined when it cannot be known), or undefined when the image is gone. An
   * image stored without its size (by an older version) is measured from its bytes.
   */
  async lookup(reference: string): Promise<{ size: ImageSize | undefined } | undefined> {
    const hash = hashOf(reference);
    if (hash === undefined) return undefined;
    let key = this.key(hash);
    let [type, width, height] = await this.redis.hmget(key, 'type', 'width', 'height');
    if (!type) [type, width, height] = await this.redis.hmget((key = this.legacyKey(hash)), 'type', 'width', 'height');
    if (!type) return undefined;
    const size = { width: Number(width), height: Number(height) };
    if (Number.isInteger(size.width) && size.width > 0 && Number.isInteger(size.height) && size.height > 0) return { size };
    const bytes = await this.redis.hgetBuffer(key, 'bytes');
    if (!bytes) return undefined;
    const meta = await sharp(bytes).metadata().catch(() => undefined);
    const height_ = meta?.pageHeight ?? meta?.height;
    return { size: meta?.width && height_ ? { width: meta.width, height: height_ } : undefined };
  }

  /**
   * The request as a provider takes it: a stored image prompt, and every stored entry of `images`, back as `data:`
   * URIs (links stay links). Throws InputImageExpired naming the first image that is gone.
   */
  async resolve(request: FluxRequest): Promise<FluxRequest> {
    let resolved = request;
    const promptHash = hashOf(request.image_prompt);
    if (promptHash !== undefined) {
      const uri = await this.dataUri(promptHash);
      if (uri === undefined) throw new InputImageExpired(this.ttlSeconds);
      resolved = { ...resolved, image_prompt: uri };
    }
    if (request.images?.some((image) => hashOf(image) !== undefined)) {
      const images: string[] = [];
      for (const [i, image] of request.images.entries()) {
        const hash = hashOf(image);
        if (hash === undefined) {
          images.push(image);
          continue;
        }
        const uri = await this.dataUri(hash);
        if (uri === undefined) throw new InputImageExpired(this.ttlSeconds, i + 1);
        images.push(uri);
      }
      resolved = { ...resolved, images };
    }
    return resolved;
  }

  /** Throws InputImageExpired when the request names a stored image that is gone (a reroll, checked at submit). */
  async check(request: FluxRequest): Promise<void> {
    const promptHash = hashOf(request.image_prompt);
    if (promptHash !== undefined && !(await this.stored(promptHash))) throw new InputImageExpired(this.ttlSeconds);
    for (const [i, image] of (request.images ?? []).entries()) {
      const hash = hashOf(image);
      if (hash !== undefined && !(await this.stored(hash))) throw new InputImageExpired(this.ttlSeconds, i + 1);
    }
  }

  private async dataUri(hash: string): Promise<string | undefined> {
    let [type, bytes] = await this.redis.hmgetBuffer(this.key(hash), 'type', 'bytes');
    if (!type || !bytes) [type, bytes] = await this.redis.hmgetBuffer(this.legacyKey(hash), 'type', 'bytes');
    if (!type || !bytes) return undefined;
    return `data:${type.toString('utf8')};base64,${bytes.toString('base64')}`;
  }
}

function hashOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : REFERENCE.exec(value)?.[1];
}

/** `24 hours`, `90 minutes`, `1 hour`: the expiry as a person reads it. */
function duration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds >= 3600 && seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds >= 60) return plural(Math.round(seconds / 60), 'minute');
  return plural(Math.max(0, Math.round(seconds)), 'second');
}
