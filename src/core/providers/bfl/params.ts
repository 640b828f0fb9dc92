import { UnsupportedByProvider } from '../../errors.js';
import type { ImageFormat } from '../../images/image.js';
import { FIELD_RANGES, MODELS } from '../../models.js';
import type { FluxRequest } from '../../request.js';

/**
 * Maps a resolved FluxRequest to a Black Forest Labs task: the endpoint and the exact JSON body. Pure: the image
 * prompt (a link or a data: URI for us, base64 for BFL) and the webhook are added afterwards by `withBflExtras`,
 * once the adapter has fetched the image. Ranges come from BFL's OpenAPI schema (api.bfl.ai/openapi.json).
 */
export type BflEndpoint = 'flux-pro' | 'flux-pro-1.1' | 'flux-pro-1.1-ultra' | 'flux-dev';

/** The formats BFL renders; webp is asked as png and converted afterwards. */
export type BflOutputFormat = 'jpeg' | 'png';

/** One BFL submit body. Key order follows BFL's documentation, which keeps logged bodies easy to compare. */
export interface BflBody {
  prompt: string;
  image_prompt?: string;
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
  /** The format the caller asked for; differs from `body.output_format` only for webp. */
  format: ImageFormat;
  /**
   * Encoder quality used when we re-encode (webp from BFL's png). BFL has no quality field, so `output_quality` only
   * matters when we convert; a jpeg or png that BFL renders directly is returned as BFL made it.
   */
  quality: number;
}

/** Request fields BFL may or may not accept, per endpoint (besides prompt, seed and output_format, which all take). */
type TunableField = 'image_prompt' | 'steps' | 'guidance' | 'interval' | 'safety_tolerance' | 'prompt_upsampling';

interface EndpointSpec {
  /** `pixels`: width/height in the body; `ratio`: aspect_ratio (ultra picks its own ~4 MP size). */
  size: 'pixels' | 'ratio';
  accepts: readonly TunableField[];
  ranges: Partial<Record<TunableField, { min: number; max: number }>>;
}

/** BFL renders 256..1440 px a side in multiples of 32 on the pixel-size endpoints. */
const BFL_SIDE = { min: 256, max: 1440, multiple: 32 };
const BFL_SAFETY = { min: 0, max: 6 };

const ENDPOINTS: Record<BflEndpoint, EndpointSpec> = {
  'flux-pro': {
    size: 'pixels',
    accepts: ['image_prompt', 'steps', 'guidance', 'interval', 'safety_tolerance', 'prompt_upsampling'],
    ranges: { steps: { min: 1, max: 50 }, guidance: { min: 1.5, max: 5 }, interval: { min: 1, max: 4 }, safety_tolerance: BFL_SAFETY },
  },
  'flux-pro-1.1': {
    size: 'pixels',
    accepts: ['image_prompt', 'safety_tolerance', 'prompt_upsampling'],
    ranges: { safety_tolerance: BFL_SAFETY },
  },
  'flux-pro-1.1-ultra': {
    size: 'ratio',
    accepts: ['image_prompt', 'safety_tolerance', 'prompt_upsampling'],
    ranges: { safety_tolerance: BFL_SAFETY },
  },
  'flux-dev': {
    size: 'pixels',
    accepts: ['image_prompt', 'steps', 'guidance', 'safety_tolerance', 'prompt_upsampling'],
    ranges: { steps: { min: 1, max: 50 }, guidance: { min: 1.5, max: 5 }, safety_tolerance: BFL_SAFETY },
  },
};

const NUMERIC_FIELDS = ['steps', 'guidance', 'interval', 'safety_tolerance'] as const;

function isEndpoint(id: string | undefined): id is BflEndpoint {
  return id !== undefined && Object.hasOwn(ENDPOINTS, id);
}

/** BFL's endpoint for the request's model; UnsupportedByProvider (field `model`) when BFL does not serve it. */
export function bflEndpoint(request: Pick<FluxRequest, 'model'>): BflEndpoint {
  const id = MODELS[request.model].providerIds.bfl;
  if (!isEndpoint(id)) throw new UnsupportedByProvider('bfl', `the model ${request.model}`, 'model');
  return id;
}

/**
 * Builds the BFL task for a request. Throws UnsupportedByProvider naming the field when BFL cannot express what the
 * person set (a field the endpoint lacks, a value outside BFL's range, a size past 1440 px), so the failover list
 * moves on instead of BFL silently rendering something else.
 */
export function bflParams(request: FluxRequest): BflParams {
  const endpoint = bflEndpoint(request);
  const spec = ENDPOINTS[endpoint];
  const refuse = (what: string, field: string): never => {
    throw new UnsupportedByProvider('bfl', `${what} for ${request.model}`, field);
  };

  const tunables: Array<[TunableField, unknown]> = [
    ['image_prompt', request.image_prompt],
    ['steps', request.steps],
    ['guidance', request.guidance],
    ['interval', request.interval],
    ['safety_tolerance', request.safety_tolerance],
    ['prompt_upsampling', request.prompt_upsampling],
  ];
  for (const [field, value] of tunables) {
    if (value !== undefined && !spec.accepts.includes(field)) refuse(field, field);
  }
  for (const field of NUMERIC_FIELDS) {
    const value = request[field];
    const range = spec.ranges[field];
    if (value !== undefined && range && (value < range.min || value > range.max)) {
      refuse(`${field} ${value} (BFL accepts ${range.min} to ${range.max})`, field);
    }
  }

  const body: BflBody = { prompt: request.prompt, seed: request.seed, output_format: request.output_format === 'jpg' ? 'jpeg' : 'png' };
  if (spec.size === 'ratio') {
    if (request.aspect_ratio === 'custom') refuse('a custom width and height', 'width');
    body.aspect_ratio = request.aspect_ratio;
  } else {
    for (const side of ['width', 'height'] as const) {
      const value = request[side];
      if (value < BFL_SIDE.min || value > BFL_SIDE.max || value % BFL_SIDE.multiple !== 0) {
        const field = request.aspect_ratio === 'custom' ? side : 'aspect_ratio';
        const what = field === 'aspect_ratio' ? `aspect_ratio ${request.aspect_ratio} (${request.width}×${request.height})` : `${side} ${value}`;
        refuse(`${what}; BFL renders ${BFL_SIDE.min} to ${BFL_SIDE.max} px per side`, field);
      }
    }
    body.width = request.width;
    body.height = request.height;
  }
  if (request.steps !== undefined) body.steps = request.steps;
  if (request.guidance !== undefined) body.guidance = request.guidance;
  if (request.interval !== undefined) body.interval = request.interval;
  if (request.safety_tolerance !== undefined) body.safety_tolerance = request.safety_tolerance;
  if (request.prompt_upsampling !== undefined) body.prompt_upsampling = request.prompt_upsampling;
  // Ultra's raw mode is a different look, not a FLUX1.1 [pro] input we expose: ask for the standard one explicitly.
  if (endpoint === 'flux-pro-1.1-ultra') body.raw = false;

  return {
    endpoint,
    body: orderKeys(body),
    imagePrompt: request.image_prompt,
    format: request.output_format,
    quality: request.output_quality ?? FIELD_RANGES.output_quality.default,
  };
}

export interface BflExtras {
  /** The image prompt as bare base64 (no `data:` prefix), as BFL expects. */
  imagePromptBase64?: string;
  webhookUrl?: string;
  webhookSecret?: string;
}

/** Adds the fetched image prompt and the webhook to a body. */
export function withBflExtras(body: BflBody, extras: BflExtras): BflBody {
  const out: BflBody = { ...body };
  if (extras.imagePromptBase64 !== undefined) out.image_prompt = extras.imagePromptBase64;
  if (extras.webhookUrl !== undefined) {
    out.webhook_url = extras.webhookUrl;
    if (extras.webhookSecret !== undefined) out.webhook_secret = extras.webhookSecret;
  }
  return orderKeys(out);
}

const KEY_ORDER: ReadonlyArray<keyof BflBody> = [
  'prompt',
  'image_prompt',
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

function orderKeys(body: BflBody): BflBody {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (body[key] !== undefined) out[key] = body[key];
  return out as unknown as BflBody;
}
