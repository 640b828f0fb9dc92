import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { InvalidInput } from './errors.js';
import { isPrivateLink } from './images/url-guard.js';
import {
  ASPECT_RATIOS,
  FIELD_RANGES,
  MODEL_IDS,
  DEFAULT_MODEL,
  INPUT_ASPECT_RATIOS,
  MODELS,
  OUTPUT_FORMATS,
  pixelSize,
  roundTo,
  type AspectRatio,
  type ModelId,
  type NumberRange,
  type OutputFormat,
} from './models.js';

/** Longest prompt accepted. FLUX's T5 encoder reads ~512 tokens; 2,000 characters is comfortably past that. */
export const MAX_PROMPT_LENGTH = 2000;
/** Largest inline image prompt (a `data:` URI built from a private Slack file), in characters. */
export const MAX_DATA_URI_LENGTH = 14_000_000;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function numberField(name: keyof typeof FIELD_RANGES) {
  const r = FIELD_RANGES[name];
  let schema = z.number({ error: `${name} must be a number` }).refine(Number.isFinite, `${name} must be a finite number`);
  if (r.integer) schema = schema.refine(Number.isInteger, `${name} must be a whole number`);
  return schema
    .refine((v) => v >= r.min && v <= r.max, `${name} must be between ${r.min} and ${r.max}`)
    .optional();
}

/** An image given as an http(s) link (no credentials, at most 2,048 characters) or a `data:` URI of png/jpeg/webp/gif. */
export function isImageSource(v: string): boolean {
  if (v.startsWith('data:')) return /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/=]+$/.test(v) && v.length <= MAX_DATA_URI_LENGTH;
  if (v.length > 2048) return false;
  try {
    const url = new URL(v);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

const imagePromptSchema = z
  .string()
  .refine(isImageSource, 'image_prompt must be an http(s) link to an image (no credentials in the link) or an attached image');

/** Most images one request makes (a gallery: `count`), delivered together in one message. */
export const MAX_COUNT = 4;

/** Most reference images any model takes (FLUX.2 [flex]); each model's own maximum is checked after resolution. */
export const MAX_IMAGES = 10;

const imagesSchema = z
  .array(z.string({ error: 'each image must be a link or an attached image' }), { error: 'images must be a list of images' })
  .max(MAX_IMAGES, `at most ${MAX_IMAGES} images`)
  .superRefine((list, ctx) => {
    const bad = list.findIndex((v) => !isImageSource(v));
    if (bad >= 0) {
      ctx.addIssue({ code: 'custom', message: `image ${bad + 1} must be an http(s) link to an image (no credentials in the link) or an attached image` });
    }
  });

/** What a person may ask for: every FLUX.1 [pro] input field plus the model. Only `prompt` is required. */
export const FluxRequestInputSchema = z.strictObject({
  prompt: z
    .string({ error: 'prompt is required' })
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'prompt must not be empty')
    .refine((s) => s.length <= MAX_PROMPT_LENGTH, `prompt must be at most ${MAX_PROMPT_LENGTH} characters`)
    .refine((s) => !CONTROL_CHARS.test(s), 'prompt must not contain control characters'),
  model: z.enum(MODEL_IDS, { error: `model must be one of ${MODEL_IDS.join(', ')}` }).optional(),
  image_prompt: imagePromptSchema.optional(),
  aspect_ratio: z.enum(INPUT_ASPECT_RATIOS, { error: `aspect_ratio must be one of ${INPUT_ASPECT_RATIOS.join(', ')}` }).optional(),
  width: numberField('width'),
  height: numberField('height'),
  steps: numberField('steps'),
  guidance: numberField('guidance'),
  interval: numberField('interval'),
  safety_tolerance: numberField('safety_tolerance'),
  seed: numberField('seed'),
  prompt_upsampling: z.boolean({ error: 'prompt_upsampling must be true or false' }).optional(),
  output_format: z.enum(OUTPUT_FORMATS, { error: `output_format must be one of ${OUTPUT_FORMATS.join(', ')}` }).optional(),
  output_quality: numberField('output_quality'),
  raw: z.boolean({ error: 'raw must be true or false' }).optional(),
  image_prompt_strength: numberField('image_prompt_strength'),
  /** Reference images to edit or combine (FLUX.2, Kontext): links, attachments (as links) or `data:` URIs. */
  images: imagesSchema.optional(),
  /** How many images to make at once (a gallery), 1 to MAX_COUNT; each is charged as one image. */
  count: z
    .number({ error: 'count must be a number' })
    .refine((v) => Number.isInteger(v) && v >= 1 && v <= MAX_COUNT, `count must be a whole number from 1 to ${MAX_COUNT}`)
    .optional(),
});
export type FluxRequestInput = z.input<typeof FluxRequestInputSchema>;

/** A validated request with the model's defaults filled in and the pixel size decided: what providers receive. */
export const FluxRequestSchema = z.strictObject({
  prompt: z.string().min(1).max(MAX_PROMPT_LENGTH),
  model: z.enum(MODEL_IDS),
  image_prompt: z.string().optional(),
  aspect_ratio: z.enum(ASPECT_RATIOS),
  width: z.number().int(),
  height: z.number().int(),
  steps: z.number().optional(),
  guidance: z.number().optional(),
  interval: z.number().optional(),
  safety_tolerance: z.number().optional(),
  seed: z.number().int(),
  prompt_upsampling: z.boolean().optional(),
  output_format: z.enum(OUTPUT_FORMATS),
  output_quality: z.number().optional(),
  /** Only when asked for: absent means the provider's default (the standard look). */
  raw: z.boolean().optional(),
  /** Only when asked for, with an image prompt: absent means the model's default. */
  image_prompt_strength: z.number().optional(),
  /**
   * Reference images in order, present only when there is at least one: http(s) links (fetched and checked at
   * admission), `data:` URIs, or `fluxbot-input:<sha256>` references to images the bot stored (uploads, private files).
   */
  images: z.array(z.string()).min(1).max(MAX_IMAGES).optional(),
  /**
   * The size is to follow the first reference image's shape; until the image is checked (admission) the request
   * carries the model's default size. `matchInputImage` resolves it and drops the flag.
   */
  match_input_image: z.literal(true).optional(),
  /**
   * A gallery: this many images (2 to MAX_COUNT), image i made with seed `seed + i` (see `gallerySeed`), delivered
   * together. Absent: one image.
   */
  count: z.number().int().min(2).max(MAX_COUNT).optional(),
});
export type FluxRequest = z.infer<typeof FluxRequestSchema>;

export type ParseResult = { ok: true; request: FluxRequest } | { ok: false; error: InvalidInput };

export interface ParseOptions {
  /** Model used when the request names none (`FLUX_MODEL`). */
  defaultModel?: ModelId;
  /** Seed source when the request names none; injectable for tests. */
  randomSeed?: () => number;
  /**
   * Accept image prompt links written as private or loopback addresses. Off for everything a server member types; the
   * operator CLI follows ALLOW_PRIVATE_URLS. This check cannot resolve names: a name that leads to a private address
   * is refused by the guarded downloader, which fetches member links before any provider on the operator's network
   * (Cog, a private proxy) sees them.
   */
  allowPrivateImageLinks?: boolean;
}

export function randomSeed(): number {
  return randomInt(0, FIELD_RANGES.seed.max);
}

/**
 * Validates a person's request against the schema and the chosen model, fills the model's defaults, rounds a custom
 * size to multiples of 32 as the API does, and decides the seed. Expected failures are returned, not thrown; the
 * error names the field and says what is allowed.
 */
export function parseFluxRequest(input: unknown, options: ParseOptions = {}): ParseResult {
  const parsed = FluxRequestInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0] === undefined ? undefined : String(issue.path[0]);
    let message = issue?.message ?? 'invalid request';
    if (issue?.code === 'unrecognized_keys') message = `unknown option ${issue.keys.join(', ')}`;
    return fail(message, field ?? (issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined));
  }
  const input_ = parsed.data;
  const model = input_.model ?? options.defaultModel ?? DEFAULT_MODEL;
  const spec = MODELS[model];

  let images = input_.images && input_.images.length > 0 ? input_.images : undefined;
  // FLUX.1's image prompt (Redux) keeps its meaning: on a model that takes no reference images but an image prompt,
  // one image given as `images` is that image prompt, so "give it my image" works the same on every model.
  if (images !== undefined && spec.images === undefined && spec.imagePrompt && images.length === 1 && input_.image_prompt === undefined) {
    input_.image_prompt = images[0];
    images = undefined;
  }
  if (images !== undefined) {
    if (spec.images === undefined) {
      const hint = spec.imagePrompt ? ' (it takes one image prompt: give a single image)' : '';
      return fail(`images: ${model} takes no reference images${hint}; choose a FLUX.2 or Kontext model to edit an image`, 'images');
    }
    if (images.length > spec.images.max) {
      return fail(`images: ${model} takes at most ${spec.images.max} reference image${spec.images.max === 1 ? '' : 's'} (${images.length} given)`, 'images');
    }
    if (!options.allowPrivateImageLinks) {
      const bad = images.findIndex((v) => isPrivateLink(v));
      if (bad >= 0) return fail(`image ${bad + 1} must not point to a private or local network address`, 'images');
    }
  } else if (spec.images?.required) {
    return fail(`${model} edits an image: give a reference image (images)`, 'images');
  }

  if (input_.image_prompt !== undefined && !options.allowPrivateImageLinks && isPrivateLink(input_.image_prompt)) {
    return fail('image_prompt must not point to a private or local network address', 'image_prompt');
  }
  const refuse = (field: string) => fail(`${field} is not supported by ${model}`, field);
  if (input_.image_prompt !== undefined && !spec.imagePrompt) return refuse('image_prompt');
  if (input_.prompt_upsampling !== undefined && !spec.promptUpsampling) return refuse('prompt_upsampling');
  if (input_.output_quality !== undefined && !spec.outputQuality) return refuse('output_quality');
  if (input_.raw !== undefined && !spec.raw) return refuse('raw');
  const strength = input_.image_prompt_strength;
  if (strength !== undefined) {
    const range = spec.imagePromptStrength;
    if (range === undefined) return refuse('image_prompt_strength');
    if (strength < range.min || strength > range.max) {
      return fail(`image_prompt_strength must be between ${range.min} and ${range.max} for ${model}`, 'image_prompt_strength');
    }
    if (input_.image_prompt === undefined) return fail('image_prompt_strength only applies with an image_prompt', 'image_prompt_strength');
  }

  const ranged: Array<['steps' | 'guidance' | 'interval' | 'safety_tolerance', NumberRange | undefined]> = [
    ['steps', spec.steps],
    ['guidance', spec.guidance],
    ['interval', spec.interval],
    ['safety_tolerance', spec.safetyTolerance],
  ];
  const values: Partial<Record<(typeof ranged)[number][0], number>> = {};
  for (const [field, range] of ranged) {
    const value = input_[field];
    if (range === undefined) {
      if (value !== undefined) return refuse(field);
      continue;
    }
    if (value !== undefined && (value < range.min || value > range.max)) {
      return fail(`${field} must be between ${range.min} and ${range.max} for ${model}`, field);
    }
    values[field] = value ?? range.default;
  }

  const sizeGiven = input_.width !== undefined || input_.height !== undefined;
  // Edits follow the shape of the image edited unless the person says otherwise.
  const matchInput = input_.aspect_ratio === 'match_input_image' || (input_.aspect_ratio === undefined && !sizeGiven && images !== undefined);
  if (matchInput) {
    if (images === undefined) return fail('aspect_ratio match_input_image needs a reference image (images)', 'aspect_ratio');
    if (sizeGiven) return fail('width and height only apply with aspect_ratio custom', input_.width !== undefined ? 'width' : 'height');
  }
  let aspect: AspectRatio =
    input_.aspect_ratio === undefined || input_.aspect_ratio === 'match_input_image' ? (sizeGiven ? 'custom' : spec.defaultAspectRatio) : input_.aspect_ratio;
  if (!spec.aspectRatios.includes(aspect)) {
    if (aspect === 'custom') return fail(`width and height are not supported by ${model}; choose an aspect_ratio`, sizeGiven ? 'width' : 'aspect_ratio');
    return fail(`aspect_ratio must be one of ${spec.aspectRatios.join(', ')} for ${model}`, 'aspect_ratio');
  }
  let custom: { width: number; height: number } | undefined;
  if (aspect === 'custom') {
    if (input_.width === undefined || input_.height === undefined) {
      return fail('a custom size needs both width and height', input_.width === undefined ? 'width' : 'height');
    }
    const size = spec.customSize!;
    for (const side of ['width', 'height'] as const) {
      const value = input_[side]!;
      if (value < size.min || value > size.max) return fail(`${side} must be between ${size.min} and ${size.max} for ${model}`, side);
    }
    const clamp = (v: number) => Math.min(size.max, Math.max(size.min, roundTo(v, size.multiple)));
    custom = { width: clamp(input_.width), height: clamp(input_.height) };
    if (size.maxPixels !== undefined && custom.width * custom.height > size.maxPixels) {
      const mp = (size.maxPixels / (1024 * 1024)).toFixed(0);
      return fail(`width × height must be at most ${mp} megapixels for ${model} (${custom.width}×${custom.height} asked)`, 'width');
    }
  } else if (sizeGiven) {
    return fail('width and height only apply with aspect_ratio custom', input_.width !== undefined ? 'width' : 'height');
  }
  aspect = aspect as AspectRatio;
  const { width, height } = pixelSize(model, aspect, custom);

  const request: FluxRequest = {
    prompt: input_.prompt,
    model,
    aspect_ratio: aspect,
    width,
    height,
    seed: input_.seed ?? (options.randomSeed ?? randomSeed)(),
    output_format: (input_.output_format ?? 'webp') as OutputFormat,
    ...values,
  };
  if (input_.image_prompt !== undefined) request.image_prompt = input_.image_prompt;
  if (images !== undefined) request.images = [...images];
  if (matchInput) request.match_input_image = true;
  if (input_.count !== undefined && input_.count > 1) request.count = input_.count;
  if (input_.raw !== undefined) request.raw = input_.raw;
  if (strength !== undefined) request.image_prompt_strength = strength;
  if (spec.promptUpsampling) request.prompt_upsampling = input_.prompt_upsampling ?? false;
  if (spec.outputQuality) request.output_quality = input_.output_quality ?? FIELD_RANGES.output_quality.default;
  return { ok: true, request };
}

/**
 * The size of a request that follows its first reference image (`match_input_image`), once that image's size is known:
 * on a model with custom sizes, the image's shape at the model's usual area (FLUX.2: one megapixel) in its multiples;
 * otherwise the model's ratio nearest to the image's. The flag is dropped. Unknown size: the default size stays.
 */
export function matchInputImage(request: FluxRequest, first: { width: number; height: number } | undefined): FluxRequest {
  if (!request.match_input_image) return request;
  const { match_input_image: _flag, ...rest } = request;
  if (!first || first.width <= 0 || first.height <= 0) return rest;
  const spec = MODELS[request.model];
  const shape = first.width / first.height;
  const custom = spec.customSize;
  if (custom && spec.aspectRatios.includes('custom')) {
    const area = spec.sizes.kind === 'area' ? spec.sizes.area : 1024 * 1024;
    const clamp = (v: number) => Math.min(custom.max, Math.max(custom.min, roundTo(v, custom.multiple)));
    let width = clamp(Math.sqrt(area * shape));
    let height = clamp(Math.sqrt(area / shape));
    if (custom.maxPixels !== undefined && width * height > custom.maxPixels) {
      const scale = Math.sqrt(custom.maxPixels / (width * height));
      width = clamp(Math.floor((width * scale) / custom.multiple) * custom.multiple);
      height = clamp(Math.floor((height * scale) / custom.multiple) * custom.multiple);
    }
    return { ...rest, aspect_ratio: 'custom', width, height };
  }
  const ratios = spec.aspectRatios.filter((r): r is Exclude<AspectRatio, 'custom'> => r !== 'custom');
  const distance = (r: string) => {
    const [a, b] = r.split(':').map(Number) as [number, number];
    return Math.abs(Math.log(a / b) - Math.log(shape));
  };
  const nearest = ratios.reduce((best, r) => (distance(r) < distance(best) ? r : best), ratios[0]!);
  return { ...rest, aspect_ratio: nearest, ...pixelSize(request.model, nearest) };
}

/** How many images a request makes (1 unless it is a gallery). */
export function imageCount(request: Pick<FluxRequest, 'count'>): number {
  return request.count ?? 1;
}

/** The seed of image `index` of a request: `seed + index`, wrapping within the seed range. */
export function gallerySeed(request: Pick<FluxRequest, 'seed'>, index: number): number {
  return (request.seed + index) % (FIELD_RANGES.seed.max + 1);
}

/** Same request, new seed: what a reroll runs. */
export function withNewSeed(request: FluxRequest, seed: number = randomSeed()): FluxRequest {
  return { ...request, seed };
}

function fail(message: string, field?: string): { ok: false; error: InvalidInput } {
  return { ok: false, error: new InvalidInput(message, field) };
}
