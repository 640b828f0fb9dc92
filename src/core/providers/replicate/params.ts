import { UnsupportedByProvider } from '../../errors.js';
import { MODELS, type AspectRatio, type ModelId, type OutputFormat, type ProviderName } from '../../models.js';
import type { FluxRequest } from '../../request.js';

/**
 * Maps a resolved FluxRequest to the `input` of Replicate's official FLUX models (and of the Cog containers that serve
 * them, which take the same inputs). Pure: no I/O, unit tested per model.
 *
 * The models' input schemas differ: flux-pro takes every field; flux-1.1-pro drops steps/guidance/interval;
 * flux-1.1-pro-ultra has no custom size, no prompt upsampling, no output quality and only jpg/png; flux-dev and
 * flux-schnell name steps `num_inference_steps`, take no image prompt or safety tolerance, and return an array.
 */

/** The `input` object sent to Replicate. */
export type ReplicateInput = Record<string, string | number | boolean>;

export interface ReplicateParams {
  /** The official model, `owner/name` (Replicate) or the container's model name (Cog). */
  model: string;
  input: ReplicateInput;
  /** The model cannot output the requested format: it is asked for png and the result converted to this one. */
  convertTo?: OutputFormat;
}

/** What one Replicate model's input schema accepts. */
interface ModelInputs {
  aspectRatios: readonly AspectRatio[];
  formats: readonly OutputFormat[];
  /** The schema's name for the step count, when it has one. */
  stepsKey?: 'steps' | 'num_inference_steps';
  guidance: boolean;
  interval: boolean;
  safetyTolerance: boolean;
  imagePrompt: boolean;
  promptUpsampling: boolean;
  outputQuality: boolean;
  /** dev/schnell can render several images per prediction; we always ask for one. */
  numOutputs: boolean;
}

const PRO_RATIOS: readonly AspectRatio[] = ['custom', '1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '9:16', '3:4', '4:3'];
const WIDE_RATIOS: readonly AspectRatio[] = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];
const ALL_FORMATS: readonly OutputFormat[] = ['webp', 'jpg', 'png'];

const PRO_BASE = {
  aspectRatios: PRO_RATIOS,
  formats: ALL_FORMATS,
  safetyTolerance: true,
  imagePrompt: true,
  promptUpsampling: true,
  outputQuality: true,
  numOutputs: false,
} as const;

/** Replicate's schemas, per model (from the models' API pages on replicate.com). */
export const REPLICATE_INPUTS: Record<ModelId, ModelInputs> = {
  'flux-pro': { ...PRO_BASE, stepsKey: 'steps', guidance: true, interval: true },
  'flux-1.1-pro': { ...PRO_BASE, guidance: false, interval: false },
  'flux-1.1-pro-ultra': {
    aspectRatios: WIDE_RATIOS,
    formats: ['jpg', 'png'],
    guidance: false,
    interval: false,
    safetyTolerance: true,
    imagePrompt: true,
    promptUpsampling: false,
    outputQuality: false,
    numOutputs: false,
  },
  'flux-dev': {
    aspectRatios: WIDE_RATIOS,
    formats: ALL_FORMATS,
    stepsKey: 'num_inference_steps',
    guidance: true,
    interval: false,
    safetyTolerance: false,
    imagePrompt: false,
    promptUpsampling: false,
    outputQuality: true,
    numOutputs: true,
  },
  'flux-schnell': {
    aspectRatios: WIDE_RATIOS,
    formats: ALL_FORMATS,
    stepsKey: 'num_inference_steps',
    guidance: false,
    interval: false,
    safetyTolerance: false,
    imagePrompt: false,
    promptUpsampling: false,
    outputQuality: true,
    numOutputs: true,
  },
};

/**
 * Builds the model and `input` for a request. Throws UnsupportedByProvider (naming the field) when the model's schema
 * cannot express a field the request carries; a field is never dropped silently. The seed is always sent so the
 * result is reproducible and a reroll really changes it.
 */
export function toReplicateParams(request: FluxRequest, provider: ProviderName = 'replicate'): ReplicateParams {
  const modelId = MODELS[request.model].providerIds[provider];
  if (modelId === undefined) throw new UnsupportedByProvider(provider, `the model ${request.model}`, 'model');
  const spec = REPLICATE_INPUTS[request.model];
  function refuse(field: string, what = field): never {
    throw new UnsupportedByProvider(provider, `${what} with ${request.model}`, field);
  }

  if (!spec.aspectRatios.includes(request.aspect_ratio)) {
    if (request.aspect_ratio === 'custom') refuse('width', 'a custom width and height');
    refuse('aspect_ratio', `aspect ratio ${request.aspect_ratio}`);
  }

  const input: ReplicateInput = { prompt: request.prompt, aspect_ratio: request.aspect_ratio };
  // Width and height only mean something with `custom`; otherwise the model derives them from the ratio.
  if (request.aspect_ratio === 'custom') {
    input.width = request.width;
    input.height = request.height;
  }
  if (request.image_prompt !== undefined) {
    if (!spec.imagePrompt) refuse('image_prompt', 'an image prompt');
    input.image_prompt = request.image_prompt;
  }
  if (request.steps !== undefined) {
    if (spec.stepsKey === undefined) refuse('steps');
    input[spec.stepsKey] = request.steps;
  }
  const optional = [
    ['guidance', spec.guidance],
    ['interval', spec.interval],
    ['safety_tolerance', spec.safetyTolerance],
    ['prompt_upsampling', spec.promptUpsampling],
    ['output_quality', spec.outputQuality],
  ] as const;
  for (const [field, supported] of optional) {
    const value = request[field];
    if (value === undefined) continue;
    if (!supported) refuse(field);
    input[field] = value;
  }
  input.seed = request.seed;

  let convertTo: OutputFormat | undefined;
  if (spec.formats.includes(request.output_format)) {
    input.output_format = request.output_format;
  } else {
    // Ultra has no webp: ask for lossless png and re-encode, so the caller still gets the format it asked for.
    input.output_format = 'png';
    convertTo = request.output_format;
  }
  if (spec.numOutputs) input.num_outputs = 1;

  return convertTo === undefined ? { model: modelId, input } : { model: modelId, input, convertTo };
}
