import { ALL_FORMATS, as, imageList, numberedImages, perMegapixel, PRO_RATIOS, SELF_HOSTED } from './shared.js';
import type { BflMapping, CatalogueEntry, FalMapping, FieldMappings, PriceRule, ReplicateMapping } from './types.js';

/**
 * The FLUX.2 family: every model edits and combines reference images (`images`). Sizes are multiples of 16 up to 4
 * megapixels; a ratio renders at about one megapixel (BFL's and Replicate's default resolution). Prices follow BFL's
 * megapixel rule (first output megapixel, then each further output and input megapixel); Replicate and fal charge
 * the same rule for the models they serve.
 */

/** FLUX.2 sizes: 256..2048 px a side in multiples of 16, at most 4 MP in all. */
export const FLUX_2_CUSTOM_SIZE = { min: 256, max: 2048, multiple: 16, maxPixels: 2048 * 2048 };
/** A ratio at one megapixel (1024 × 1024 for 1:1), each side a multiple of 16. */
export const FLUX_2_SIZES = { kind: 'area', area: 1024 * 1024, step: 16 } as const;
/** Safety tolerance on FLUX.2: 1 (strict) to 5 (permissive). */
export const FLUX_2_SAFETY = { min: 1, max: 5, default: 2, integer: true };

/**
 * BFL's FLUX.2 endpoints take width and height in multiples of 16 from 64 px, at most 4 MP in all. The request
 * already caps the area at 4 MP and a side at 2048 px, so the side check here only restates that.
 */
const BFL_FLUX_2_PIXELS = { kind: 'pixels', min: 64, max: 2048, multiple: 16 } as const;
/** BFL's FLUX.2 safety levels run 0..5 (Replicate's and fal's 1..5). */
const BFL_FLUX_2_SAFETY = as('safety_tolerance', { range: { min: 0, max: 5 } });
/** BFL's FLUX.2 endpoints take up to eight references: `input_image`, `input_image_2` … `input_image_8`. */
const BFL_FLUX_2_IMAGES = numberedImages('input_image', 8);
/** fal writes the safety level as a string, "1".."5" on FLUX.2. */
const FAL_SAFETY = as('safety_tolerance', { convert: 'string' });

/** Replicate's FLUX.2 schema (current versions): custom sizes, webp/jpg/png, `output_quality`, one URL back. */
function replicate(name: string, fields: FieldMappings, images: ReplicateMapping['images'], price: PriceRule): ReplicateMapping {
  return {
    id: `black-forest-labs/${name}`,
    aspectRatios: PRO_RATIOS,
    formats: ALL_FORMATS,
    fields: { ...fields, output_quality: as('output_quality') },
    numOutputs: false,
    ...(images ? { images } : {}),
    price,
  };
}

/** A BFL FLUX.2 endpoint: width/height, safety 0..5, numbered reference images. */
function bfl(endpoint: BflMapping['endpoint'], fields: FieldMappings, price: PriceRule): BflMapping {
  return { endpoint, size: BFL_FLUX_2_PIXELS, fields, images: BFL_FLUX_2_IMAGES, price };
}

/**
 * A fal FLUX.2 app: exact `image_size`; with images it is called at its `/edit` variant, which takes `image_urls`.
 * `numImages`: the app has `num_images` (klein's does; pro, max and flex and their `/edit` variants do not).
 */
function fal(endpoint: string, fields: FieldMappings, maxImages: number | undefined, price: PriceRule, numImages = false): FalMapping {
  return {
    endpoint,
    size: { kind: 'image_size' },
    fields,
    ...(numImages ? { numImages: true as const } : {}),
    ...(maxImages === undefined ? {} : { images: { ...imageList('image_urls', maxImages), endpoint: `${endpoint}/edit` } }),
    price,
  };
}

/** What every FLUX.2 model shares; each entry adds its images, tuning fields and providers. */
const FLUX_2_BASE = {
  aspectRatios: PRO_RATIOS,
  defaultAspectRatio: '1:1',
  sizes: FLUX_2_SIZES,
  customSize: FLUX_2_CUSTOM_SIZE,
  outputFormats: ALL_FORMATS,
  imagePrompt: false,
  promptUpsampling: false,
  outputQuality: true,
  raw: false,
} as const satisfies Partial<CatalogueEntry>;

const PRO_PRICE = perMegapixel(0.03, 0.015);
export const FLUX_2_PRO: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [pro]',
  safetyTolerance: FLUX_2_SAFETY,
  images: { max: 8, required: false },
  providers: {
    replicate: replicate('flux-2-pro', { safety_tolerance: as('safety_tolerance') }, imageList('input_images', 8), PRO_PRICE),
    fal: fal('fal-ai/flux-2-pro', { safety_tolerance: FAL_SAFETY }, 8, PRO_PRICE),
    bfl: bfl('flux-2-pro', { safety_tolerance: BFL_FLUX_2_SAFETY }, PRO_PRICE),
    preview: { id: 'flux-2-pro', price: SELF_HOSTED },
  },
};

const MAX_PRICE = perMegapixel(0.07, 0.03);
export const FLUX_2_MAX: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [max]',
  safetyTolerance: FLUX_2_SAFETY,
  images: { max: 8, required: false },
  providers: {
    replicate: replicate('flux-2-max', { safety_tolerance: as('safety_tolerance') }, imageList('input_images', 8), MAX_PRICE),
    fal: fal('fal-ai/flux-2-max', { safety_tolerance: FAL_SAFETY }, 8, MAX_PRICE),
    bfl: bfl('flux-2-max', { safety_tolerance: BFL_FLUX_2_SAFETY }, MAX_PRICE),
    preview: { id: 'flux-2-max', price: SELF_HOSTED },
  },
};

const FLEX_PRICE = perMegapixel(0.05, 0.05);
/** [flex]: the tunable one (steps and guidance), up to 10 reference images. */
export const FLUX_2_FLEX: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [flex]',
  steps: { min: 1, max: 50, default: 50, integer: true },
  guidance: { min: 1.5, max: 10, default: 4.5, integer: false },
  safetyTolerance: FLUX_2_SAFETY,
  promptUpsampling: true,
  images: { max: 10, required: false },
  providers: {
    replicate: replicate(
      'flux-2-flex',
      { steps: as('steps'), guidance: as('guidance'), safety_tolerance: as('safety_tolerance'), prompt_upsampling: as('prompt_upsampling') },
      imageList('input_images', 10),
      FLEX_PRICE,
    ),
    // fal's flex names prompt upsampling `enable_prompt_expansion` (unverified: its schema page lists it on FLUX.2
    // [dev]; flex is assumed to share it). Its edit variant takes up to 10 references, as Replicate's flex.
    fal: fal(
      'fal-ai/flux-2-flex',
      { steps: as('num_inference_steps'), guidance: as('guidance_scale'), safety_tolerance: FAL_SAFETY, prompt_upsampling: as('enable_prompt_expansion') },
      10,
      FLEX_PRICE,
    ),
    // BFL's flex: steps 1..50, guidance 1.5..10, prompt upsampling; at most 8 references (more fail over).
    bfl: bfl(
      'flux-2-flex',
      {
        steps: as('steps', { range: { min: 1, max: 50 } }),
        guidance: as('guidance', { range: { min: 1.5, max: 10 } }),
        safety_tolerance: BFL_FLUX_2_SAFETY,
        prompt_upsampling: as('prompt_upsampling'),
      },
      FLEX_PRICE,
    ),
    preview: { id: 'flux-2-flex', price: SELF_HOSTED },
  },
};

/**
 * [dev]: open weights; no safety tolerance (its hosts have a safety checker instead). BFL does not serve it. fal's
 * `fal-ai/flux-2/flash` is said to run it but is unverified, so fal is left out: requests fail over past fal.
 */
export const FLUX_2_DEV: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [dev]',
  images: { max: 4, required: false },
  providers: {
    // Replicate's price for [dev] is not published per megapixel: this is a guess in the FLUX.2 shape, meant to be
    // overridden by the operator (`PRICES_FILE`) once their bill says otherwise.
    replicate: replicate('flux-2-dev', {}, imageList('input_images', 4), perMegapixel(0.012, 0.012)),
    cog: { id: 'flux-2-dev', price: SELF_HOSTED },
    preview: { id: 'flux-2-dev', price: SELF_HOSTED },
  },
};

/**
 * Replicate's [klein] models take their references as `images` (at most 5) and answer an array of URLs; the other
 * fields are FLUX.2's (their `output_megapixels` is left at its default: the size comes from the ratio or custom size).
 */
function replicateKlein(name: string, price: PriceRule): ReplicateMapping {
  return replicate(name, {}, imageList('images', 5), price);
}

const KLEIN_4B_PRICE = perMegapixel(0.014, 0.001);
/** [klein] 4B: the small, fast one. */
export const FLUX_2_KLEIN_4B: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [klein] 4B',
  images: { max: 4, required: false },
  providers: {
    replicate: replicateKlein('flux-2-klein-4b', KLEIN_4B_PRICE),
    cog: { id: 'flux-2-klein-4b', price: SELF_HOSTED },
    // fal's klein app is text to image here: its edit variant is not in the documentation we map from, so requests
    // with images fail over past fal.
    fal: fal('fal-ai/flux-2/klein/4b', {}, undefined, KLEIN_4B_PRICE, true),
    bfl: { endpoint: 'flux-2-klein-4b', size: BFL_FLUX_2_PIXELS, fields: {}, images: numberedImages('input_image', 4), price: KLEIN_4B_PRICE },
    preview: { id: 'flux-2-klein-4b', price: SELF_HOSTED },
  },
};

const KLEIN_9B_PRICE = perMegapixel(0.015, 0.002);
/** [klein] 9B. */
export const FLUX_2_KLEIN_9B: CatalogueEntry = {
  ...FLUX_2_BASE,
  label: 'FLUX.2 [klein] 9B',
  images: { max: 4, required: false },
  providers: {
    // Unverified: the Replicate id (`flux-2-klein-9b-base`) and that its input matches the 4B's.
    replicate: replicateKlein('flux-2-klein-9b-base', KLEIN_9B_PRICE),
    cog: { id: 'flux-2-klein-9b', price: SELF_HOSTED },
    bfl: { endpoint: 'flux-2-klein-9b', size: BFL_FLUX_2_PIXELS, fields: {}, images: numberedImages('input_image', 4), price: KLEIN_9B_PRICE },
    preview: { id: 'flux-2-klein-9b', price: SELF_HOSTED },
  },
};
