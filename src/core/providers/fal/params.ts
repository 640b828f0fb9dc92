/*
 * The resolved request → the input of a fal.ai FLUX endpoint. The endpoint, size shape, field names and conversions
 * per model are data in the catalogue (`providers.fal`); this file applies them. Pure: no I/O.
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
 *
 * **Images per call.** A fal FLUX endpoint renders one image unless `num_images` says otherwise. A gallery request
 * (`count` 2–4) sent to an endpoint whose catalogue mapping has `numImages` (the FLUX.1 apps, Kontext, klein) asks
 * `num_images: count`, one call for the whole gallery; otherwise `num_images` is not sent (FLUX.2 pro/max/flex have no
 * such field). A gallery request for an endpoint without it is a programming error, not a refusal: the worker sends
 * the gallery to `generateMany` only when `falMakesMany` says yes, and makes it one image per call (requests without
 * `count`) otherwise.
 *
 * **Reference images.** Placed as the catalogue's `images` mapping says (`image_urls` on FLUX.2's edit variants,
 * `image_url` on Kontext), in order; with images the call goes to the mapping's `endpoint` when it names one.
 */

import { UnsupportedByProvider } from '../../errors.js';
import { CATALOGUE, FAL_ULTRA_RATIOS, TUNABLE_FIELDS, type FalMapping, type TunableField } from '../../catalogue/index.js';
import { FIELD_RANGES, MODELS, type AspectRatio, type ModelId, type ModelSpec, type NumberRange } from '../../models.js';
import { imageCount, type FluxRequest } from '../../request.js';
import { acceptedImages, placeImages } from '../images-mapping.js';

/** A fal model's JSON input, as sent. Optional fields appear only when the request has them. */
export interface FalInput {
  prompt: string;
  /** Exact pixels (every model but ultra). */
  image_size?: { width: number; height: number };
  /** Ultra and Kontext: they take a ratio instead of a size. */
  aspect_ratio?: string;
  /** Ultra's image prompt, or Kontext's reference image (an https link or a data URI; fal accepts both). */
  image_url?: string;
  /** FLUX.2 edit variants: the reference images, in order (links or data URIs). */
  image_urls?: string[];
  num_inference_steps?: number;
  guidance_scale?: number;
  seed: number;
  /** A string in fal's schema, not a number: "1".."6" ("1".."5" on FLUX.2). */
  safety_tolerance?: string;
  output_format: 'jpeg' | 'png';
  enhance_prompt?: boolean;
  /** FLUX.2 [flex]'s prompt upsampling. */
  enable_prompt_expansion?: boolean;
  /** Ultra only. */
  raw?: boolean;
  /** Ultra only, with `image_url`: 0..1. */
  image_prompt_strength?: number;
  /** A gallery in one call (2–4), on endpoints with `numImages` only. */
  num_images?: number;
}

export interface FalCall {
  /** fal's endpoint id, e.g. `fal-ai/flux-pro/v1.1` (`…/edit` with images): the submit path, kept in the checkpoint. */
  modelId: string;
  input: FalInput;
  /** Encoder quality for our own re-encoding to the requested format (undefined: fitImage's default). */
  quality: number | undefined;
}

/** fal's ultra `aspect_ratio` enum: narrower than BFL's (no 4:5 or 5:4). */
export const FAL_ULTRA_ASPECT_RATIOS: readonly AspectRatio[] = FAL_ULTRA_RATIOS;

/**
 * Fields the fal adapter maps through the entry's `providers.fal.fields`, in fal's schema order. `output_quality` is
 * not among them: fal has no such input, and it is honoured by our own re-encoding (see the top of this file).
 */
const MAPPED_FIELDS = TUNABLE_FIELDS.filter((field) => field !== 'output_quality');

/**
 * Whether fal makes this request's `count` images in one call: a gallery (count > 1) whose model fal serves at an
 * endpoint with `num_images`, the endpoint being the one the request is sent to (the `images.endpoint` variant when
 * it carries reference images). Pure and never throws: a request fal refuses for another reason is refused by
 * `toFalCall`.
 */
export function falMakesMany(request: FluxRequest): boolean {
  if (imageCount(request) < 2) return false;
  const mapping = CATALOGUE[request.model].providers.fal;
  return mapping !== undefined && takesNumImages(mapping, request.images !== undefined && request.images.length > 0);
}

/** Whether the endpoint called (the images variant when images are sent and it has one) has `num_images`. */
function takesNumImages(mapping: FalMapping, withImages: boolean): boolean {
  const called = withImages && mapping.images?.endpoint ? mapping.images : mapping;
  return called.numImages === true;
}

/**
 * Maps a resolved request to fal's endpoint and input. Throws UnsupportedByProvider (naming the field) for a model
 * fal lacks or a setting fal cannot express; never drops a setting silently.
 *
 * Which fields fal takes for the model, under which names and conversions, is the entry's `providers.fal`; a field it
 * lacks is refused by the default rule above.
 *
 * A gallery request (`count` > 1) gets `num_images: count` when the called endpoint has it (see {@link falMakesMany});
 * for one without it this throws a plain Error, as the caller should have asked `falMakesMany` first.
 *
 * @param models the catalogue's model view (injectable so tests can describe a model without a fal id).
 */
export function toFalCall(request: FluxRequest, models: Record<ModelId, ModelSpec> = MODELS): FalCall {
  const spec = models[request.model];
  const baseId = spec.providerIds.fal;
  const mapping = CATALOGUE[request.model].providers.fal;
  if (!baseId || !mapping) throw new UnsupportedByProvider('fal', `the ${request.model} model`, 'model');
  const images = acceptedImages('fal', request, mapping.images);
  const modelId = images && mapping.images?.endpoint ? mapping.images.endpoint : baseId;
  const count = imageCount(request);
  if (count > 1 && !takesNumImages(mapping, images !== undefined)) {
    throw new Error(`fal's ${modelId} makes one image per call: a gallery of ${count} must be made one request (without count) per image`);
  }

  // Fields with a model default are checked before those without, so a request fal cannot take names the setting
  // the person changed (e.g. interval) ahead of one fal lacks outright.
  const unmapped = MAPPED_FIELDS.filter((field) => mapping.fields[field] === undefined);
  const ordered = [...unmapped.filter((f) => defaultOf(spec, f)), ...unmapped.filter((f) => !defaultOf(spec, f))];
  for (const field of ordered) refuseNonDefault(request[field], defaultOf(spec, field), field, request.model);

  const quality = request.output_quality;
  const nativeJpeg = request.output_format === 'jpg' && (quality === undefined || quality === FIELD_RANGES.output_quality.default);
  const input: FalInput = {
    prompt: request.prompt,
    seed: request.seed,
    output_format: nativeJpeg ? 'jpeg' : 'png',
  };

  const fields: Record<string, unknown> = images ? placeImages(mapping.images!, images) : {};
  if (mapping.size.kind === 'image_size') {
    fields.image_size = { width: request.width, height: request.height };
  } else {
    if (!mapping.size.ratios.includes(request.aspect_ratio)) {
      throw new UnsupportedByProvider('fal', `aspect_ratio ${request.aspect_ratio} with ${request.model}`, 'aspect_ratio');
    }
    fields.aspect_ratio = request.aspect_ratio;
  }
  for (const field of MAPPED_FIELDS) {
    const value = request[field];
    const to = mapping.fields[field];
    if (value === undefined || to === undefined) continue;
    if (to.range && typeof value === 'number' && (value < to.range.min || value > to.range.max)) {
      throw new UnsupportedByProvider('fal', `${field} ${value} (fal accepts ${to.range.min} to ${to.range.max}) with ${request.model}`, field);
    }
    fields[to.name] = to.convert === 'string' ? String(value) : value;
  }
  Object.assign(input, fields);
  if (count > 1) input.num_images = count;

  return { modelId, input, quality };
}

/** The model's default for a field, or undefined when it has none (then any value is a setting fal must express). */
function defaultOf(spec: ModelSpec, field: TunableField): NumberRange | undefined {
  const ranges: Partial<Record<TunableField, NumberRange | undefined>> = {
    steps: spec.steps,
    guidance: spec.guidance,
    interval: spec.interval,
    safety_tolerance: spec.safetyTolerance,
  };
  return ranges[field];
}

function refuseNonDefault(value: unknown, range: NumberRange | undefined, field: string, model: ModelId): void {
  if (value === undefined || value === range?.default) return;
  const what = range ? `${field} other than ${range.default} with ${model}` : `${field} with ${model}`;
  throw new UnsupportedByProvider('fal', what, field);
}
