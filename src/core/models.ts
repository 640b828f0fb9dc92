import { CATALOGUE, type CatalogueEntry } from './catalogue/index.js';

/**
 * Model identifiers, shared vocabularies and the derived `MODELS` view. The models themselves are data in
 * `catalogue/` (one entry per model: fields, ranges, sizes and each provider's mapping); provider adapters read those
 * entries, and this file answers what the request parser needs: which fields a model accepts and the size it renders.
 */
export const MODEL_IDS = [
  'flux-2-pro',
  'flux-2-max',
  'flux-2-flex',
  'flux-2-dev',
  'flux-2-klein-4b',
  'flux-2-klein-9b',
  'flux-kontext-pro',
  'flux-kontext-max',
  'flux-pro',
  'flux-1.1-pro',
  'flux-1.1-pro-ultra',
  'flux-dev',
  'flux-schnell',
] as const;
/** The model used when a request names none and `FLUX_MODEL` is unset. */
export const DEFAULT_MODEL: ModelId = 'flux-2-pro';
export type ModelId = (typeof MODEL_IDS)[number];

export const ASPECT_RATIOS = ['custom', '1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
/**
 * What a person may ask for: the ratios, or `match_input_image` (the shape of the first reference image, for models
 * that take images; the default when images are given and no ratio or size is).
 */
export const INPUT_ASPECT_RATIOS = [...ASPECT_RATIOS, 'match_input_image'] as const;
export type InputAspectRatio = (typeof INPUT_ASPECT_RATIOS)[number];

export const OUTPUT_FORMATS = ['webp', 'jpg', 'png'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const PROVIDER_NAMES = ['replicate', 'fal', 'bfl', 'cog', 'preview'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface NumberRange {
  min: number;
  max: number;
  default: number;
  integer: boolean;
}

/** Fields that only some models accept. `prompt`, `seed` and `output_format` are accepted by every model. */
export type OptionalField =
  | 'image_prompt'
  | 'width'
  | 'height'
  | 'steps'
  | 'guidance'
  | 'interval'
  | 'safety_tolerance'
  | 'prompt_upsampling'
  | 'output_quality'
  | 'raw'
  | 'image_prompt_strength'
  | 'images';

/** A model as the request parser and the chat adapters see it (its catalogue entry minus provider mappings). */
export interface ModelSpec extends Omit<CatalogueEntry, 'providers'> {
  id: ModelId;
  /** Each provider's identifier for this model; a provider missing here refuses the model. */
  providerIds: Partial<Record<ProviderName, string>>;
}

/** Global ranges: the widest any model accepts. Per-model ranges are checked after model resolution. */
export const FIELD_RANGES = {
  width: { min: 256, max: 2048, default: 1024, integer: true },
  height: { min: 256, max: 2048, default: 1024, integer: true },
  steps: { min: 1, max: 50, default: 25, integer: true },
  guidance: { min: 0, max: 10, default: 3, integer: false },
  interval: { min: 1, max: 4, default: 2, integer: false },
  safety_tolerance: { min: 1, max: 6, default: 2, integer: true },
  output_quality: { min: 0, max: 100, default: 80, integer: true },
  image_prompt_strength: { min: 0, max: 1, default: 0.1, integer: false },
  seed: { min: 0, max: 2_147_483_647, default: 0, integer: true },
} as const satisfies Record<string, NumberRange>;

/**
 * What the rest of the bot reads about a model, derived from its catalogue entry: the entry without the provider
 * mappings, plus each provider's identifier for it.
 */
function toSpec(id: ModelId, entry: CatalogueEntry): ModelSpec {
  const { providers, ...fields } = entry;
  const providerIds: Partial<Record<ProviderName, string>> = {};
  if (providers.replicate) providerIds.replicate = providers.replicate.id;
  if (providers.fal) providerIds.fal = providers.fal.endpoint;
  if (providers.bfl) providerIds.bfl = providers.bfl.endpoint;
  if (providers.cog) providerIds.cog = providers.cog.id;
  if (providers.preview) providerIds.preview = providers.preview.id;
  return { id, ...fields, providerIds };
}

/** Every model as the request parser and the chat adapters read it, derived from `CATALOGUE`. */
export const MODELS = Object.fromEntries(MODEL_IDS.map((id) => [id, toSpec(id, CATALOGUE[id])])) as Record<ModelId, ModelSpec>;

/** Pixel sizes of the ~1 megapixel models (Replicate's and BFL's tables; reverses derived). */
const MEGAPIXEL_SIZES: Record<Exclude<AspectRatio, 'custom'>, [number, number]> = {
  '1:1': [1024, 1024],
  '16:9': [1344, 768],
  '9:16': [768, 1344],
  '21:9': [1536, 640],
  '9:21': [640, 1536],
  '3:2': [1216, 832],
  '2:3': [832, 1216],
  '4:5': [896, 1088],
  '5:4': [1088, 896],
  '3:4': [896, 1152],
  '4:3': [1152, 896],
};

/** A size from a ratio at a pixel area (ultra: ~4 MP), each side rounded to `step` as the API does. */
function areaSize(ratio: Exclude<AspectRatio, 'custom'>, area: number, step: number): [number, number] {
  const [a, b] = ratio.split(':').map(Number) as [number, number];
  const width = roundTo(Math.sqrt((area * a) / b), step);
  const height = roundTo(Math.sqrt((area * b) / a), step);
  return [width, height];
}

export function roundTo(value: number, multiple: number): number {
  return Math.round(value / multiple) * multiple;
}

/** The pixel size a model renders for an aspect ratio (or the custom size, already rounded). */
export function pixelSize(
  model: ModelId,
  aspectRatio: AspectRatio,
  custom?: { width: number; height: number },
): { width: number; height: number } {
  if (aspectRatio === 'custom') {
    if (!custom) throw new Error('custom aspect ratio needs width and height');
    return custom;
  }
  const rule = MODELS[model].sizes;
  const [width, height] = rule.kind === 'area' ? areaSize(aspectRatio, rule.area, rule.step) : MEGAPIXEL_SIZES[aspectRatio];
  return { width, height };
}

export function isModelId(value: string): value is ModelId {
  return (MODEL_IDS as readonly string[]).includes(value);
}
