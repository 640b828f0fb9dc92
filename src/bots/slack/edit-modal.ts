import type { types, ViewOutput } from '@slack/bolt';
import { z } from 'zod';
import { MODELS, type ModelId } from '../../core/models.js';
import { EDIT_MODELS } from '../../core/queue/image-actions.js';
import { MAX_COUNT, MAX_PROMPT_LENGTH } from '../../core/request.js';
import { truncate } from '../../core/text.js';
import { parseImageButtonValue, type ImageButtonRef } from './image-buttons.js';

/** callback_id of the edit form (from an image's Edit button, or from the "Edit with FLUX" shortcut). */
export const EDIT_MODAL_ID = 'fluxbot_edit';
/** callback_id of the "Edit with FLUX" message shortcut (set it in the app's configuration). */
export const EDIT_SHORTCUT_ID = 'edit_with_flux';
export const EDIT_MODAL_TITLE = 'Edit with FLUX';

const FIELD = { image: 'image', prompt: 'prompt', model: 'model' } as const;

/**
 * What the edit form works on, carried in its private_metadata (Slack returns it as the app set it): a delivered image
 * (the record it is kept under), or a member's message and the image files on it.
 */
export type EditSubject =
  | { kind: 'image'; ref: ImageButtonRef; channel: string; /** Which image of a gallery (1-based: E3 is 3); absent for one image. */ n?: number | undefined }
  | { kind: 'message'; channel: string; threadTs: string; files: Array<{ id: string; name: string }> };

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });

function modelOption(id: ModelId) {
  return { text: plain(truncate(`${MODELS[id].label} (${id})`, 75)), value: id };
}

/** The edit form: the image (when the message has several), what to change, and the model among those that edit. */
export function editModal(subject: EditSubject, editModel: ModelId): types.ModalView {
  const blocks: Array<Record<string, unknown>> = [];
  if (subject.kind === 'message' && subject.files.length > 1) {
    blocks.push({
      type: 'input',
      block_id: FIELD.image,
      label: plain('Image'),
      element: {
        type: 'static_select',
        action_id: FIELD.image,
        initial_option: { text: plain(truncate(subject.files[0]!.name, 75)), value: subject.files[0]!.id },
        options: subject.files.slice(0, 100).map((f) => ({ text: plain(truncate(f.name, 75)), value: f.id })),
      },
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: FIELD.prompt,
      label: plain('What to change'),
      element: { type: 'plain_text_input', action_id: FIELD.prompt, multiline: true, max_length: MAX_PROMPT_LENGTH, placeholder: plain('e.g. make it night, add snow') },
    },
    {
      type: 'input',
      block_id: FIELD.model,
      label: plain('Model'),
      element: { type: 'static_select', action_id: FIELD.model, initial_option: modelOption(editModel), options: EDIT_MODELS.map(modelOption) },
    },
  );
  // Only what finds the subject again: message ids and file ids, never a link or a prompt.
  const metadata = subject.kind === 'message' ? { ...subject, files: subject.files.map((f) => ({ id: f.id, name: truncate(f.name, 60) })) } : subject;
  return {
    type: 'modal',
    callback_id: EDIT_MODAL_ID,
    private_metadata: JSON.stringify(metadata),
    title: plain(subject.kind === 'image' && subject.n !== undefined ? `Edit image ${subject.n} with FLUX` : EDIT_MODAL_TITLE),
    submit: plain('Edit'),
    close: plain('Cancel'),
    blocks: blocks as unknown as types.ModalView['blocks'],
  };
}

const Metadata = z.union([
  z.object({ kind: z.literal('image'), ref: z.object({ messageId: z.string(), jobId: z.string() }), channel: z.string(), n: z.number().int().min(1).max(MAX_COUNT).optional() }),
  z.object({ kind: z.literal('message'), channel: z.string(), threadTs: z.string(), files: z.array(z.object({ id: z.string(), name: z.string() })).min(1).max(100) }),
]);

export type EditInput =
  | { ok: true; subject: EditSubject; prompt: string; model: string; fileId?: string }
  | { ok: false; errors: Record<string, string> };

const State = z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullable().optional(), selected_option: z.object({ value: z.string() }).nullable().optional() }).passthrough()));

/** Reads the edit form's submission; problems come back keyed by block so Slack shows them under the field. */
export function readEditModal(view: ViewOutput): EditInput {
  let subject: EditSubject | undefined;
  try {
    const parsed = Metadata.safeParse(JSON.parse(view.private_metadata));
    if (parsed.success) subject = parsed.data;
  } catch {
    subject = undefined;
  }
  if (subject?.kind === 'image' && !parseImageButtonValue(`${subject.ref.messageId}|${subject.ref.jobId}`)) subject = undefined;
  const values = State.safeParse((view as { state?: { values?: unknown } }).state?.values);
  if (!subject || !values.success) return { ok: false, errors: { [FIELD.prompt]: 'The form could not be read; please close it and open it again.' } };
  const byAction = new Map<string, { blockId: string; value: string | undefined }>();
  for (const [blockId, actions] of Object.entries(values.data)) {
    for (const [actionId, state] of Object.entries(actions)) byAction.set(actionId, { blockId, value: state.selected_option?.value ?? state.value ?? undefined });
  }
  const prompt = byAction.get(FIELD.prompt)?.value?.trim() ?? '';
  const model = byAction.get(FIELD.model)?.value ?? '';
  const errors: Record<string, string> = {};
  const block = (field: string) => byAction.get(field)?.blockId ?? field;
  if (prompt === '') errors[block(FIELD.prompt)] = 'Say what to change.';
  let fileId: string | undefined;
  if (subject.kind === 'message') {
    const chosen = subject.files.length === 1 ? subject.files[0]!.id : byAction.get(FIELD.image)?.value;
    // Only an image of the message the form was opened on.
    if (!chosen || !subject.files.some((f) => f.id === chosen)) errors[block(FIELD.image)] = 'Choose one of the message’s images.';
    else fileId = chosen;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, subject, prompt, model, ...(fileId === undefined ? {} : { fileId }) };
}

/** The block an error about the model goes under. */
export function modelBlock(view: ViewOutput): string {
  return Object.entries(view.state.values).find(([, actions]) => actions && FIELD.model in actions)?.[0] ?? FIELD.model;
}

/** The block an error about the prompt goes under. */
export function promptBlock(view: ViewOutput): string {
  return Object.entries(view.state.values).find(([, actions]) => actions && FIELD.prompt in actions)?.[0] ?? FIELD.prompt;
}
