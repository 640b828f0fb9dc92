/** Provider webhooks: per-job URLs, the receiver behind `POST /webhooks/<provider>`, and the hub that wakes workers. */
export { CompletionHub, type CompletionHubOptions, type HookRecord } from './completion-hub.js';
export { ReplicateSecretSource, type ReplicateSecretOptions } from './replicate-secret.js';
export { WebhookReceiver, type WebhookAnswer, type WebhookReceiverOptions, type WebhookRequest } from './webhook-receiver.js';
export { derivedSecret, resolveWebhookSecret, verifyWebhookToken, webhookToken, webhookUrlFor } from './webhook-token.js';
export { setupWebhooks, WEBHOOK_PROVIDERS, type WebhookSettings, type WebhookSetupOptions, type Webhooks } from './webhooks.js';
