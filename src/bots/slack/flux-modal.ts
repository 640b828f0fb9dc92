import type { types, ViewOutput } from '@slack/bolt';
import { z } from 'zod';
import { IMAGE_SLOTS } from '../../commands/flux.js';
import { MAX_IMAGES } from '../../core/request.js';
import { truncate } from '../../core/text.js';
import type { CommandOption } from '../../commands/definition.js';
import { convert, imageEntry, SLACK_FLUX_OPTIONS, type ImageEntry, type SlackFileRef } from './flux-text.js';
import { checkFileMeta } from './image-prompt.js';
import { checkReferenceFileMeta } from './reference-files.js';
import { describeValues, MODAL_TITLE } from './slack-text.js';

/** callback_id of the /flux modal. */
export const FLUX_MODAL_ID = 'fluxbot_generate';
/** The block (and action) of reference image links, right after the reference image files. */
export const IMAGE_LINKS_ID = 'image_links';
/** The reference images option (`image`): one file input for several files here. */
const IMAGE_OPTION = IMAGE_SLOTS[0];
/** Most files one file input takes (Slack's own limit, and the most reference images any model takes). */
const MAX_MODAL_FILES = Math.min(10, MAX_IMAGES);

const plain = (text: string) => ({ type: 'plain_text' as const, text });
const label = (name: string) => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

/** One input block per /flux option, generated from FLUX_OPTIONS (selects for choices, ranged numbers, a file input). */
function inputBlock(option: CommandOption): Record<string, unknown> {
  const accepts =
    option.name === IMAGE_OPTION
      ? `up to ${MAX_MODAL_FILES} PNG, JPEG, WebP or GIF images of up to 10 MB each, in order; links go below`
      : option.type === 'attachment'
        ? 'a PNG, JPEG or WebP image up to 10 MB'
        : describeValues(option);
  const hint = `${option.description} (${accepts})`;
  const title = option.name === 'image_prompt' ? 'image_prompt (file)' : option.name === IMAGE_OPTION ? 'images (files)' : option.name;
  return {
    type: 'input',
    block_id: option.name,
    optional: option.required !== true,
    label: plain(label(title)),
    ...(option.name === 'prompt' ? {} : { hint: plain(truncate(hint, 2000)) }),
    element: element(option),
  };
}

function element(option: CommandOption): Record<string, unknown> {
  const base = { action_id: option.name };
  if (option.choices) {
    return { ...base, type: 'static_select', placeholder: plain('Default'), options: option.choices.map((c) => ({ text: plain(c), value: c })) };
  }
  switch (option.type) {
    case 'integer':
    case 'number':
      return {
        ...base,
        type: 'number_input',
        is_decimal_allowed: option.type === 'number',
        ...(option.min === undefined ? {} : { min_value: String(option.min) }),
        ...(option.max === undefined ? {} : { max_value: String(option.max) }),
        // One image unless the person asks for a gallery.
        ...(option.name === 'count' ? { initial_value: '1' } : {}),
      };
    case 'boolean':
      return { ...base, type: 'checkboxes', options: [{ text: plain(option.description), value: 'true' }] };
    case 'attachment':
      if (option.name === IMAGE_OPTION) return { ...base, type: 'file_input', filetypes: ['png', 'jpg', 'jpeg', 'webp', 'gif'], max_files: MAX_MODAL_FILES };
      return { ...base, type: 'file_input', filetypes: ['png', 'jpg', 'jpeg', 'webp'], max_files: 1 };
    default:
      if (option.name === 'prompt') return { ...base, type: 'plain_text_input', multiline: true, ...(option.maxLength ? { max_length: option.maxLength } : {}) };
      if (option.name.endsWith('_url')) return { ...base, type: 'url_text_input' };
      return { ...base, type: 'plain_text_input', ...(option.maxLength ? { max_length: option.maxLength } : {}) };
  }
}

/** The /flux modal; the channel it was opened from travels in private_metadata. */
export function fluxModal(channelId: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: FLUX_MODAL_ID,
    private_metadata: JSON.stringify({ channel: channelId }),
    title: plain(MODAL_TITLE),
    submit: plain('Generate'),
    close: plain('Cancel'),
    blocks: SLACK_FLUX_OPTIONS.flatMap((option) => (option.name === IMAGE_OPTION ? [inputBlock(option), imageLinksBlock()] : [inputBlock(option)])) as unknown as types.ModalView['blocks'],
  };
}

/** Links to reference images, one per line: they follow the files in `images`. */
function imageLinksBlock(): Record<string, unknown> {
  return {
    type: 'input',
    block_id: IMAGE_LINKS_ID,
    optional: true,
    label: plain('Image links'),
    hint: plain('Links to reference images (FLUX.2, Kontext), one per line, or Slack file links; they come after the files above, in order'),
    element: { action_id: IMAGE_LINKS_ID, type: 'plain_text_input', multiline: true, max_length: 3000 },
  };
}

export function modalChannel(view: ViewOutput): string | undefined {
  try {
    const meta = JSON.parse(view.private_metadata) as { channel?: unknown };
    return typeof meta.channel === 'string' ? meta.channel : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One element's state as Slack sends it. Checked, not cast: a value of another shape (a changed or buggy client) is
 * answered as an error under its field instead of throwing inside the handler, which would leave the form unanswered.
 */
const ElementState = z.object({
  type: z.string().optional(),
  value: z.string().nullable().optional(),
  selected_option: z.object({ value: z.string() }).nullable().optional(),
  selected_options: z.array(z.object({ value: z.string() })).optional(),
  files: z
    .array(
      z.object({
        id: z.string(),
        name: z.string().optional(),
        mimetype: z.string().optional(),
        size: z.number().optional(),
        url_private_download: z.string().optional(),
        url_private: z.string().optional(),
      }),
    )
    .optional(),
});
type ElementState = z.infer<typeof ElementState>;
const StateValues = z.record(z.string(), z.record(z.string(), z.unknown()));

const UNREADABLE_FIELD = 'This field could not be read; please enter it again.';
const UNREADABLE_FORM = 'The form could not be read; please close it and open it again.';
/** Keys that must not name an error (they are the errors object's own machinery, or empty). */
const UNSAFE_KEYS = new Set(['', '__proto__', 'constructor', 'prototype']);

export type ModalInput =
  | { ok: true; input: Record<string, unknown>; slackFile?: SlackFileRef; images?: ImageEntry[] }
  | { ok: false; errors: Record<string, string> };

/**
 * Reads a view_submission into request input. Values are found by action_id (whatever block Slack put them in) and
 * checked like typed options; problems come back keyed by the block id so Slack shows them under the field.
 */
export function readModal(view: ViewOutput): ModalInput {
  const values = StateValues.safeParse((view as { state?: { values?: unknown } }).state?.values);
  if (!values.success) return { ok: false, errors: { [SLACK_FLUX_OPTIONS[0]!.name]: UNREADABLE_FORM } };
  const states = new Map<string, { blockId: string; state: unknown }>();
  for (const [blockId, actions] of Object.entries(values.data)) {
    for (const [actionId, state] of Object.entries(actions)) states.set(actionId, { blockId, state });
  }
  const input: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  let slackFile: SlackFileRef | undefined;
  const files: ImageEntry[] = [];
  for (const option of SLACK_FLUX_OPTIONS) {
    const found = states.get(option.name);
    if (!found) continue;
    const blockId = blockFor(states, option.name);
    const parsed = ElementState.safeParse(found.state);
    if (!parsed.success) {
      errors[blockId] = UNREADABLE_FIELD;
      continue;
    }
    const state: ElementState = parsed.data;
    if (option.name === IMAGE_OPTION) {
      // Each file is checked by its metadata now (under the field); the bot downloads and checks the bytes after.
      for (const [i, file] of (state.files ?? []).entries()) {
        const problem = checkReferenceFileMeta(file);
        if (problem) {
          errors[blockId] ??= `Image ${i + 1} (${truncate(file.name ?? file.id, 60)}) ${problem.replace(/^it /, '')}.`;
          continue;
        }
        files.push({ fileId: file.id });
      }
      continue;
    }
    if (option.type === 'attachment') {
      const file = state.files?.[0];
      if (!file) continue;
      const problem = checkFileMeta(file);
      if (problem) errors[blockId] = problem;
      else slackFile = { fileId: file.id };
      continue;
    }
    const raw = option.type === 'boolean' ? ((state.selected_options?.length ?? 0) > 0 ? 'true' : undefined) : (state.selected_option?.value ?? state.value ?? undefined);
    if (raw === undefined || raw === null || raw.trim() === '') continue;
    if (option.name === 'prompt') {
      input.prompt = raw;
      continue;
    }
    const converted = convert(option, raw);
    if ('error' in converted) errors[blockId] = converted.error.replace(/`/g, '');
    else if (converted.slackFile) slackFile = converted.slackFile;
    else input[option.name === 'image_prompt_url' ? 'image_prompt' : option.name] = converted.value;
  }
  if (slackFile && input.image_prompt !== undefined) errors[blockFor(states, 'image_prompt_url')] = 'Give either a file or a link, not both.';
  const links = readImageLinks(states, files.length, errors);
  const images = [...files, ...links];
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, input, ...(slackFile ? { slackFile } : {}), ...(images.length > 0 ? { images } : {}) };
}

/** The image links block, one link (or Slack file link) per line; a bad line is an error under the block. */
function readImageLinks(states: Map<string, { blockId: string; state: unknown }>, before: number, errors: Record<string, string>): ImageEntry[] {
  const found = states.get(IMAGE_LINKS_ID);
  if (!found) return [];
  const blockId = blockFor(states, IMAGE_LINKS_ID);
  const parsed = ElementState.safeParse(found.state);
  if (!parsed.success) {
    errors[blockId] = UNREADABLE_FIELD;
    return [];
  }
  const option = SLACK_FLUX_OPTIONS.find((o) => o.name === IMAGE_OPTION)!;
  const entries: ImageEntry[] = [];
  const lines = (parsed.data.value ?? '').split(/\s*\n\s*/).map((line) => line.trim()).filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const entry = imageEntry(option, line);
    if ('error' in entry) {
      errors[blockId] ??= `Image ${before + i + 1}: ${truncate(line, 80)} is not a link.`;
      continue;
    }
    entries.push(entry);
  }
  return entries;
}

/** The block id holding an option's element (for `response_action: errors` on a field the core named). */
export function blockFor(states: Map<string, { blockId: string }> | ViewOutput, field: string | undefined): string {
  const name = field ?? 'prompt';
  const blockId =
    states instanceof Map
      ? states.get(name)?.blockId
      : Object.entries(states.state.values).find(([, actions]) => actions && typeof actions === 'object' && name in actions)?.[0];
  return blockId === undefined || UNSAFE_KEYS.has(blockId) ? name : blockId;
}
