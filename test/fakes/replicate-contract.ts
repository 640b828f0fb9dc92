import type { ServerResponse } from 'node:http';
import { MODELS, pixelSize, type AspectRatio, type ModelId, type ProviderName } from '../../src/core/models.js';
import { sendJson } from './fake-server.js';

/**
 * What the Replicate and Cog fakes share: Replicate's error bodies, its safety-refusal wordings, the few input checks
 * the real API answers 422 on, and the image a FLUX model renders for an input (size, format, output shape).
 */

/** The real 429 body; its "resets in ~30s" is all a client gets when Retry-After is absent. */
export const THROTTLED = 'Request was throttled. Your rate limit resets in ~30s.';

export const PROBLEMS = {
  '500': { title: 'Internal Server Error', detail: 'Internal server error' },
  '401': { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token' },
  '402': {
    title: 'Insufficient credit',
    detail: 'You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.',
  },
  '422': { title: 'Input validation failed', detail: '- input.prompt: prompt is required' },
} as const;

/** How failed predictions read: Replicate's E005 wording, the FLUX safety checker's, and an ordinary model error. */
export const PREDICTION_ERRORS = {
  moderate: 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)',
  nsfw: 'NSFW content detected. Try running it again, or try a different prompt.',
  fail: 'CUDA out of memory. Tried to allocate 2.00 GiB',
} as const;

/** Replicate's problem+json error. */
export function problem(res: ServerResponse, status: number, p: { title: string; detail: string }): void {
  sendJson(res, status, { ...p, status }, { 'content-type': 'application/problem+json' });
}

/** `Prefer: wait` is 60 s, `wait=N` is N (1..60). */
export function preferWait(header: string | string[] | undefined): number | undefined {
  const match = typeof header === 'string' ? /\bwait(?:=(\d+))?/.exec(header) : null;
  if (!match) return undefined;
  return Math.min(60, Math.max(1, Number(match[1] ?? 60)));
}

/** Our model id for a provider's model name (`black-forest-labs/flux-dev` on Replicate, `flux-dev` on Cog). */
export function modelIdOf(provider: ProviderName, model: string): ModelId | undefined {
  return (Object.keys(MODELS) as ModelId[]).find((id) => MODELS[id].providerIds[provider] === model);
}

/** The few schema checks that prove a client's mapping (the real API answers 422 on these). */
export function validateInput(model: ModelId, input: Record<string, unknown> | undefined): string | undefined {
  if (!input || typeof input.prompt !== 'string' || input.prompt === '') return '- input.prompt: prompt is required';
  if (model === 'flux-1.1-pro-ultra' && input.output_format === 'webp') {
    return '- input.output_format: output_format must be one of the following: "jpg", "png"';
  }
  if (input.aspect_ratio === 'custom' && !MODELS[model].customSize) return '- input.aspect_ratio: custom is not allowed';
  return undefined;
}

/** flux-dev and flux-schnell (Cog-flux's `List[Path]`) return an array of files; the pro models a single file. */
export function returnsArray(model: ModelId): boolean {
  return model === 'flux-dev' || model === 'flux-schnell';
}

/** The image the model would render for this input: the ratio's pixel size (or the custom size), in the asked format. */
export function outputShape(model: ModelId, input: Record<string, unknown>): { width: number; height: number; format: 'png' | 'jpeg' | 'webp' } {
  const ratio = (input.aspect_ratio as AspectRatio | undefined) ?? MODELS[model].defaultAspectRatio;
  const size = ratio === 'custom' ? { width: Number(input.width ?? 1024), height: Number(input.height ?? 1024) } : pixelSize(model, ratio);
  const format = input.output_format === 'png' ? 'png' : input.output_format === 'jpg' ? 'jpeg' : 'webp';
  return { ...size, format };
}
