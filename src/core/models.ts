/**
 * The model catalogue: which request fields each FLUX model accepts, with its ranges and defaults, the pixel size
 * each aspect ratio yields, and each provider's name for the model. Providers map parameters in their own folder
 * (`providers/<name>/params.ts`) from the resolved request; this file is the single source of what is allowed.
 */
export const MODEL_IDS = ['flux-pro', 'flux-1.1-pro', 'flux-1.1-pro-ultra', 'flux-dev', 'flux-schnell'] as const;
export type ModelId = (typeof MODEL_IDS)[number];

export const ASPECT_RATIOS = ['custom', '1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

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
  | 'output_quality';

export interface ModelSpec {
  id: ModelId;
  label: string;
  aspectRatios: readonly AspectRatio[];
  defaultAspectRatio: AspectRatio;
  steps?: NumberRange;
  guidance?: NumberRange;
  interval?: NumberRange;
  safetyTolerance?: NumberRange;
  /** Custom width/height (with aspect_ratio `custom`). */
  customSize?: { min: number; max: number; multiple: number };
  imagePrompt: boolean;
  promptUpsampling: boolean;
  outputQuality: boolean;
  /** Each provider's identifier for this model; a provider missing here refuses the model. */
  providerIds: Partial<Record<ProviderName, string>>;
}

/** Global ranges: the widest any model accepts. Per-model ranges are checked after model resolution. */
export const FIELD_RANGES = {
  width: { min: 256, max: 1440, default: 1024, integer: true },
  height: { min: 256, max: 1440, default: 1024, integer: true },
  steps: { min: 1, max: 50, default: 25, integer: true },
  guidance: { min: 0, max: 10, default: 3, integer: false },
  interval: { min: 1, max: 4, default: 2, integer: false },
  safety_tolerance: { min: 1, max: 6, default: 2, integer: true },
  output_quality: { min: 0, max: 100, default: 80, integer: true },
  seed: { min: 0, max: 2_147_483_647, default: 0, integer: true },
} as const satisfies Record<string, NumberRange>;

const PRO_RATIOS: readonly AspectRatio[] = ['custom', '1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '9:16', '3:4', '4:3'];
const WIDE_RATIOS: readonly AspectRatio[] = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];
const SAFETY: NumberRange = { min: 1, max: 6, default: 2, integer: true };
const CUSTOM_SIZE = { min: 256, max: 1440, multiple: 32 };

export const MODELS: Record<ModelId, ModelSpec> = {
  'flux-pro': {
    id: 'flux-pro',
    label: 'FLUX.1 [pro]',
    aspectRatios: PRO_RATIOS,
    defaultAspectRatio: '1:1',
    steps: { min: 1, max: 50, default: 25, integer: true },
    guidance: { min: 2, max: 5, default: 3, integer: false },
    interval: { min: 1, max: 4, default: 2, integer: false },
    safetyTolerance: SAFETY,
    customSize: CUSTOM_SIZE,
    imagePrompt: true,
    promptUpsampling: true,
    outputQuality: true,
    providerIds: {
      replicate: 'black-forest-labs/flux-pro',
      fal: 'fal-ai/flux-pro/new',
      bfl: 'flux-pro',
      cog: 'flux-pro',
      preview: 'flux-pro',
    },
  },
  'flux-1.1-pro': {
    id: 'flux-1.1-pro',
    label: 'FLUX1.1 [pro]',
    aspectRatios: PRO_RATIOS,
    defaultAspectRatio: '1:1',
    safetyTolerance: SAFETY,
    customSize: CUSTOM_SIZE,
    imagePrompt: true,
    promptUpsampling: true,
    outputQuality: true,
    providerIds: {
      replicate: 'black-forest-labs/flux-1.1-pro',
      fal: 'fal-ai/flux-pro/v1.1',
      bfl: 'flux-pro-1.1',
      cog: 'flux-1.1-pro',
      preview: 'flux-1.1-pro',
    },
  },
  'flux-1.1-pro-ultra': {
    id: 'flux-1.1-pro-ultra',
    label: 'FLUX1.1 [pro] ultra',
    aspectRatios: WIDE_RATIOS,
    defaultAspectRatio: '16:9',
    safetyTolerance: SAFETY,
    imagePrompt: true,
    promptUpsampling: false,
    outputQuality: false,
    providerIds: {
      replicate: 'black-forest-labs/flux-1.1-pro-ultra',
      fal: 'fal-ai/flux-pro/v1.1-ultra',
      bfl: 'flux-pro-1.1-ultra',
      cog: 'flux-1.1-pro-ultra',
      preview: 'flux-1.1-pro-ultra',
    },
  },
  'flux-dev': {
    id: 'flux-dev',
    label: 'FLUX.1 [dev]',
    aspectRatios: WIDE_RATIOS,
    defaultAspectRatio: '1:1',
    steps: { min: 1, max: 50, default: 28, integer: true },
    guidance: { min: 0, max: 10, default: 3, integer: false },
    imagePrompt: false,
    promptUpsampling: false,
    outputQuality: true,
    providerIds: {
      replicate: 'black-forest-labs/flux-dev',
      fal: 'fal-ai/flux/dev',
      bfl: 'flux-dev',
      cog: 'flux-dev',
      preview: 'flux-dev',
    },
  },
  'flux-schnell': {
    id: 'flux-schnell',
    label: 'FLUX.1 [schnell]',
    aspectRatios: WIDE_RATIOS,
    defaultAspectRatio: '1:1',
    steps: { min: 1, max: 4, default: 4, integer: true },
    imagePrompt: false,
    promptUpsampling: false,
    outputQuality: true,
    providerIds: {
      replicate: 'black-forest-labs/flux-schnell',
      fal: 'fal-ai/flux/schnell',
      cog: 'flux-schnell',
      preview: 'flux-schnell',
    },
  },
};

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

/** Ultra renders ~4 megapixels; sizes follow the ratio at 2048² pixels, rounded to 32 as the API does. */
function ultraSize(ratio: Exclude<AspectRatio, 'custom'>): [number, number] {
  const [a, b] = ratio.split(':').map(Number) as [number, number];
  const area = 2048 * 2048;
  const width = roundTo(Math.sqrt((area * a) / b), 32);
  const height = roundTo(Math.sqrt((area * b) / a), 32);
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
  const [width, height] = model === 'flux-1.1-pro-ultra' ? ultraSize(aspectRatio) : MEGAPIXEL_SIZES[aspectRatio];
  return { width, height };
}

export function isModelId(value: string): value is ModelId {
  return (MODEL_IDS as readonly string[]).includes(value);
}
