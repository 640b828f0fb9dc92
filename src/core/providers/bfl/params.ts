import { UnsupportedByProvider } from '../../errors.js';
import type { ImageFormat } from '../../images/image.js';
import { CATALOGUE, TUNABLE_FIELDS, type BflEndpoint, type BflMapping } from '../../catalogue/index.js';
import { FIELD_RANGES } from '../../models.js';
import type { FluxRequest } from '../../request.js';
import { acceptedImages, placeImages } from '../images-mapping.js';

/**
 * Maps a resolved FluxRequest to a Black Forest Labs task: the endpoint and the exact JSON body. Pure: the image
 * prompt and the reference images (links or data: URIs for us, base64 for BFL) and the webhook are added afterwards
 * by `withBflExtras`, once the adapter has fetched the images. The endpoint, size shape, accepted fields, reference
 * images and BFL's ranges per model are data in the catalogue (`providers.bfl`); this file applies them.
 */
export type { BflEndpoint };

/** The formats BFL renders; webp is asked as png and converted afterwards. */
export type BflOutputFormat = 'jpeg' | 'png';

/**
 * One BFL submit body. Key order follows BFL's documentation, which keeps logged bodies easy to compare. Reference
 * images go in `input_image`, `input_image_2` … (bare base64), right after the prompt.
 */
export interface BflBody {
  prompt: string;
  [image: `input_image${string}`]: string | undefined;
  image_prompt?: string;
  image_prompt_strength?: number;
  aspect_ratio?: string;
  width?: number;
  height?: number;
  steps?: number;
  guidance?: number;
  interval?: number;
  safety_tolerance?: number;
  seed: number;
  prompt_upsampling?: boolean;
  output_format: BflOutputFormat;
  raw?: boolean;
  webhook_url?: string;
  webhook_secret?: string;
}

export interface BflParams {
  endpoint: BflEndpoint;
  /** The body without `image_prompt` and webhook fields (see `withBflExtras`). */
  body: BflBody;
  /** The request's image prompt (http(s) link or data: URI) that must be sent as base64, when there is one. */
  imagePrompt: string | undefined;
  /** The reference images (http(s) links or data: URIs) in order, each with the body field it goes in as base64. */
  images: ReadonlyArray<{ field: string; source: string }>;
  /** The format the caller asked for; differs from `body.output_format` only for webp. */
  format: ImageFormat;
  /**
   * Encoder quality used when we re-encode (webp from BFL's png). BFL has no quality field, so `output_quality` only
   * matters when we convert; a jpeg or png that BFL renders directly is returned as BFL made it.
   */
  quality: number;
}

/**
 * Fields mapped through the entry's `providers.bfl.fields`. `output_quality` is not among them: BFL has no such input,
 * and it only matters when we re-encode (see `BflParams.quality`).
 */
const MAPPED_FIELDS = TUNABLE_FIELDS.filter((field) => field !== 'output_quality');

/** The catalogue's BFL mapping for the request's model; UnsupportedByProvider (field `model`) when BFL lacks it. */
function bflMapping(request: Pick<FluxRequest, 'model'>): BflMapping {
  const mapping = CATALOGUE[request.model].providers.bfl;
  if (mapping === undefined) throw new UnsupportedByProvider('bfl', `the model ${request.model}`, 'model');
  return mapping;
}

/** BFL's endpoint for the request's model; UnsupportedByProvider (field `model`) when BFL does not serve it. */
export function bflEndpoint(request: Pick<FluxRequest, 'model'>): BflEndpoint {
  return bflMapping(request).endpoint;
}

/**
 * Builds the BFL task for a request. Throws UnsupportedByProvider naming the field when BFL cannot express what the
 * person set (a field the endpoint lacks, a value outside BFL's range, a size past 1440 px), so the failover list
 * moves on instead of BFL silently rendering something else.
 */
export function bflParams(request: FluxRequest): BflParams {
  const spec = bflMapping(request);
  const endpoint = spec.endpoint;
  const refuse = (what: string, field: string): never => {
    throw new UnsupportedByProvider('bfl', `${what} for ${request.model}`, field);
  };

  // Every field is checked for presence before any range, so the refusal names a field BFL lacks outright first.
  for (const field of MAPPED_FIELDS) {
    if (request[field] !== undefined && spec.fields[field] === undefined) refuse(field, field);
  }
  const sources = acceptedImages('bfl', request, spec.images) ?? [];
  const images = sources.length === 0 ? [] : Object.entries(placeImages(spec.images!, sources)).map(([field, source]) => ({ field, source: source as string }));
  for (const field of MAPPED_FIELDS) {
    const value = request[field];
    const range = spec.fields[field]?.range;
    if (typeof value === 'number' && range && (value < range.min || value > range.max)) {
      refuse(`${field} ${value} (BFL accepts ${range.min} to ${range.max})`, field);
    }
  }

  const body: BflBody = { prompt: request.prompt, seed: request.seed, output_format: request.output_format === 'jpg' ? 'jpeg' : 'png' };
  const size = spec.size;
  if (size.kind === 'ratio') {
    if (request.aspect_ratio === 'custom') refuse('a custom width and height', 'width');
    body.aspect_ratio = request.aspect_ratio;
  } else {
    for (const side of ['width', 'height'] as const) {
      const value = request[side];
      if (value < size.min || value > size.max || value % size.multiple !== 0) {
        const field = request.aspect_ratio === 'custom' ? side : 'aspect_ratio';
        const what = field === 'aspect_ratio' ? `aspect_ratio ${request.aspect_ratio} (${request.width}×${request.height})` : `${side} ${value}`;
        refuse(`${what}; BFL renders ${size.min} to ${size.max} px per side`, field);
      }
    }
    body.width = request.width;
    body.height = request.height;
  }
  // Fixed values first: a field the person set (ultra's raw) replaces the fixed default.
  if (spec.fixed?.raw !== undefined) body.raw = spec.fixed.raw;
  const named = body as unknown as Record<string, unknown>;
  for (const field of MAPPED_FIELDS) {
    const value = request[field];
    const to = spec.fields[field];
    // The image prompt goes in as base64 once fetched (`withBflExtras`), not as the link the request carries.
    if (value === undefined || to === undefined || field === 'image_prompt') continue;
    named[to.name] = to.convert === 'string' ? String(value) : value;
  }

  return {
    endpoint,
    body: orderKeys(body),
    imagePrompt: request.image_prompt,
    images,
    format: request.output_format,
    quality: request.output_quality ?? FIELD_RANGES.output_quality.default,
  };
}

export interface BflExtras {
  /** The image prompt as bare base64 (no `data:` prefix), as BFL expects. */
  imagePromptBase64?: string;
  /** The reference images as bare base64, each in its field (`BflParams.images`), in order. */
  images?: ReadonlyArray<{ field: string; base64: string }>;
  webhookUrl?: string;
  webhookSecret?: string;
}

/** Adds the fetched image prompt and the webhook to a body. */
export function withBflExtras(body: BflBody, extras: BflExtras): BflBody {
  const out: BflBody = { ...body };
  if (extras.imagePromptBase64 !== undefined) out.image_prompt = extras.imagePromptBase64;
  for (const image of extras.images ?? []) (out as unknown as Record<string, unknown>)[image.field] = image.base64;
  if (extras.webhookUrl !== undefined) {
    out.webhook_url = extras.webhookUrl;
    if (extras.webhookSecret !== undefined) out.webhook_secret = extras.webhookSecret;
  }
  return orderKeys(out);
}

const KEY_ORDER: ReadonlyArray<keyof BflBody> = [
  'prompt',
  'image_prompt',
  'image_prompt_strength',
  'aspect_ratio',
  'width',
  'height',
  'steps',
  'guidance',
  'interval',
  'safety_tolerance',
  'seed',
  'prompt_upsampling',
  'output_format',
  'raw',
  'webhook_url',
  'webhook_secret',
];

/** BFL's documented order, the reference images (in their own order) right after the prompt. */
function orderKeys(body: BflBody): BflBody {
  const fields = body as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { prompt: body.prompt };
  for (const [key, value] of Object.entries(fields)) if (key.startsWith('input_image') && value !== undefined) out[key] = value;
  for (const key of KEY_ORDER) if (fields[key] !== undefined) out[key] = fields[key];
  return out as unknown as BflBody;
}
