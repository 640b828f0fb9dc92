import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../../redis-connection.js';

/**
 * fal and BFL do not sign their webhooks in a way we can check (fal's signature scheme and BFL's use of
 * `webhook_secret` are unconfirmed), so each webhook URL carries its own proof instead: `token` = HMAC-SHA256 of
 * the provider and job id under a server secret. Only the provider we handed the URL to knows it; a forged call
 * (another job id, a guessed token) is rejected before anything happens.
 */

/** The per-job token put into a webhook URL: base64url, 32 characters. */
export function webhookToken(secret: string, provider: string, jobId: string): string {
  return createHmac('sha256', secret).update(`${provider}\n${jobId}`).digest('base64url').slice(0, 32);
}

/** Constant-time check of a token from a webhook URL. */
export function verifyWebhookToken(secret: string, provider: string, jobId: string, token: string | null | undefined): boolean {
  if (!token) return false;
  const expected = Buffer.from(webhookToken(secret, provider, jobId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `${publicUrl}/webhooks/<provider>?job=<jobId>&token=<token>`: where the provider reports one job's completion. */
export function webhookUrlFor(publicUrl: string, secret: string, provider: string, jobId: string): string {
  const url = new URL(`webhooks/${provider}`, publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
  url.searchParams.set('job', jobId);
  url.searchParams.set('token', webhookToken(secret, provider, jobId));
  return url.toString();
}

/**
 * A secret derived for one use, so the server secret itself never leaves this program (BFL receives a derived
 * `webhook_secret`, not the key that signs every provider's tokens).
 */
export function derivedSecret(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(`fluxbot:${purpose}`).digest('base64url');
}

/**
 * The server secret: `WEBHOOK_SECRET` when configured, else one generated at random and kept in Redis, so every bot
 * and worker process sharing the Redis signs and checks with the same one without any setup.
 */
export async function resolveWebhookSecret(redis: RedisClient, prefix: string, configured?: string): Promise<string> {
  if (configured) return configured;
  const key = `${prefix}:webhook:secret`;
  await redis.set(key, randomBytes(32).toString('base64url'), 'NX');
  const secret = await redis.get(key);
  if (!secret) throw new Error('could not read the webhook secret from Redis');
  return secret;
}
