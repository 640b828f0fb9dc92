import { ContentModerated, GenerationCanceled, GenerationFailed, ProviderTimeout } from '../../errors.js';
import type { ProviderName } from '../../models.js';
import type { ProviderProgress } from '../provider.js';

/** The fields of Replicate's (and Cog's) prediction object that the providers read. */
export interface Prediction {
  id?: string;
  status?: string;
  output?: unknown;
  error?: unknown;
  logs?: string | null;
  data_removed?: boolean;
  urls?: { get?: string; cancel?: string };
}

/** Where a prediction stands: finished with an output URL, or still running. */
export type PredictionState =
  | { done: true; url: string; seed: number | undefined }
  | { done: false; progress: ProviderProgress };

/**
 * Reads a prediction. Throws the typed error for each terminal failure: `failed` → ContentModerated when the error
 * reads like a safety refusal, else GenerationFailed; `canceled` → GenerationCanceled; `aborted` (Replicate dropped it
 * before it ran, e.g. past its Cancel-After deadline) → ProviderTimeout, so nobody polls a dead prediction forever.
 * An output that is already present counts as done even while `status` still says `processing`: Replicate fills
 * file outputs before it flips the status.
 */
export function readPrediction(provider: ProviderName, prediction: Prediction, abortedAfterMs = 0): PredictionState {
  const status = prediction.status;
  switch (status) {
    case 'failed': {
      const detail = typeof prediction.error === 'string' && prediction.error ? prediction.error : 'the prediction failed';
      if (isModerationError(detail)) throw new ContentModerated(provider, detail);
      throw new GenerationFailed(provider, detail);
    }
    case 'canceled':
      throw new GenerationCanceled(`${provider} canceled the prediction`, { provider });
    case 'aborted':
      throw new ProviderTimeout(provider, abortedAfterMs, { cause: new Error(`${provider} aborted the prediction before it ran`) });
  }
  const url = outputUrl(prediction.output);
  if (url) return { done: true, url, seed: loggedSeed(prediction.logs) };
  if (status === 'succeeded') {
    throw new GenerationFailed(provider, prediction.data_removed ? 'the output has expired and was removed' : 'the prediction returned no image');
  }
  // `starting` (queued or booting) and anything unknown keep polling; the caller's deadline bounds it.
  return { done: false, progress: { state: status === 'processing' ? 'running' : 'queued' } };
}

/** flux-pro and siblings answer one URL; flux-dev/schnell (and Cog-flux) answer an array. Accept both. */
export function outputUrl(output: unknown): string | undefined {
  const first = Array.isArray(output) ? (output as unknown[])[0] : output;
  if (typeof first !== 'string') return undefined;
  return /^(https?:|data:)/i.test(first) ? first : undefined;
}

/** Replicate words safety refusals in several ways: "NSFW content detected", "flagged as sensitive (E005)". */
export function isModerationError(detail: string): boolean {
  return /nsfw|sensitive|flagged|moderat|safety/i.test(detail);
}

/** FLUX models log `Using seed: 1234`; the seed we sent is the fallback. */
function loggedSeed(logs: string | null | undefined): number | undefined {
  const match = typeof logs === 'string' ? /using seed:?\s*(\d+)/i.exec(logs) : null;
  if (!match) return undefined;
  const seed = Number(match[1]);
  return Number.isSafeInteger(seed) ? seed : undefined;
}
