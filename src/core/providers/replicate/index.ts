/** Replicate (and Replicate-compatible proxies): the adapter, its input mapping, prediction reading and webhooks. */
export { DEFAULT_REPLICATE_API_URL, parseDuration, ReplicateProvider, type ReplicateProviderOptions } from './replicate-provider.js';
export { toReplicateParams, type ReplicateInput, type ReplicateParams } from './params.js';
export { isModerationError, outputUrl, readPrediction, type Prediction, type PredictionState } from './prediction.js';
export { fetchOutputImage, type OutputOptions } from './output.js';
export {
  signReplicateWebhook,
  validateReplicateWebhook,
  type ReplicateWebhookInput,
  type WebhookRejection,
  type WebhookValidation,
} from './webhook.js';
