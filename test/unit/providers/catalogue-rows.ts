import type { AspectRatio, ModelId, OutputFormat } from '../../../src/core/models.js';
import type { TunableField } from '../../../src/core/catalogue/index.js';

/**
 * The expected mapping of every model on every provider, written out by hand so the generated test in
 * catalogue-mapping.test.ts checks the catalogue against an independent statement. Adding a model is one catalogue
 * entry plus one row per provider here.
 */

/** The adapters whose parameter mapping is checked. */
export const MAPPED_PROVIDERS = ['replicate', 'cog', 'fal', 'bfl'] as const;
export type MappedProvider = (typeof MAPPED_PROVIDERS)[number];

/**
 * How the provider receives a field the model accepts: its name (value sent as is), `[name, value]` (the converted
 * value for the test value), `quality` (no input: applied by our re-encoding) or `null` (refused, naming the field).
 */
export type FieldRow = string | [string, unknown] | 'quality' | null;

/**
 * How the provider receives reference images: `shape` and field name `as` (a list in `as`; `as`, `as_2` …; or `as`
 * alone), at most `max`, and `id` when images send the call elsewhere (fal's `/edit`), with `numImages` when that
 * endpoint makes a gallery in one call (see Row). `null`: the provider serves the model but takes no images (refused,
 * naming `images`).
 */
export type ImagesRow = { shape: 'array' | 'numbered' | 'single'; as: string; max: number; id?: string; numImages?: true } | null;

export interface Row {
  /** Model id or endpoint; `null`: the provider does not serve the model (refused, naming `model`). */
  id: string | null;
  /** `ratio`: aspect_ratio only (width/height too with custom); `pixels`: width/height; `image_size`: fal's object. */
  size?: 'ratio' | 'pixels' | 'image_size' | 'fal_ratio';
  /** Aspect ratios the model has but the provider refuses (naming `aspect_ratio`). */
  refusedRatios?: readonly AspectRatio[];
  /** Every field the model accepts. */
  fields?: Partial<Record<TunableField, FieldRow>>;
  /** Requested format → the format asked of the provider. */
  formats?: Record<OutputFormat, string>;
  /** Fields sent with a fixed value whatever the request. */
  fixed?: Record<string, unknown>;
  /** Values the model accepts but the provider's range does not: refused, naming the field. */
  outOfRange?: Partial<Record<TunableField, number>>;
  /** For models that take reference images. */
  images?: ImagesRow;
  /**
   * fal: the endpoint makes a gallery (`count` 2–4) in one call, sent as `num_images`; absent, a gallery is made one
   * call per image (the adapter refuses a count there as a programming error).
   */
  numImages?: true;
}

const SAME = { webp: 'webp', jpg: 'jpg', png: 'png' } as const;
const JPEG_OR_PNG = { webp: 'png', jpg: 'jpeg', png: 'png' } as const;

const REPLICATE_FLUX_2 = { size: 'ratio', formats: SAME } as const;
const REPLICATE_KONTEXT = {
  size: 'ratio',
  fields: { safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling' },
  formats: { webp: 'png', jpg: 'jpg', png: 'png' },
  images: { shape: 'single', as: 'input_image', max: 1 },
} as const;

const REPLICATE: Record<ModelId, Row> = {
  'flux-2-pro': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-pro',
    fields: { safety_tolerance: 'safety_tolerance', output_quality: 'output_quality' },
    images: { shape: 'array', as: 'input_images', max: 8 },
  },
  'flux-2-max': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-max',
    fields: { safety_tolerance: 'safety_tolerance', output_quality: 'output_quality' },
    images: { shape: 'array', as: 'input_images', max: 8 },
  },
  'flux-2-flex': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-flex',
    fields: { steps: 'steps', guidance: 'guidance', safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling', output_quality: 'output_quality' },
    images: { shape: 'array', as: 'input_images', max: 10 },
  },
  'flux-2-dev': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-dev',
    fields: { output_quality: 'output_quality' },
    images: { shape: 'array', as: 'input_images', max: 4 },
  },
  'flux-2-klein-4b': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-klein-4b',
    fields: { output_quality: 'output_quality' },
    images: { shape: 'array', as: 'images', max: 5 },
  },
  'flux-2-klein-9b': {
    ...REPLICATE_FLUX_2,
    id: 'black-forest-labs/flux-2-klein-9b-base',
    fields: { output_quality: 'output_quality' },
    images: { shape: 'array', as: 'images', max: 5 },
  },
  'flux-kontext-pro': { ...REPLICATE_KONTEXT, id: 'black-forest-labs/flux-kontext-pro' },
  'flux-kontext-max': { ...REPLICATE_KONTEXT, id: 'black-forest-labs/flux-kontext-max' },
  'flux-pro': {
    id: 'black-forest-labs/flux-pro',
    size: 'ratio',
    fields: {
      image_prompt: 'image_prompt',
      steps: 'steps',
      guidance: 'guidance',
      interval: 'interval',
      safety_tolerance: 'safety_tolerance',
      prompt_upsampling: 'prompt_upsampling',
      output_quality: 'output_quality',
    },
    formats: SAME,
  },
  'flux-1.1-pro': {
    id: 'black-forest-labs/flux-1.1-pro',
    size: 'ratio',
    fields: { image_prompt: 'image_prompt', safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling', output_quality: 'output_quality' },
    formats: SAME,
  },
  'flux-1.1-pro-ultra': {
    id: 'black-forest-labs/flux-1.1-pro-ultra',
    size: 'ratio',
    fields: { image_prompt: 'image_prompt', safety_tolerance: 'safety_tolerance', raw: 'raw', image_prompt_strength: 'image_prompt_strength' },
    formats: { webp: 'png', jpg: 'jpg', png: 'png' },
  },
  'flux-dev': {
    id: 'black-forest-labs/flux-dev',
    size: 'ratio',
    fields: { steps: 'num_inference_steps', guidance: 'guidance', output_quality: 'output_quality' },
    formats: SAME,
    fixed: { num_outputs: 1 },
  },
  'flux-schnell': {
    id: 'black-forest-labs/flux-schnell',
    size: 'ratio',
    fields: { steps: 'num_inference_steps', output_quality: 'output_quality' },
    formats: SAME,
    fixed: { num_outputs: 1 },
  },
};

/** Cog containers take Replicate's input under the container's model name; `null`: no open weights to serve. */
const COG_IDS: Record<ModelId, string | null> = {
  'flux-2-pro': null,
  'flux-2-max': null,
  'flux-2-flex': null,
  'flux-2-dev': 'flux-2-dev',
  'flux-2-klein-4b': 'flux-2-klein-4b',
  'flux-2-klein-9b': 'flux-2-klein-9b',
  'flux-kontext-pro': null,
  'flux-kontext-max': null,
  'flux-pro': 'flux-pro',
  'flux-1.1-pro': 'flux-1.1-pro',
  'flux-1.1-pro-ultra': 'flux-1.1-pro-ultra',
  'flux-dev': 'flux-dev',
  'flux-schnell': 'flux-schnell',
};

const FAL_SAFETY: FieldRow = ['safety_tolerance', '1'];
const FAL_KONTEXT = {
  numImages: true,
  size: 'fal_ratio',
  refusedRatios: ['4:5', '5:4'],
  fields: { safety_tolerance: FAL_SAFETY, prompt_upsampling: 'enhance_prompt' },
  formats: JPEG_OR_PNG,
  images: { shape: 'single', as: 'image_url', max: 1 },
} as const;

const FAL: Record<ModelId, Row> = {
  'flux-2-pro': {
    id: 'fal-ai/flux-2-pro',
    size: 'image_size',
    fields: { safety_tolerance: FAL_SAFETY, output_quality: 'quality' },
    formats: JPEG_OR_PNG,
    images: { shape: 'array', as: 'image_urls', max: 8, id: 'fal-ai/flux-2-pro/edit' },
  },
  'flux-2-max': {
    id: 'fal-ai/flux-2-max',
    size: 'image_size',
    fields: { safety_tolerance: FAL_SAFETY, output_quality: 'quality' },
    formats: JPEG_OR_PNG,
    images: { shape: 'array', as: 'image_urls', max: 8, id: 'fal-ai/flux-2-max/edit' },
  },
  'flux-2-flex': {
    id: 'fal-ai/flux-2-flex',
    size: 'image_size',
    fields: {
      steps: 'num_inference_steps',
      guidance: 'guidance_scale',
      safety_tolerance: FAL_SAFETY,
      prompt_upsampling: 'enable_prompt_expansion',
      output_quality: 'quality',
    },
    formats: JPEG_OR_PNG,
    images: { shape: 'array', as: 'image_urls', max: 10, id: 'fal-ai/flux-2-flex/edit' },
  },
  'flux-2-dev': { id: null },
  'flux-2-klein-4b': { id: 'fal-ai/flux-2/klein/4b', numImages: true, size: 'image_size', fields: { output_quality: 'quality' }, formats: JPEG_OR_PNG, images: null },
  'flux-2-klein-9b': { id: null },
  'flux-kontext-pro': { ...FAL_KONTEXT, id: 'fal-ai/flux-pro/kontext' },
  'flux-kontext-max': { ...FAL_KONTEXT, id: 'fal-ai/flux-pro/kontext/max' },
  'flux-pro': {
    id: 'fal-ai/flux-pro/new',
    numImages: true,
    size: 'image_size',
    fields: {
      image_prompt: null,
      steps: 'num_inference_steps',
      guidance: 'guidance_scale',
      interval: null,
      safety_tolerance: FAL_SAFETY,
      prompt_upsampling: 'enhance_prompt',
      output_quality: 'quality',
    },
    formats: JPEG_OR_PNG,
  },
  'flux-1.1-pro': {
    id: 'fal-ai/flux-pro/v1.1',
    numImages: true,
    size: 'image_size',
    fields: { image_prompt: null, safety_tolerance: FAL_SAFETY, prompt_upsampling: 'enhance_prompt', output_quality: 'quality' },
    formats: JPEG_OR_PNG,
  },
  'flux-1.1-pro-ultra': {
    id: 'fal-ai/flux-pro/v1.1-ultra',
    numImages: true,
    size: 'fal_ratio',
    refusedRatios: ['4:5', '5:4'],
    fields: { image_prompt: 'image_url', safety_tolerance: FAL_SAFETY, raw: 'raw', image_prompt_strength: 'image_prompt_strength' },
    formats: JPEG_OR_PNG,
  },
  'flux-dev': {
    id: 'fal-ai/flux/dev',
    numImages: true,
    size: 'image_size',
    fields: { steps: 'num_inference_steps', guidance: 'guidance_scale', output_quality: 'quality' },
    formats: JPEG_OR_PNG,
  },
  'flux-schnell': {
    id: 'fal-ai/flux/schnell',
    numImages: true,
    size: 'image_size',
    fields: { steps: 'num_inference_steps', output_quality: 'quality' },
    formats: JPEG_OR_PNG,
  },
};

const BFL_FLUX_2 = { size: 'pixels', formats: JPEG_OR_PNG } as const;
const BFL_KONTEXT = {
  size: 'ratio',
  fields: { safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling' },
  formats: JPEG_OR_PNG,
  images: { shape: 'numbered', as: 'input_image', max: 4 },
} as const;

const BFL: Record<ModelId, Row> = {
  'flux-2-pro': {
    ...BFL_FLUX_2,
    id: 'flux-2-pro',
    fields: { safety_tolerance: 'safety_tolerance', output_quality: 'quality' },
    images: { shape: 'numbered', as: 'input_image', max: 8 },
  },
  'flux-2-max': {
    ...BFL_FLUX_2,
    id: 'flux-2-max',
    fields: { safety_tolerance: 'safety_tolerance', output_quality: 'quality' },
    images: { shape: 'numbered', as: 'input_image', max: 8 },
  },
  'flux-2-flex': {
    ...BFL_FLUX_2,
    id: 'flux-2-flex',
    fields: { steps: 'steps', guidance: 'guidance', safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling', output_quality: 'quality' },
    // Flex takes ten references; BFL eight.
    images: { shape: 'numbered', as: 'input_image', max: 8 },
  },
  'flux-2-dev': { id: null },
  'flux-2-klein-4b': { ...BFL_FLUX_2, id: 'flux-2-klein-4b', fields: { output_quality: 'quality' }, images: { shape: 'numbered', as: 'input_image', max: 4 } },
  'flux-2-klein-9b': { ...BFL_FLUX_2, id: 'flux-2-klein-9b', fields: { output_quality: 'quality' }, images: { shape: 'numbered', as: 'input_image', max: 4 } },
  'flux-kontext-pro': { ...BFL_KONTEXT, id: 'flux-kontext-pro' },
  'flux-kontext-max': { ...BFL_KONTEXT, id: 'flux-kontext-max' },
  'flux-pro': {
    id: 'flux-pro',
    size: 'pixels',
    fields: {
      image_prompt: 'image_prompt',
      steps: 'steps',
      guidance: 'guidance',
      interval: 'interval',
      safety_tolerance: 'safety_tolerance',
      prompt_upsampling: 'prompt_upsampling',
      output_quality: 'quality',
    },
    formats: JPEG_OR_PNG,
  },
  'flux-1.1-pro': {
    id: 'flux-pro-1.1',
    size: 'pixels',
    fields: { image_prompt: 'image_prompt', safety_tolerance: 'safety_tolerance', prompt_upsampling: 'prompt_upsampling', output_quality: 'quality' },
    formats: JPEG_OR_PNG,
  },
  'flux-1.1-pro-ultra': {
    id: 'flux-pro-1.1-ultra',
    size: 'ratio',
    fields: { image_prompt: 'image_prompt', safety_tolerance: 'safety_tolerance', raw: 'raw', image_prompt_strength: 'image_prompt_strength' },
    formats: JPEG_OR_PNG,
    // Sent as false when the request leaves raw unset.
    fixed: { raw: false },
  },
  'flux-dev': {
    id: 'flux-dev',
    size: 'pixels',
    // 21:9 and 9:21 are 1536 px long; BFL renders at most 1440.
    refusedRatios: ['21:9', '9:21'],
    fields: { steps: 'steps', guidance: 'guidance', output_quality: 'quality' },
    formats: JPEG_OR_PNG,
    outOfRange: { guidance: 7 },
  },
  'flux-schnell': { id: null },
};

/** The expected row for every model × provider pair. */
export const ROWS: Record<MappedProvider, Record<ModelId, Row>> = {
  replicate: REPLICATE,
  cog: Object.fromEntries(Object.entries(REPLICATE).map(([model, row]) => [model, { ...row, id: COG_IDS[model as ModelId] }])) as Record<ModelId, Row>,
  fal: FAL,
  bfl: BFL,
};
