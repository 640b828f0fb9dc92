import type { AspectRatio, NumberRange, OutputFormat } from '../models.js';

/**
 * The shape of one catalogue entry: everything about a model that is data rather than code. Provider adapters read
 * these entries generically; adding a model is one entry (and its expected row in the mapping tests).
 */

/** Request fields whose presence or name differs between models and providers. */
export const TUNABLE_FIELDS = [
  'image_prompt',
  'steps',
  'guidance',
  'interval',
  'safety_tolerance',
  'prompt_upsampling',
  'output_quality',
  'raw',
  'image_prompt_strength',
] as const;
export type TunableField = (typeof TUNABLE_FIELDS)[number];

/** How a provider receives one request field. */
export interface FieldMapping {
  /** The provider's name for the field. */
  name: string;
  /** The provider's accepted range, when narrower or different from ours; values outside it are refused. */
  range?: { min: number; max: number };
  /** `string`: the provider's schema wants the number as a string (fal's safety levels "1".."6"). */
  convert?: 'string';
}

/** Fields a provider accepts for one model; a field missing here cannot be expressed and is refused. */
export type FieldMappings = Partial<Record<TunableField, FieldMapping>>;

/**
 * How a provider takes reference images (the request's `images`): `array`, one field holding the list
 * (`input_images`, `image_urls`); `numbered`, `name`, `name_2` … `name_<max>` (BFL's `input_image`, `input_image_2`);
 * `single`, one field and one image (`input_image`, `image_url`). More images than `max` are refused for this
 * provider (naming `images`), and the failover list moves on.
 */
export interface ImagesMapping {
  shape: 'array' | 'numbered' | 'single';
  name: string;
  max: number;
}

/**
 * What one image costs on one provider, in US dollars. `image`: a flat price per image. `megapixel`: FLUX.2's rule,
 * `firstUsd` for the output's first megapixel and `extraUsd` for each further one, plus `extraUsd` for each megapixel
 * of every input image; a megapixel is 1024 × 1024 pixels and a started one counts whole (BFL's calculator: a
 * 1024 × 1024 output is one, 1440 × 1440 is two).
 */
export type PriceRule = { per: 'image'; usd: number } | { per: 'megapixel'; firstUsd: number; extraUsd: number };

/** Replicate's official model (and the Cog container built from it, which takes the same input). */
export interface ReplicateMapping {
  /** `owner/name` on Replicate. */
  id: string;
  aspectRatios: readonly AspectRatio[];
  /** Formats the model writes; another one is asked as png and converted by us. */
  formats: readonly OutputFormat[];
  fields: FieldMappings;
  /** The schema has `num_outputs` (it can render several images, and returns an array): we ask for one. */
  numOutputs: boolean;
  /** How the model takes reference images; absent: it takes none. */
  images?: ImagesMapping;
  price: PriceRule;
}

/** A fal.ai endpoint. */
export interface FalMapping {
  endpoint: string;
  /** `image_size`: exact pixels `{ width, height }`; `aspect_ratio`: a ratio from `ratios` (fal picks the size). */
  size: { kind: 'image_size' } | { kind: 'aspect_ratio'; ratios: readonly AspectRatio[] };
  fields: FieldMappings;
  /**
   * `endpoint` makes up to 4 images in one call (its schema has `num_images`): a gallery is one call there. Absent:
   * one image per call (FLUX.2's apps have no such field).
   */
  numImages?: true;
  /**
   * How the endpoint takes reference images; `endpoint` when given: the variant called with images (`…/edit`), and
   * then `numImages` says whether that variant has `num_images` (the base endpoint's flag does not carry over).
   */
  images?: ImagesMapping & { endpoint?: string; numImages?: true };
  price: PriceRule;
}

/** BFL's task endpoint names. */
export type BflEndpoint =
  | 'flux-pro'
  | 'flux-pro-1.1'
  | 'flux-pro-1.1-ultra'
  | 'flux-dev'
  | 'flux-2-pro'
  | 'flux-2-max'
  | 'flux-2-flex'
  | 'flux-2-klein-4b'
  | 'flux-2-klein-9b'
  | 'flux-kontext-pro'
  | 'flux-kontext-max';

/** A Black Forest Labs endpoint. */
export interface BflMapping {
  endpoint: BflEndpoint;
  /** `pixels`: width/height in the body (within `side`); `ratio`: aspect_ratio (the endpoint picks its size). */
  size: { kind: 'pixels'; min: number; max: number; multiple: number } | { kind: 'ratio' };
  fields: FieldMappings;
  /** Body fields sent with this value unless the request sets them (ultra's `raw: false`, the standard look). */
  fixed?: { raw?: boolean };
  images?: ImagesMapping;
  price: PriceRule;
}

/** How a model's aspect ratios become pixels. */
export type SizeRule =
  /** The ~1 MP table shared by the FLUX.1 models. */
  | { kind: 'megapixel' }
  /** The ratio at `area` pixels, each side rounded to `step`. */
  | { kind: 'area'; area: number; step: number };

/** One model: what a person may set, and how each provider is asked for it. */
export interface CatalogueEntry {
  label: string;
  aspectRatios: readonly AspectRatio[];
  defaultAspectRatio: AspectRatio;
  sizes: SizeRule;
  /** Custom width/height (with aspect_ratio `custom`), rounded to `multiple`; `maxPixels` caps width × height. */
  customSize?: { min: number; max: number; multiple: number; maxPixels?: number };
  /**
   * Reference images (the request's `images`): how many the model takes at most, and whether it needs one (Kontext
   * edits an image; it cannot start from text alone). Absent: the model takes none.
   */
  images?: { max: number; required: boolean };
  outputFormats: readonly OutputFormat[];
  steps?: NumberRange;
  guidance?: NumberRange;
  interval?: NumberRange;
  safetyTolerance?: NumberRange;
  imagePrompt: boolean;
  promptUpsampling: boolean;
  outputQuality: boolean;
  /** Raw mode: a less processed, more natural look. */
  raw: boolean;
  /** How much the image prompt weighs against the text (with `image_prompt` only). */
  imagePromptStrength?: NumberRange;
  /** A provider missing here does not serve the model; the failover list moves on. */
  providers: {
    replicate?: ReplicateMapping;
    /** The Cog container's model name; its input is Replicate's (`providers.replicate`). Self-hosted: priced 0 unless overridden. */
    cog?: { id: string; price: PriceRule };
    fal?: FalMapping;
    bfl?: BflMapping;
    preview?: { id: string; price: PriceRule };
  };
}
