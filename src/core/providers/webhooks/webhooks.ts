import type { RedisClient } from '../../redis-connection.js';
import type { Logger } from 'pino';
import type { CompletionNotifier } from '../provider.js';
import { CompletionHub } from './completion-hub.js';
import { ReplicateSecretSource } from './replicate-secret.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { derivedSecret, resolveWebhookSecret, webhookUrlFor } from './webhook-token.js';

/** The settings webhooks need (a slice of the app config). */
export interface WebhookSettings {
  PUBLIC_URL: string;
  WEBHOOK_SECRET?: string | undefined;
  REPLICATE_WEBHOOK_SECRET?: string | undefined;
  REPLICATE_API_URL: string;
  REPLICATE_API_TOKEN?: string | undefined;
  WEBHOOK_FALLBACK_POLL_MS?: number | undefined;
}

export interface WebhookSetupOptions {
  settings: WebhookSettings;
  /** Commands (records, replay ids, the generated secret). */
  redis: RedisClient;
  /** Opens a dedicated connection for the hub's channel (only when `listen`). */
  subscriber: () => RedisClient;
  prefix: string;
  logger: Logger;
  /** Worker processes listen for webhook results; a bot-only process only receives them. */
  listen: boolean;
  fetch?: typeof fetch;
}

/** Providers that can report completion by webhook. Cog answers synchronously; preview is local. */
export const WEBHOOK_PROVIDERS: ReadonlySet<string> = new Set(['replicate', 'fal', 'bfl']);

/** Everything `PUBLIC_URL` switches on, wired for main.ts. */
export interface Webhooks {
  /** The `WebhookHandler` for the HTTP endpoint. */
  receiver: WebhookReceiver;
  /** The per-job webhook URL, for the providers that support one. */
  webhookUrl(jobId: string, provider: string): string | undefined;
  /** The wait a provider uses between polls while its webhook is expected (undefined when not listening). */
  completion(jobId: string, provider: string): CompletionNotifier | undefined;
  /** The `webhook_secret` given to BFL (derived from the server secret, never the secret itself). */
  bflSecret: string;
  close(): Promise<void>;
}

/** Resolves the secrets and starts listening (in worker processes). */
export async function setupWebhooks(options: WebhookSetupOptions): Promise<Webhooks> {
  const { settings, redis, prefix, logger } = options;
  const secret = await resolveWebhookSecret(redis, prefix, settings.WEBHOOK_SECRET);
  const hub = new CompletionHub({
    redis,
    ...(options.listen ? { subscriber: options.subscriber() } : {}),
    prefix,
    ...(settings.WEBHOOK_FALLBACK_POLL_MS === undefined ? {} : { fallbackPollMs: settings.WEBHOOK_FALLBACK_POLL_MS }),
  });
  if (options.listen) await hub.start();
  const bflSecret = derivedSecret(secret, 'bfl-webhook-secret');
  const receiver = new WebhookReceiver({
    sink: hub,
    redis,
    prefix,
    tokenSecret: secret,
    bflSecret,
    logger: logger.child({ module: 'webhooks' }),
    replicateSecret: new ReplicateSecretSource({
      secret: settings.REPLICATE_WEBHOOK_SECRET,
      baseUrl: settings.REPLICATE_API_URL,
      token: settings.REPLICATE_API_TOKEN,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  });
  return {
    receiver,
    bflSecret,
    webhookUrl: (jobId, provider) => (WEBHOOK_PROVIDERS.has(provider) ? webhookUrlFor(settings.PUBLIC_URL, secret, provider, jobId) : undefined),
    completion: (_jobId, provider) => (options.listen && WEBHOOK_PROVIDERS.has(provider) ? hub.notifier(provider) : undefined),
    close: () => hub.close(),
  };
}
