import type { ServerResponse } from 'node:http';
import { MODELS, pixelSize, type AspectRatio, type ModelId, type ProviderName } from '../../src/core/models.js';
import { sendJson } from './fake-server.js';

/**
 * What the Replicate and Cog fakes share: Replicate's error bodies, its safety-refusal wordings, each model's input
 * schema as Replicate publishes it (written out here, independently of the catalogue, so a wrong mapping fails), and
 * the image a FLUX model renders for an input (size, format, output shape). `readInputImage` (how a service reads an
 * image it is given) is shared with the fal and BFL fakes too.
 */

/** The real 429 body; its "resets in ~30s" is all a client gets when Retry-After is absent. */
export const THROTTLED = 'Request was throttled. Your rate limit resets in ~30s.';

export const PROBLEMS = {
  '500': { title: 'Internal Server Error', detail: 'Internal server error' },
  '401': { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token' },
  '402': {
    title: 'Insufficient credit',
    detail: 'You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.',
  },
  '422': { title: 'Input validation failed', detail: '- input.prompt: prompt is required' },
} as const;

/** How failed predictions read: Replicate's E005 wording, the FLUX safety checker's, and an ordinary model error. */
export const PREDICTION_ERRORS = {
  moderate: 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)',
  nsfw: 'NSFW content detected. Try running it again, or try a different prompt.',
  fail: 'CUDA out of memory. Tried to allocate 2.00 GiB',
} as const;

/** Replicate's problem+json error. */
export function problem(res: ServerResponse, status: number, p: { title: string; detail: string }): void {
  sendJson(res, status, { ...p, status }, { 'content-type': 'application/problem+json' });
}

/** `Prefer: wait` is 60 s, `wait=N` is N (1..60). */
export function preferWait(header: string | string[] | undefined): number | undefined {
  const match = typeof header === 'string' ? /\bwait(?:=(\d+))?/.exec(header) : null;
  if (!match) return undefined;
  return Math.min(60, Math.max(1, Number(match[1] ?? 60)));
}

/** One input field of a Replicate schema. `uri`: a link or a `data:` URI (file inputs); `images`: a reference image. */
interface FieldRule {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'uri' | 'uri[]';
  min?: number;
  max?: number;
  enum?: readonly string[];
  maxItems?: number;
  images?: true;
}

interface ModelSchema {
  /** `owner/name` on Replicate. */
  replicate: string;
  fields: Record<string, FieldRule>;
  /** The output is an array of URLs (else a single URL string). */
  array: boolean;
}

const FLUX_1_RATIOS = ['custom', '1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '9:16', '3:4', '4:3'];
const WIDE_RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];
const FLUX_2_RATIOS = ['match_input_image', 'custom', '1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '9:16', '3:4', '4:3'];
const KONTEXT_RATIOS = ['match_input_image', '1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3', '4:5', '5:4', '21:9', '9:21', '2:1', '1:2'];
const ALL_FORMATS = ['webp', 'jpg', 'png'];

const prompt: FieldRule = { type: 'string' };
const seed: FieldRule = { type: 'integer' };
const quality: FieldRule = { type: 'integer', min: 0, max: 100 };
const side = (max: number): FieldRule => ({ type: 'integer', min: 256, max });
const enumOf = (values: readonly string[]): FieldRule => ({ type: 'string', enum: values });
const references = (maxItems: number): FieldRule => ({ type: 'uri[]', maxItems, images: true });

const FLUX_1_PRO = {
  prompt,
  image_prompt: { type: 'uri' },
  aspect_ratio: enumOf(FLUX_1_RATIOS),
  width: side(1440),
  height: side(1440),
  safety_tolerance: { type: 'integer', min: 1, max: 6 },
  seed,
  prompt_upsampling: { type: 'boolean' },
  output_format: enumOf(ALL_FORMATS),
  output_quality: quality,
} as const satisfies Record<string, FieldRule>;

const OPEN_FLUX_1 = {
  prompt,
  aspect_ratio: enumOf(WIDE_RATIOS),
  num_outputs: { type: 'integer', min: 1, max: 4 },
  seed,
  output_format: enumOf(ALL_FORMATS),
  output_quality: quality,
  disable_safety_checker: { type: 'boolean' },
  go_fast: { type: 'boolean' },
  megapixels: enumOf(['1', '0.25']),
} as const satisfies Record<string, FieldRule>;

const FLUX_2 = {
  prompt,
  aspect_ratio: enumOf(FLUX_2_RATIOS),
  resolution: enumOf(['match_input_image', '0.5 MP', '1 MP', '2 MP', '4 MP']),
  width: side(2048),
  height: side(2048),
  safety_tolerance: { type: 'integer', min: 1, max: 5 },
  seed,
  output_format: enumOf(ALL_FORMATS),
  output_quality: quality,
} as const satisfies Record<string, FieldRule>;

/** Open FLUX.2 weights on Replicate: no safety tolerance, a safety checker and `go_fast` instead. */
const OPEN_FLUX_2 = {
  prompt,
  aspect_ratio: enumOf(FLUX_2_RATIOS),
  width: side(2048),
  height: side(2048),
  seed,
  go_fast: { type: 'boolean' },
  disable_safety_checker: { type: 'boolean' },
  output_format: enumOf(ALL_FORMATS),
  output_quality: quality,
} as const satisfies Record<string, FieldRule>;

const KLEIN = { ...OPEN_FLUX_2, images: references(5), output_megapixels: enumOf(['0.25', '0.5', '1', '2', '4']) };

const KONTEXT = {
  prompt,
  input_image: { type: 'uri', images: true },
  aspect_ratio: enumOf(KONTEXT_RATIOS),
  seed,
  prompt_upsampling: { type: 'boolean' },
  safety_tolerance: { type: 'integer', min: 0, max: 6 },
  output_format: enumOf(['jpg', 'png']),
} as const satisfies Record<string, FieldRule>;

/** Each model's schema on Replicate (the Cog container built from it takes the same input). */
export const SCHEMAS: Record<ModelId, ModelSchema> = {
  'flux-pro': {
    replicate: 'black-forest-labs/flux-pro',
    fields: { ...FLUX_1_PRO, steps: { type: 'integer', min: 1, max: 50 }, guidance: { type: 'number', min: 2, max: 5 }, interval: { type: 'number', min: 1, max: 4 } },
    array: false,
  },
  'flux-1.1-pro': { replicate: 'black-forest-labs/flux-1.1-pro', fields: FLUX_1_PRO, array: false },
  'flux-1.1-pro-ultra': {
    replicate: 'black-forest-labs/flux-1.1-pro-ultra',
    fields: {
      prompt,
      image_prompt: { type: 'uri' },
      image_prompt_strength: { type: 'number', min: 0, max: 1 },
      aspect_ratio: enumOf(WIDE_RATIOS),
      safety_tolerance: { type: 'integer', min: 1, max: 6 },
      seed,
      raw: { type: 'boolean' },
      output_format: enumOf(['jpg', 'png']),
    },
    array: false,
  },
  'flux-dev': {
    replicate: 'black-forest-labs/flux-dev',
    fields: { ...OPEN_FLUX_1, num_inference_steps: { type: 'integer', min: 1, max: 50 }, guidance: { type: 'number', min: 0, max: 10 } },
    array: true,
  },
  'flux-schnell': { replicate: 'black-forest-labs/flux-schnell', fields: { ...OPEN_FLUX_1, num_inference_steps: { type: 'integer', min: 1, max: 4 } }, array: true },
  'flux-2-pro': { replicate: 'black-forest-labs/flux-2-pro', fields: { ...FLUX_2, input_images: references(8) }, array: false },
  'flux-2-max': { replicate: 'black-forest-labs/flux-2-max', fields: { ...FLUX_2, input_images: references(8) }, array: false },
  'flux-2-flex': {
    replicate: 'black-forest-labs/flux-2-flex',
    fields: {
      ...FLUX_2,
      input_images: references(10),
      steps: { type: 'integer', min: 1, max: 50 },
      guidance: { type: 'number', min: 1.5, max: 10 },
      prompt_upsampling: { type: 'boolean' },
    },
    array: false,
  },
  'flux-2-dev': { replicate: 'black-forest-labs/flux-2-dev', fields: { ...OPEN_FLUX_2, input_images: references(4) }, array: false },
  'flux-2-klein-4b': { replicate: 'black-forest-labs/flux-2-klein-4b', fields: KLEIN, array: true },
  'flux-2-klein-9b': { replicate: 'black-forest-labs/flux-2-klein-9b-base', fields: KLEIN, array: true },
  'flux-kontext-pro': { replicate: 'black-forest-labs/flux-kontext-pro', fields: KONTEXT, array: false },
  'flux-kontext-max': { replicate: 'black-forest-labs/flux-kontext-max', fields: KONTEXT, array: false },
};

/** Our model id for a provider's model name: Replicate's `owner/name` (from the schemas above), Cog's container name. */
export function modelIdOf(provider: ProviderName, model: string): ModelId | undefined {
  if (provider === 'replicate') return (Object.keys(SCHEMAS) as ModelId[]).find((id) => SCHEMAS[id].replicate === model);
  return (Object.keys(MODELS) as ModelId[]).find((id) => MODELS[id].providerIds[provider] === model);
}

/**
 * The input checked against the model's schema as Replicate does: the prompt is required, an unknown field or a value
 * of the wrong type or out of range is refused. Returns the 422 `detail` (Replicate's `- input.<field>: …` lines),
 * or undefined when the input is valid.
 */
export function validateInput(model: ModelId, input: Record<string, unknown> | undefined): string | undefined {
  if (!input || typeof input.prompt !== 'string' || input.prompt === '') return '- input.prompt: prompt is required';
  const fields = SCHEMAS[model].fields;
  for (const [name, value] of Object.entries(input)) {
    const rule = (fields as Record<string, FieldRule | undefined>)[name];
    if (rule === undefined) return `- input: Additional property ${name} is not allowed`;
    const wrong = checkValue(rule, value);
    if (wrong) return `- input.${name}: ${wrong}`;
  }
  if (input.aspect_ratio === 'custom' && (input.width === undefined || input.height === undefined)) {
    return '- input.width: width and height are required with a custom aspect ratio';
  }
  if (model.startsWith('flux-kontext') && input.input_image !== undefined && typeof input.safety_tolerance === 'number' && input.safety_tolerance > 2) {
    return '- input.safety_tolerance: safety_tolerance must be at most 2 with an input image';
  }
  return undefined;
}

function checkValue(rule: FieldRule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'string':
      if (typeof value !== 'string') return 'Invalid type. Expected: string';
      if (rule.enum && !rule.enum.includes(value)) return `${name(value)} must be one of the following: ${rule.enum.map((v) => `"${v}"`).join(', ')}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'Invalid type. Expected: boolean';
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `Invalid type. Expected: ${rule.type}`;
      if (rule.type === 'integer' && !Number.isInteger(value)) return 'Invalid type. Expected: integer, given: number';
      if (rule.min !== undefined && value < rule.min) return `Must be greater than or equal to ${rule.min}`;
      if (rule.max !== undefined && value > rule.max) return `Must be less than or equal to ${rule.max}`;
      return undefined;
    case 'uri':
      return isUri(value) ? undefined : 'Does not match format \'uri\'';
    case 'uri[]':
      if (!Array.isArray(value)) return 'Invalid type. Expected: array';
      if (rule.maxItems !== undefined && value.length > rule.maxItems) return `Array must have at most ${rule.maxItems} items`;
      return value.every(isUri) ? undefined : 'Does not match format \'uri\'';
  }
}

function name(value: string): string {
  return JSON.stringify(value);
}

function isUri(value: unknown): boolean {
  return typeof value === 'string' && (/^https?:\/\/[^\s]+$/.test(value) || /^data:[\w/+.-]+(;[\w=.-]+)*;base64,[A-Za-z0-9+/]*=*$/.test(value));
}

/** The input's reference images (the schema's image fields, in order: a list's items in their order), as sent. */
export function referenceImages(model: ModelId, input: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [field, rule] of Object.entries(SCHEMAS[model].fields as Record<string, FieldRule>)) {
    const value = input[field];
    if (!rule.images || value === undefined) continue;
    out.push(...(Array.isArray(value) ? (value as string[]) : [value as string]));
  }
  return out;
}

/**
 * An image as a service reads one it is given: a `data:` URI or bare base64 decoded, an http(s) link downloaded (as
 * Replicate, fal and BFL fetch links from their own network). Throws with the reason when it cannot be read.
 */
export async function readInputImage(source: string): Promise<Buffer> {
  if (/^https?:/i.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(5_000) });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (!res.ok) throw new Error(`could not download ${source}: HTTP ${res.status}`);
    return bytes;
  }
  const payload = source.startsWith('data:') ? source.slice(source.indexOf(',') + 1) : source;
  if (!/^[A-Za-z0-9+/]+=*$/.test(payload)) throw new Error('not a base64 image');
  return Buffer.from(payload, 'base64');
}

/** Whether the model's output is an array of URLs (flux-dev, schnell, klein) rather than one URL. */
export function returnsArray(model: ModelId): boolean {
  return SCHEMAS[model].array;
}

/** The image the model would render for this input: the ratio's pixel size (or the custom size), in the asked format. */
export function outputShape(model: ModelId, input: Record<string, unknown>): { width: number; height: number; format: 'png' | 'jpeg' | 'webp' } {
  const asked = input.aspect_ratio as AspectRatio | 'match_input_image' | undefined;
  const ratio = asked === undefined || asked === 'match_input_image' || !MODELS[model].aspectRatios.includes(asked) ? MODELS[model].defaultAspectRatio : asked;
  const size = ratio === 'custom' ? { width: Number(input.width ?? 1024), height: Number(input.height ?? 1024) } : pixelSize(model, ratio);
  const format = input.output_format === 'png' ? 'png' : input.output_format === 'jpg' ? 'jpeg' : 'webp';
  return { ...size, format };
}
