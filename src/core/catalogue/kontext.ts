import { FAL_ULTRA_RATIOS } from './flux-1-pro.js';
import { ALL_FORMATS, as, BFL_RANGES, numberedImages, oneImage, perImage, SELF_HOSTED, WIDE_RATIOS } from './shared.js';
import type { CatalogueEntry, PriceRule } from './types.js';

/**
 * FLUX.1 Kontext: edits an image by instruction ("make the sky purple"). It needs a reference image; it cannot start
 * from text alone. With an image given, Replicate accepts safety tolerance up to 2 only, so that is the model's range.
 * Every provider takes a ratio (the size follows from it) and charges a flat price per image.
 */
const KONTEXT_BASE = {
  aspectRatios: WIDE_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: { kind: 'megapixel' },
  outputFormats: ALL_FORMATS,
  safetyTolerance: { min: 1, max: 2, default: 2, integer: true },
  imagePrompt: false,
  promptUpsampling: true,
  outputQuality: false,
  raw: false,
  images: { max: 4, required: true },
} as const satisfies Partial<CatalogueEntry>;

/** The same mapping for [pro] and [max]; only the ids and the price differ. */
function kontextProviders(variant: 'pro' | 'max', price: PriceRule): CatalogueEntry['providers'] {
  const fields = { safety_tolerance: as('safety_tolerance'), prompt_upsampling: as('prompt_upsampling') };
  return {
    replicate: {
      id: `black-forest-labs/flux-kontext-${variant}`,
      aspectRatios: WIDE_RATIOS,
      // Kontext on Replicate writes png or jpg: webp is asked as png and converted by us.
      formats: ['jpg', 'png'],
      fields,
      numOutputs: false,
      // One `input_image`: a request with more references fails over to a provider that takes them (BFL).
      images: oneImage('input_image'),
      price,
    },
    fal: {
      // fal's Kontext apps edit only, so the base endpoint already takes the image. (`…/multi` takes several as
      // `image_urls`; it is not mapped, so several references fail over to BFL.)
      endpoint: variant === 'pro' ? 'fal-ai/flux-pro/kontext' : 'fal-ai/flux-pro/kontext/max',
      size: { kind: 'aspect_ratio', ratios: FAL_ULTRA_RATIOS },
      fields: { safety_tolerance: as('safety_tolerance', { convert: 'string' }), prompt_upsampling: as('enhance_prompt') },
      images: oneImage('image_url'),
      numImages: true,
      price,
    },
    bfl: {
      endpoint: `flux-kontext-${variant}`,
      size: { kind: 'ratio' },
      fields: {
        safety_tolerance: as('safety_tolerance', { range: BFL_RANGES.safety_tolerance }),
        prompt_upsampling: as('prompt_upsampling'),
      },
      // BFL's Kontext takes up to four references: `input_image` … `input_image_4`.
      images: numberedImages('input_image', 4),
      price,
    },
    preview: { id: `flux-kontext-${variant}`, price: SELF_HOSTED },
  };
}

export const FLUX_KONTEXT_PRO: CatalogueEntry = {
  ...KONTEXT_BASE,
  label: 'FLUX.1 Kontext [pro]',
  providers: kontextProviders('pro', perImage(0.04)),
};

export const FLUX_KONTEXT_MAX: CatalogueEntry = {
  ...KONTEXT_BASE,
  label: 'FLUX.1 Kontext [max]',
  providers: kontextProviders('max', perImage(0.08)),
};
