import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Replicate signs webhooks the Standard Webhooks way: `webhook-signature` holds space-separated `v1,<base64>` entries,
 * each base64(HMAC-SHA256(key, `${id}.${timestamp}.${rawBody}`)) where the key is the base64 part of the `whsec_`
 * secret from `GET /webhooks/default/secret`. Pure functions: the HTTP endpoint passes headers, raw body and clock.
 */

export interface ReplicateWebhookInput {
  /** `webhook-id` header. */
  id: string | undefined;
  /** `webhook-timestamp` header (unix seconds). */
  timestamp: string | undefined;
  /** `webhook-signature` header. */
  signature: string | undefined;
  /** The raw request body, exactly as received (re-serialised JSON would not match). */
  body: string | Buffer;
  /** `whsec_...` signing secret. */
  secret: string;
  /** Largest accepted clock difference, against replays; default 300 s. */
  toleranceSec?: number;
  /** Current time in ms since the epoch; default `Date.now()`. */
  now?: number;
}

export type WebhookRejection = 'missing_headers' | 'bad_secret' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'bad_signature';

export type WebhookValidation = { ok: true } | { ok: false; reason: WebhookRejection };

/** Checks a Replicate webhook's signature and age. Expected failures are returned; nothing throws. */
export function validateReplicateWebhook(input: ReplicateWebhookInput): WebhookValidation {
  const { id, timestamp, signature } = input;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  const key = secretKey(input.secret);
  if (!key) return { ok: false, reason: 'bad_secret' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const nowSec = Math.floor((input.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - Number(timestamp)) > (input.toleranceSec ?? 300)) return { ok: false, reason: 'timestamp_out_of_tolerance' };

  const expected = hmac(key, id, timestamp, input.body);
  for (const entry of signature.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    // Equal lengths first: timingSafeEqual throws otherwise, and a length mismatch leaks nothing secret.
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: 'bad_signature' };
}

/** The `webhook-signature` value Replicate would send (for fakes and tests). */
export function signReplicateWebhook(input: { id: string; timestamp: string; body: string | Buffer; secret: string }): string {
  const key = secretKey(input.secret);
  if (!key) throw new Error('webhook secret must be a whsec_ base64 secret');
  return `v1,${hmac(key, input.id, input.timestamp, input.body).toString('base64')}`;
}

function secretKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : undefined;
}

function hmac(key: Buffer, id: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}
