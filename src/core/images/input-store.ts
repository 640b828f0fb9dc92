import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidInput } from '../errors.js';
import type { FluxRequest } from '../request.js';

/** How a stored image prompt is named in a request: `fluxbot-input:<sha256 of the bytes>`. */
export const INPUT_REFERENCE_PREFIX = 'fluxbot-input:';
const REFERENCE = /^fluxbot-input:([0-9a-f]{64})$/;

/** How long an image prompt attached from a private file is kept by default: a day. */
export const DEFAULT_INPUT_TTL_SECONDS = 86_400;

/** Whether a request's `image_prompt` names a stored image rather than a link or an inline `data:` URI. */
export function isInputReference(value: string | undefined): value is string {
  return value !== undefined && REFERENCE.test(value);
}

/** The stored image prompt of a request is gone (its short expiry passed): the person has to attach it again. */
export class InputImageExpired extends InvalidInput {
  constructor(ttlSeconds: number) {
    super(`The image prompt of this request has expired (images attached from Slack are kept for ${duration(ttlSeconds)}); attach it again.`, 'image_prompt');
  }
}

/**
 * Image prompts the bot downloaded itself (private Slack files, which providers cannot fetch), stored once in Redis
 * by content hash with their own short expiry. Jobs, the 30-day reroll records and rerolls carry only the short
 * reference; the bytes are put back into the request right before the provider call. Without this a 10 MB file
 * became a 13 MB `data:` URI copied into the job, its record and every reroll, and a private file outlived its
 * owner's deletion by the records' 30 days.
 */
export class InputImageStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = '{fluxbot}',
    /** How long a stored image lasts; putting the same bytes again starts it over. */
    readonly ttlSeconds = DEFAULT_INPUT_TTL_SECONDS,
  ) {}

  key(hash: string): string {
    return `${this.prefix}:input:${hash}`;
  }

  /** Stores the bytes (once per content) and returns the reference to put in the request's `image_prompt`. */
  async put(bytes: Buffer, contentType: string): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const key = this.key(hash);
    await this.redis.multi().hset(key, 'type', contentType, 'bytes', bytes).expire(key, this.ttlSeconds).exec();
    return `${INPUT_REFERENCE_PREFIX}${hash}`;
  }

  /** The request as a provider takes it: a stored image prompt back as a `data:` URI. Throws InputImageExpired. */
  async resolve(request: FluxRequest): Promise<FluxRequest> {
    const hash = hashOf(request.image_prompt);
    if (hash === undefined) return request;
    const [type, bytes] = await this.redis.hmgetBuffer(this.key(hash), 'type', 'bytes');
    if (!type || !bytes) throw new InputImageExpired(this.ttlSeconds);
    return { ...request, image_prompt: `data:${type.toString('utf8')};base64,${bytes.toString('base64')}` };
  }

  /** Throws InputImageExpired when the request names a stored image that is gone (a reroll, checked at submit). */
  async check(request: FluxRequest): Promise<void> {
    const hash = hashOf(request.image_prompt);
    if (hash !== undefined && (await this.redis.exists(this.key(hash))) === 0) throw new InputImageExpired(this.ttlSeconds);
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
