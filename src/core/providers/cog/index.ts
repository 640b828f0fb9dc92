/** Self-hosted Cog container provider (Replicate's inputs, synchronous predictions, no polling). */
export { CogProvider, newPredictionId, type CogProviderOptions } from './cog-provider.js';
