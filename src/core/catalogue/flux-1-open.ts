import { ALL_FORMATS, as, perImage, SELF_HOSTED, BFL_PIXELS, BFL_RANGES, FAL_FIELDS, WIDE_RATIOS } from './shared.js';
import type { CatalogueEntry } from './types.js';

/** FLUX.1 [dev]: open weights, steps and guidance, no image prompt or safety tolerance on Replicate. */
export const FLUX_DEV: CatalogueEntry = {
  label: 'FLUX.1 [dev]',
  aspectRatios: WIDE_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: { kind: 'megapixel' },
  outputFormats: ALL_FORMATS,
  steps: { min: 1, max: 50, default: 28, integer: true },
  guidance: { min: 0, max: 10, default: 3, integer: false },
  imagePrompt: false,
  promptUpsampling: false,
  outputQuality: true,
  raw: false,
  providers: {
    replicate: {
      id: 'black-forest-labs/flux-dev',
      aspectRatios: WIDE_RATIOS,
      formats: ALL_FORMATS,
      fields: { steps: as('num_inference_steps'), guidance: as('guidance'), output_quality: as('output_quality') },
      numOutputs: true,
      price: perImage(0.025),
    },
    cog: { id: 'flux-dev', price: SELF_HOSTED },
    fal: { endpoint: 'fal-ai/flux/dev', size: { kind: 'image_size' }, fields: FAL_FIELDS, numImages: true, price: perImage(0.025) },
    bfl: {
      endpoint: 'flux-dev',
      price: perImage(0.025),
      size: BFL_PIXELS,
      fields: {
        image_prompt: as('image_prompt'),
        steps: as('steps', { range: BFL_RANGES.steps }),
        guidance: as('guidance', { range: BFL_RANGES.guidance }),
        safety_tolerance: as('safety_tolerance', { range: BFL_RANGES.safety_tolerance }),
        prompt_upsampling: as('prompt_upsampling'),
      },
    },
    preview: { id: 'flux-dev', price: SELF_HOSTED },
  },
};

/** FLUX.1 [schnell]: 1 to 4 steps, no guidance; BFL does not serve it. */
export const FLUX_SCHNELL: CatalogueEntry = {
  label: 'FLUX.1 [schnell]',
  aspectRatios: WIDE_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: { kind: 'megapixel' },
  outputFormats: ALL_FORMATS,
  steps: { min: 1, max: 4, default: 4, integer: true },
  imagePrompt: false,
  promptUpsampling: false,
  outputQuality: true,
  raw: false,
  providers: {
    replicate: {
      id: 'black-forest-labs/flux-schnell',
      aspectRatios: WIDE_RATIOS,
      formats: ALL_FORMATS,
      fields: { steps: as('num_inference_steps'), output_quality: as('output_quality') },
      numOutputs: true,
      price: perImage(0.003),
    },
    cog: { id: 'flux-schnell', price: SELF_HOSTED },
    fal: { endpoint: 'fal-ai/flux/schnell', size: { kind: 'image_size' }, fields: FAL_FIELDS, numImages: true, price: perImage(0.003) },
    preview: { id: 'flux-schnell', price: SELF_HOSTED },
  },
};
