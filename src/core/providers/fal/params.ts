/*
 * The resolved request → the input of a fal.ai FLUX endpoint (the schemas on fal's model pages).
 *
 * Pure: no I/O, so every model's exact body is unit tested.
 *
 * **The default rule.** The resolved request always carries the model's defaults (flux-pro always has `interval: 2`,
 * every model with the field has `output_quality: 80`), so "present" does not mean "asked for". A field fal cannot
 * express is refused with UnsupportedByProvider only when its value differs from the model's default in MODELS: at
 * the default, fal renders what the person would get elsewhere, and refusing would make fal unusable for every
 * flux-pro request. A field with no default (`image_prompt`) is refused whenever present.
 *
 * **Formats and quality.** fal writes jpeg or png. webp is asked as png and converted by us; `output_quality` (which
 * fal cannot take) is applied in that conversion. For jpg at the default quality fal's own jpeg is kept; at any other
 * quality we ask png and encode the jpeg ourselves at that quality, so the setting is honoured rather than refused.
 * For png quality does not apply (lossless), as on the other providers.
 */

import { UnsupportedByProvider } from '../../errors.js';
import { FIELD_RANGES, MODELS, type AspectRatio, type ModelId, type ModelSpec, type NumberRange } from '../../models.js';
import type { FluxRequest } from '../../request.js';

/** A fal model's JSON input, as sent. Optional fields appear only when the request has them. */
export interface FalInput {
  prompt: string;
  /** Exact pixels (every model but ultra). */
  image_size?: { width: number; height: number };
  /** Ultra only: it takes a ratio instead of a size. */
  aspect_ratio?: string;
  /** Ultra only: the image prompt (an https link or a data URI; fal accepts both). */
  image_url?: string;
  num_inference_steps?: number;
  guidance_scale?: number;
  seed: number;
  num_images: 1;
  /** A string "1".."6" in fal's schema, not a number. */
  safety_tolerance?: string;
  output_format: 'jpeg' | 'png';
  enhance_prompt?: boolean;
}

export interface FalCall {
  /** fal's endpoint id, e.g. `fal-ai/flux-pro/v1.1`: the submit path and what the checkpoint keeps. */
  modelId: string;
  input: FalInput;
  /** Encoder quality for our own re-encoding to the requested format (undefined: fitImage's default). */
  quality: number | undefined;
}

/** How each model's fal endpoint takes its size and whether it has an image-prompt input. */
const SHAPES: Record<ModelId, { size: 'pixels' | 'aspect_ratio'; imagePrompt: boolean }> = {
  'flux-pro': { size: 'pixels', imagePrompt: false },
  'flux-1.1-pro': { size: 'pixels', imagePrompt: false },
  'flux-1.1-pro-ultra': { size: 'aspect_ratio', imagePrompt: true },
  'flux-dev': { size: 'pixels', imagePrompt: false },
  'flux-schnell': { size: 'pixels', imagePrompt: false },
};

/** fal's ultra `aspect_ratio` enum: narrower than BFL's (no 4:5 or 5:4). */
export const FAL_ULTRA_ASPECT_RATIOS: readonly AspectRatio[] = ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'];

/**
 * Maps a resolved request to fal's endpoint and input. Throws UnsupportedByProvider (naming the field) for a model
 * fal lacks or a setting fal cannot express; never drops a setting silently.
 *
 * @param models the catalogue (injectable so tests can describe a model without a fal id).
 */
export function toFalCall(request: FluxRequest, models: Record<ModelId, ModelSpec> = MODELS): FalCall {
  const spec = models[request.model];
  const modelId = spec.providerIds.fal;
  if (!modelId) throw new UnsupportedByProvider('fal', `the ${request.model} model`, 'model');
  const shape = SHAPES[request.model];

  refuseNonDefault(request.interval, spec.interval, 'interval', request.model);
  if (request.image_prompt !== undefined && !shape.imagePrompt) {
    throw new UnsupportedByProvider('fal', `image_prompt with ${request.model}`, 'image_prompt');
  }

  const quality = request.output_quality;
  const nativeJpeg = request.output_format === 'jpg' && (quality === undefined || quality === FIELD_RANGES.output_quality.default);
  const input: FalInput = {
    prompt: request.prompt,
    seed: request.seed,
    num_images: 1,
    output_format: nativeJpeg ? 'jpeg' : 'png',
  };

  if (shape.size === 'pixels') {
    input.image_size = { width: request.width, height: request.height };
  } else {
    if (!FAL_ULTRA_ASPECT_RATIOS.includes(request.aspect_ratio)) {
      throw new UnsupportedByProvider('fal', `aspect_ratio ${request.aspect_ratio} with ${request.model}`, 'aspect_ratio');
    }
    input.aspect_ratio = request.aspect_ratio;
  }
  if (request.image_prompt !== undefined) input.image_url = request.image_prompt;
  if (request.steps !== undefined) input.num_inference_steps = request.steps;
  if (request.guidance !== undefined) input.guidance_scale = request.guidance;
  if (request.safety_tolerance !== undefined) input.safety_tolerance = String(request.safety_tolerance);
  if (request.prompt_upsampling !== undefined) input.enhance_prompt = request.prompt_upsampling;

  return { modelId, input, quality };
}

function refuseNonDefault(value: number | undefined, range: NumberRange | undefined, field: string, model: ModelId): void {
  if (value === undefined || value === range?.default) return;
  const what = range ? `${field} other than ${range.default} with ${model}` : `${field} with ${model}`;
  throw new UnsupportedByProvider('fal', what, field);
}
