import { FIELD_RANGES, INPUT_ASPECT_RATIOS, MODEL_IDS, OUTPUT_FORMATS } from '../core/models.js';
import { MAX_COUNT, MAX_PROMPT_LENGTH } from '../core/request.js';
import type { CommandDefinition, CommandOption } from './definition.js';

const range = (name: keyof typeof FIELD_RANGES) => ({ min: FIELD_RANGES[name].min, max: FIELD_RANGES[name].max });

/**
 * The `/flux` options that hold reference images (the request's `images`), in order. Discord has no list options, so
 * it offers numbered attachment slots (four: a command takes at most 25 options); Slack and the playground read the
 * first slot, `image`, as a list (`image:` repeated, a file input for several files).
 */
export const IMAGE_SLOTS = ['image', 'image_2', 'image_3', 'image_4'] as const;

/** Whether an option is one of the numbered reference image slots after the first (`image_2` …), which only Discord shows. */
export function isNumberedImageSlot(name: string): boolean {
  return name !== IMAGE_SLOTS[0] && (IMAGE_SLOTS as readonly string[]).includes(name);
}

/** The `/flux` command: every request field plus the model. Names match FluxRequestInput (the image slots fill `images`). */
export const FLUX_OPTIONS: readonly CommandOption[] = [
  { name: 'prompt', description: 'What to draw', type: 'string', required: true, maxLength: MAX_PROMPT_LENGTH },
  { name: 'model', description: 'FLUX model', type: 'string', choices: MODEL_IDS },
  { name: 'aspect_ratio', description: 'Aspect ratio (custom uses width and height)', type: 'string', choices: INPUT_ASPECT_RATIOS },
  { name: 'count', description: `How many images (1–${MAX_COUNT}), made together`, type: 'integer', min: 1, max: MAX_COUNT },
  { name: 'width', description: 'Width in pixels for a custom size (rounded to 32)', type: 'integer', ...range('width') },
  { name: 'height', description: 'Height in pixels for a custom size (rounded to 32)', type: 'integer', ...range('height') },
  ...IMAGE_SLOTS.map((name, i): CommandOption => ({
    name,
    description: i === 0 ? 'An image to edit or combine (FLUX.2, Kontext)' : `Reference image ${i + 1} (FLUX.2, Kontext)`,
    type: 'attachment',
  })),
  { name: 'image_prompt', description: 'An image to guide the composition', type: 'attachment' },
  { name: 'image_prompt_url', description: 'Link to an image to guide the composition', type: 'string', maxLength: 2048 },
  { name: 'image_prompt_strength', description: 'How much the image prompt counts, 0-1 (ultra)', type: 'number', ...range('image_prompt_strength') },
  { name: 'steps', description: 'Diffusion steps', type: 'integer', ...range('steps') },
  { name: 'guidance', description: 'How closely to follow the prompt', type: 'number', ...range('guidance') },
  { name: 'interval', description: 'Variance in outputs (flux-pro)', type: 'number', ...range('interval') },
  { name: 'safety_tolerance', description: '1 is strictest, 6 most permissive', type: 'integer', ...range('safety_tolerance') },
  { name: 'seed', description: 'Seed for reproducible results', type: 'integer', ...range('seed') },
  { name: 'prompt_upsampling', description: 'Let the model enrich the prompt', type: 'boolean' },
  { name: 'raw', description: 'Less processed, more natural look (ultra)', type: 'boolean' },
  { name: 'output_format', description: 'Image format', type: 'string', choices: OUTPUT_FORMATS },
  { name: 'output_quality', description: 'Quality 0-100 for jpg and webp', type: 'integer', ...range('output_quality') },
];

export const fluxCommand: CommandDefinition = {
  name: 'flux',
  description: 'Generate an image with FLUX',
  options: FLUX_OPTIONS,
};

export const fluxQuotaCommand: CommandDefinition = {
  name: 'flux-quota',
  description: 'See how many images you can still generate today',
  ephemeral: true,
};
