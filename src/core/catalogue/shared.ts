import type { AspectRatio, NumberRange, OutputFormat } from '../models.js';
import type { FieldMapping, ImagesMapping, PriceRule } from './types.js';

/** Values several catalogue entries share. */

/** FLUX.1 [pro] and FLUX1.1 [pro]: custom sizes, no 21:9. */
export const PRO_RATIOS: readonly AspectRatio[] = ['custom', '1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '9:16', '3:4', '4:3'];
/** Ultra, dev and schnell: fixed ratios only, from 21:9 to 9:21. */
export const WIDE_RATIOS: readonly AspectRatio[] = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];
export const ALL_FORMATS: readonly OutputFormat[] = ['webp', 'jpg', 'png'];
export const SAFETY: NumberRange = { min: 1, max: 6, default: 2, integer: true };
/** FLUX.1 sizes: 256..1440 px a side, multiples of 32. */
export const CUSTOM_SIZE = { min: 256, max: 1440, multiple: 32 };

/** A field the provider takes under `name`, as is. */
export function as(name: string, extra: Omit<FieldMapping, 'name'> = {}): FieldMapping {
  return { name, ...extra };
}

/** fal's FLUX.1 inputs: its own names, safety as a string "1".."6". */
export const FAL_FIELDS = {
  steps: as('num_inference_steps'),
  guidance: as('guidance_scale'),
  safety_tolerance: as('safety_tolerance', { convert: 'string' }),
  prompt_upsampling: as('enhance_prompt'),
} as const;

/** BFL's ranges (its OpenAPI schema): guidance from 1.5, safety from 0. */
export const BFL_RANGES = {
  steps: { min: 1, max: 50 },
  guidance: { min: 1.5, max: 5 },
  interval: { min: 1, max: 4 },
  safety_tolerance: { min: 0, max: 6 },
} as const;

/** BFL's pixel-size endpoints render 256..1440 px a side in multiples of 32. */
export const BFL_PIXELS = { kind: 'pixels', min: 256, max: 1440, multiple: 32 } as const;

/** A flat price per image, in US dollars. */
export function perImage(usd: number): PriceRule {
  return { per: 'image', usd };
}

/** FLUX.2's price: `firstUsd` for the output's first megapixel, `extraUsd` for each further one and each input one. */
export function perMegapixel(firstUsd: number, extraUsd: number): PriceRule {
  return { per: 'megapixel', firstUsd, extraUsd };
}

/** Self-hosted (Cog) and the offline preview: nothing is billed unless the operator prices it (`PRICES_FILE`). */
export const SELF_HOSTED: PriceRule = { per: 'image', usd: 0 };

/** Reference images sent as one list field (`input_images`, `image_urls`), at most `max`. */
export function imageList(name: string, max: number): ImagesMapping {
  return { shape: 'array', name, max };
}

/** Reference images sent as `name`, `name_2` … `name_<max>` (BFL's `input_image`, `input_image_2`, …). */
export function numberedImages(name: string, max: number): ImagesMapping {
  return { shape: 'numbered', name, max };
}

/** One reference image in one field (`input_image`, `image_url`). */
export function oneImage(name: string): ImagesMapping {
  return { shape: 'single', name, max: 1 };
}
