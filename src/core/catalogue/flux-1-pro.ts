import { ALL_FORMATS, as, perImage, SELF_HOSTED, BFL_PIXELS, BFL_RANGES, CUSTOM_SIZE, FAL_FIELDS, PRO_RATIOS, SAFETY, WIDE_RATIOS } from './shared.js';
import type { CatalogueEntry } from './types.js';

/** FLUX.1 [pro]: every FLUX.1 field, including steps, guidance and interval. */
export const FLUX_PRO: CatalogueEntry = {
  label: 'FLUX.1 [pro]',
  aspectRatios: PRO_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: { kind: 'megapixel' },
  customSize: CUSTOM_SIZE,
  outputFormats: ALL_FORMATS,
  steps: { min: 1, max: 50, default: 25, integer: true },
  guidance: { min: 2, max: 5, default: 3, integer: false },
  interval: { min: 1, max: 4, default: 2, integer: false },
  safetyTolerance: SAFETY,
  imagePrompt: true,
  promptUpsampling: true,
  outputQuality: true,
  raw: false,
  providers: {
    replicate: {
      id: 'black-forest-labs/flux-pro',
      aspectRatios: PRO_RATIOS,
      formats: ALL_FORMATS,
      fields: {
        image_prompt: as('image_prompt'),
        steps: as('steps'),
        guidance: as('guidance'),
        interval: as('interval'),
        safety_tolerance: as('safety_tolerance'),
        prompt_upsampling: as('prompt_upsampling'),
        output_quality: as('output_quality'),
      },
      numOutputs: false,
      price: perImage(0.055),
    },
    cog: { id: 'flux-pro', price: SELF_HOSTED },
    // fal's flux-pro has no interval or image prompt input.
    fal: { endpoint: 'fal-ai/flux-pro/new', size: { kind: 'image_size' }, fields: FAL_FIELDS, numImages: true, price: perImage(0.05) },
    bfl: {
      endpoint: 'flux-pro',
      price: perImage(0.05),
      size: BFL_PIXELS,
      fields: {
        image_prompt: as('image_prompt'),
        steps: as('steps', { range: BFL_RANGES.steps }),
        guidance: as('guidance', { range: BFL_RANGES.guidance }),
        interval: as('interval', { range: BFL_RANGES.interval }),
        safety_tolerance: as('safety_tolerance', { range: BFL_RANGES.safety_tolerance }),
        prompt_upsampling: as('prompt_upsampling'),
      },
    },
    preview: { id: 'flux-pro', price: SELF_HOSTED },
  },
};

/** FLUX1.1 [pro]: faster, no steps, guidance or interval. */
export const FLUX_1_1_PRO: CatalogueEntry = {
  label: 'FLUX1.1 [pro]',
  aspectRatios: PRO_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: { kind: 'megapixel' },
  customSize: CUSTOM_SIZE,
  outputFormats: ALL_FORMATS,
  safetyTolerance: SAFETY,
  imagePrompt: true,
  promptUpsampling: true,
  outputQuality: true,
  raw: false,
  providers: {
    replicate: {
      id: 'black-forest-labs/flux-1.1-pro',
      aspectRatios: PRO_RATIOS,
      formats: ALL_FORMATS,
      fields: {
        image_prompt: as('image_prompt'),
        safety_tolerance: as('safety_tolerance'),
        prompt_upsampling: as('prompt_upsampling'),
        output_quality: as('output_quality'),
      },
      numOutputs: false,
      price: perImage(0.04),
    },
    cog: { id: 'flux-1.1-pro', price: SELF_HOSTED },
    fal: { endpoint: 'fal-ai/flux-pro/v1.1', size: { kind: 'image_size' }, fields: FAL_FIELDS, numImages: true, price: perImage(0.04) },
    bfl: {
      endpoint: 'flux-pro-1.1',
      price: perImage(0.04),
      size: BFL_PIXELS,
      fields: {
        image_prompt: as('image_prompt'),
        safety_tolerance: as('safety_tolerance', { range: BFL_RANGES.safety_tolerance }),
        prompt_upsampling: as('prompt_upsampling'),
      },
    },
    preview: { id: 'flux-1.1-pro', price: SELF_HOSTED },
  },
};

/** fal's ultra `aspect_ratio` enum: narrower than BFL's (no 4:5 or 5:4). */
export const FAL_ULTRA_RATIOS = ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'] as const;

/** FLUX1.1 [pro] ultra: ~4 MP from a ratio, no custom size, no prompt upsampling or output quality. */
export const FLUX_1_1_PRO_ULTRA: CatalogueEntry = {
  label: 'FLUX1.1 [pro] ultra',
  aspectRatios: WIDE_RATIOS,
  defaultAspectRatio: '16:9',
  sizes: { kind: 'area', area: 2048 * 2048, step: 32 },
  outputFormats: ALL_FORMATS,
  safetyTolerance: SAFETY,
  imagePrompt: true,
  promptUpsampling: false,
  outputQuality: false,
  raw: true,
  imagePromptStrength: { min: 0, max: 1, default: 0.1, integer: false },
  providers: {
    replicate: {
      id: 'black-forest-labs/flux-1.1-pro-ultra',
      aspectRatios: WIDE_RATIOS,
      // No webp: it is asked as lossless png and re-encoded.
      formats: ['jpg', 'png'],
      fields: {
        image_prompt: as('image_prompt'),
        safety_tolerance: as('safety_tolerance'),
        raw: as('raw'),
        image_prompt_strength: as('image_prompt_strength'),
      },
      numOutputs: false,
      price: perImage(0.06),
    },
    cog: { id: 'flux-1.1-pro-ultra', price: SELF_HOSTED },
    fal: {
      endpoint: 'fal-ai/flux-pro/v1.1-ultra',
      size: { kind: 'aspect_ratio', ratios: FAL_ULTRA_RATIOS },
      // fal's ultra takes the image prompt as `image_url` (a link or a data URI).
      fields: { ...FAL_FIELDS, image_prompt: as('image_url'), raw: as('raw'), image_prompt_strength: as('image_prompt_strength') },
      numImages: true,
      price: perImage(0.06),
    },
    bfl: {
      endpoint: 'flux-pro-1.1-ultra',
      price: perImage(0.06),
      size: { kind: 'ratio' },
      fields: {
        image_prompt: as('image_prompt'),
        safety_tolerance: as('safety_tolerance', { range: BFL_RANGES.safety_tolerance }),
        prompt_upsampling: as('prompt_upsampling'),
        raw: as('raw'),
        image_prompt_strength: as('image_prompt_strength'),
      },
      // Sent even when the request leaves raw unset, so the look never depends on BFL's default.
      fixed: { raw: false },
    },
    preview: { id: 'flux-1.1-pro-ultra', price: SELF_HOSTED },
  },
};
