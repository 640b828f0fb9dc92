/** fal.ai queue provider: see fal-provider.ts (flow), queue-client.ts (HTTP contract), params.ts (input mapping). */
export { FAL_DEFAULT_QUEUE_URL, FalProvider, type FalProviderOptions } from './fal-provider.js';
export { FalRequestNotFound, falHttpError, falStatusError } from './errors.js';
export { FAL_ULTRA_ASPECT_RATIOS, toFalCall, type FalCall, type FalInput } from './params.js';
export { FalQueueClient, falAppId, type FalQueueStatus, type FalResult } from './queue-client.js';
