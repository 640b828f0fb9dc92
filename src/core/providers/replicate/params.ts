import { UnsupportedByProvider } from '../../errors.js';
import { CATALOGUE, TUNABLE_FIELDS, type TunableField } from '../../catalogue/index.js';
import type { OutputFormat, ProviderName } from '../../models.js';
import type { FluxRequest } from '../../request.js';
import { acceptedImages, placeImages } from '../images-mapping.js';

/**
 * Maps a resolved FluxRequest to the `input` of Replicate's official FLUX models (and of the Cog containers that serve
 * them, which take the same inputs). Pure: no I/O. What each model's schema accepts, under which name, is data in the
 * catalogue entry's `providers.replicate`; this file only applies it.
 */

/** The `input` object sent to Replicate (a list only for reference images, e.g. `input_images`). */
export type ReplicateInput = Record<string, string | number | boolean | string[]>;

export interface ReplicateParams {
  /** The official model, `owner/name` (Replicate) or the container's model name (Cog). */
  model: string;
  input: ReplicateInput;
  /** The model cannot output the requested format: it is asked for png and the result converted to this one. */
  convertTo?: OutputFormat;
}

/** How a refusal names a field in its message. */
const DESCRIBED: Partial<Record<TunableField, string>> = { image_prompt: 'an image prompt' };

/**
 * Builds the model and `input` for a request. Throws UnsupportedByProvider (naming the field) when the model's schema
 * cannot express a field the request carries; a field is never dropped silently. The seed is always sent so the
 * result is reproducible and a reroll really changes it.
 */
export function toReplicateParams(request: FluxRequest, provider: ProviderName = 'replicate'): ReplicateParams {
  const providers = CATALOGUE[request.model].providers;
  const modelId = provider === 'replicate' ? providers.replicate?.id : provider === 'cog' ? providers.cog?.id : undefined;
  // Cog containers are built from Replicate's models and take the same input.
  const spec = providers.replicate;
  if (modelId === undefined || spec === undefined) throw new UnsupportedByProvider(provider, `the model ${request.model}`, 'model');
  function refuse(field: string, what = field): never {
    throw new UnsupportedByProvider(provider, `${what} with ${request.model}`, field);
  }

  if (!spec.aspectRatios.includes(request.aspect_ratio)) {
    if (request.aspect_ratio === 'custom') refuse('width', 'a custom width and height');
    refuse('aspect_ratio', `aspect ratio ${request.aspect_ratio}`);
  }

  // Reference images go as the request carries them (links or data: URIs, in order); the adapter has already made
  // them inline where this provider must not be handed a link.
  const images = acceptedImages(provider, request, spec.images);
  const input: ReplicateInput = { prompt: request.prompt };
  if (images) Object.assign(input, placeImages(spec.images!, images));
  input.aspect_ratio = request.aspect_ratio;
  // Width and height only mean something with `custom`; otherwise the model derives them from the ratio.
  if (request.aspect_ratio === 'custom') {
    input.width = request.width;
    input.height = request.height;
  }
  // TUNABLE_FIELDS is in the order Replicate's schemas list them, which keeps logged inputs easy to compare.
  for (const field of TUNABLE_FIELDS) {
    const value = request[field];
    if (value === undefined) continue;
    const mapping = spec.fields[field];
    if (mapping === undefined) refuse(field, DESCRIBED[field]);
    const range = mapping.range;
    if (range && typeof value === 'number' && (value < range.min || value > range.max)) {
      refuse(field, `${field} ${value} (the model accepts ${range.min} to ${range.max})`);
    }
    input[mapping.name] = mapping.convert === 'string' ? String(value) : value;
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
