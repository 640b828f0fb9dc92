import type { types, ViewOutput } from '@slack/bolt';
import { FLUX_OPTIONS } from '../../commands/flux.js';
import type { CommandOption } from '../../commands/definition.js';
import { convert, type SlackFileRef } from './flux-text.js';
import { checkFileMeta, type SlackFileMeta } from './image-prompt.js';
import { describeValues, MODAL_TITLE } from './slack-text.js';

/** callback_id of the /flux modal. */
export const FLUX_MODAL_ID = 'fluxbot_generate';

const plain = (text: string) => ({ type: 'plain_text' as const, text });
const label = (name: string) => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

/** One input block per /flux option, generated from FLUX_OPTIONS (selects for choices, ranged numbers, a file input). */
function inputBlock(option: CommandOption): Record<string, unknown> {
  const accepts = option.type === 'attachment' ? 'a PNG, JPEG or WebP image up to 10 MB' : describeValues(option);
  const hint = `${option.description} (${accepts})`;
  return {
    type: 'input',
    block_id: option.name,
    optional: option.required !== true,
    label: plain(label(option.name === 'image_prompt' ? 'image_prompt (file)' : option.name)),
    ...(option.name === 'prompt' ? {} : { hint: plain(hint.slice(0, 2000)) }),
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
      };
    case 'boolean':
      return { ...base, type: 'checkboxes', options: [{ text: plain(option.description), value: 'true' }] };
    case 'attachment':
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
    blocks: FLUX_OPTIONS.map(inputBlock) as unknown as types.ModalView['blocks'],
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

type ElementState = {
  type?: string;
  value?: string | null;
  selected_option?: { value?: string } | null;
  selected_options?: Array<{ value?: string }>;
  files?: SlackFileMeta[];
};

export type ModalInput =
  | { ok: true; input: Record<string, unknown>; slackFile?: SlackFileRef }
  | { ok: false; errors: Record<string, string> };

/**
 * Reads a view_submission into request input. Values are found by action_id (whatever block Slack put them in) and
 * checked like typed options; problems come back keyed by the block id so Slack shows them under the field.
 */
export function readModal(view: ViewOutput): ModalInput {
  const states = new Map<string, { blockId: string; state: ElementState }>();
  for (const [blockId, actions] of Object.entries(view.state.values)) {
    for (const [actionId, state] of Object.entries(actions)) states.set(actionId, { blockId, state: state as ElementState });
  }
  const input: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  let slackFile: SlackFileRef | undefined;
  for (const option of FLUX_OPTIONS) {
    const found = states.get(option.name);
    if (!found) continue;
    const { blockId, state } = found;
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
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return slackFile ? { ok: true, input, slackFile } : { ok: true, input };
}

/** The block id holding an option's element (for `response_action: errors` on a field the core named). */
export function blockFor(states: Map<string, { blockId: string }> | ViewOutput, field: string | undefined): string {
  const name = field ?? 'prompt';
  if (states instanceof Map) return states.get(name)?.blockId ?? name;
  for (const [blockId, actions] of Object.entries(states.state.values)) if (name in actions) return blockId;
  return name;
}
