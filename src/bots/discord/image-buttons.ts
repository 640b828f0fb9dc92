import { ButtonStyle, ComponentType, TextInputStyle, type APIActionRowComponent, type APIButtonComponentWithCustomId, type APIModalInteractionResponseCallbackData } from 'discord.js';
import { EDIT_MODELS } from '../../core/queue/image-actions.js';
import { MAX_PROMPT_LENGTH } from '../../core/request.js';

/**
 * The buttons under a delivered image and on a status message, and the Edit modal. A `custom_id` carries only the
 * action and the job id (`flux:vary:j…`): everything an action needs is in the job record found by the message the
 * button is on, so buttons work after restarts and on messages the client never cached, and a button whose job id
 * is not the record's (forged, or stale) is refused. The modal's id names the image message and job, and the click
 * that opened it: that click's id is the dedupe key of the edit, so the same modal submitted twice is charged once.
 */

export const IMAGE_ACTIONS = ['reroll', 'vary', 'edit', 'delete'] as const;
export type ImageAction = (typeof IMAGE_ACTIONS)[number];
export type ButtonAction = ImageAction | 'cancel';

/** Input ids of the Edit modal. */
export const EDIT_PROMPT_INPUT = 'prompt';
export const EDIT_MODEL_INPUT = 'model';

const JOB_ID = 'j[0-9a-f]{32}';
const BUTTON_ID = new RegExp(`^flux:(reroll|vary|edit|delete|cancel):(${JOB_ID})$`);
const MODAL_ID = new RegExp(`^flux:edit-modal:(\\d{1,20}):(${JOB_ID}):(\\d{1,20})$`);

export function buttonId(action: ButtonAction, jobId: string): string {
  return `flux:${action}:${jobId}`;
}

/** The action and job of a button's `custom_id`, or undefined for anything this bot never posted. */
export function parseButtonId(customId: string): { action: ButtonAction; jobId: string } | undefined {
  const match = BUTTON_ID.exec(customId);
  return match ? { action: match[1] as ButtonAction, jobId: match[2]! } : undefined;
}

export function editModalId(messageId: string, jobId: string, clickId: string): string {
  return `flux:edit-modal:${messageId}:${jobId}:${clickId}`;
}

/** The image message, its job and the click that opened an Edit modal, from the modal's `custom_id`. */
export function parseEditModalId(customId: string): { messageId: string; jobId: string; clickId: string } | undefined {
  const match = MODAL_ID.exec(customId);
  return match ? { messageId: match[1]!, jobId: match[2]!, clickId: match[3]! } : undefined;
}

const LABELS: Record<ButtonAction, { emoji: string; label: string; style: ButtonStyle }> = {
  reroll: { emoji: '🔄', label: 'Reroll', style: ButtonStyle.Secondary },
  edit: { emoji: '✏️', label: 'Edit', style: ButtonStyle.Secondary },
  vary: { emoji: '🔀', label: 'Vary', style: ButtonStyle.Secondary },
  delete: { emoji: '🗑️', label: 'Delete', style: ButtonStyle.Danger },
  cancel: { emoji: '✖️', label: 'Cancel', style: ButtonStyle.Secondary },
};

function button(action: ButtonAction, jobId: string): APIButtonComponentWithCustomId {
  const { emoji, label, style } = LABELS[action];
  return { type: ComponentType.Button, style, label, emoji: { name: emoji }, custom_id: buttonId(action, jobId) } as APIButtonComponentWithCustomId;
}

type ButtonRow = APIActionRowComponent<APIButtonComponentWithCustomId>;

/** The one action row under a delivered image: Reroll, Edit, Vary, Delete. */
export function imageButtons(jobId: string): ButtonRow[] {
  return [{ type: ComponentType.ActionRow, components: (['reroll', 'edit', 'vary', 'delete'] as const).map((a) => button(a, jobId)) }];
}

/** The Cancel button of a queued or running job's status message. */
export function cancelButtons(jobId: string): ButtonRow[] {
  return [{ type: ComponentType.ActionRow, components: [button('cancel', jobId)] }];
}

/**
 * The Edit modal: what to change (the prompt of the edit) and the model, a text input filled with the edit model, as
 * the models that edit are more than a short label can list (the answer names them when another is typed).
 */
export function editModal(messageId: string, jobId: string, clickId: string, editModel: string): APIModalInteractionResponseCallbackData {
  return editModalWithId(editModalId(messageId, jobId, clickId), editModel);
}

/** The Edit modal under any `custom_id` (Edit with FLUX names the image differently: see edit-with-flux.ts). */
export function editModalWithId(customId: string, editModel: string): APIModalInteractionResponseCallbackData {
  return {
    custom_id: customId,
    title: 'Edit this image',
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: EDIT_PROMPT_INPUT,
            style: TextInputStyle.Paragraph,
            label: 'What should change?',
            placeholder: 'e.g. make it night, add a red umbrella',
            required: true,
            max_length: Math.min(MAX_PROMPT_LENGTH, 4000),
          },
        ],
      },
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: EDIT_MODEL_INPUT,
            style: TextInputStyle.Short,
            label: 'Model (one that edits images)',
            placeholder: EDIT_MODELS.slice(0, 3).join(', '),
            value: editModel,
            required: false,
            max_length: 40,
          },
        ],
      },
    ],
  };
}
