import { ButtonStyle, ComponentType, TextInputStyle, type APIActionRowComponent, type APIButtonComponentWithCustomId, type APIModalInteractionResponseCallbackData } from 'discord.js';
import { EDIT_MODELS } from '../../core/queue/image-actions.js';
import { MAX_COUNT, MAX_PROMPT_LENGTH } from '../../core/request.js';

/**
 * The buttons under a delivered image on Discord and on a status message, and the Edit modal. A `custom_id` carries only the
 * action and the job id (`flux:vary:j…`), and for a gallery's Vary and Edit which image (`flux:vary:j…:2`, 1–4; none
 * means image 1): everything an action needs is in the job record found by the message the button is on, so buttons
 * work after restarts and on messages the client never cached, and a button whose job id is not the record's (forged,
 * or stale) is refused. The modal's id names the image message, job and image, and the click that opened it: that
 * click's id is the dedupe key of the edit, so the same modal submitted twice is charged once.
 */

export const IMAGE_ACTIONS = ['reroll', 'vary', 'edit', 'delete'] as const;
export type ImageAction = (typeof IMAGE_ACTIONS)[number];
export type ButtonAction = ImageAction | 'cancel';

/** Input ids of the Edit modal. */
export const EDIT_PROMPT_INPUT = 'prompt';
export const EDIT_MODEL_INPUT = 'model';

const JOB_ID = 'j[0-9a-f]{32}';
/** Which image of a gallery a Vary or Edit names: 1 to MAX_COUNT, written without a leading zero. */
const IMAGE_NUMBER = `[1-${MAX_COUNT}]`;
const BUTTON_ID = new RegExp(`^flux:(?:(reroll|delete|cancel):(${JOB_ID})|(vary|edit):(${JOB_ID})(?::(${IMAGE_NUMBER}))?)$`);
const MODAL_ID = new RegExp(`^flux:edit-modal:(\\d{1,20}):(${JOB_ID}):(\\d{1,20})(?::(${IMAGE_NUMBER}))?$`);

/** A button's `custom_id`; `image` (1-based) names a gallery's image for Vary and Edit (1, the default, is left out). */
export function buttonId(action: ButtonAction, jobId: string, image = 1): string {
  return image > 1 && (action === 'vary' || action === 'edit') ? `flux:${action}:${jobId}:${image}` : `flux:${action}:${jobId}`;
}

/**
 * The action, job and image (1-based; 1 when the id names none) of a button's `custom_id`, or undefined for anything
 * this bot never posted: an image number outside 1–4, or on another action than Vary and Edit, is such a thing.
 */
export function parseButtonId(customId: string): { action: ButtonAction; jobId: string; image: number } | undefined {
  const match = BUTTON_ID.exec(customId);
  if (!match) return undefined;
  if (match[1] !== undefined) return { action: match[1] as ButtonAction, jobId: match[2]!, image: 1 };
  return { action: match[3] as ButtonAction, jobId: match[4]!, image: match[5] === undefined ? 1 : Number(match[5]) };
}

export function editModalId(messageId: string, jobId: string, clickId: string, image = 1): string {
  return `flux:edit-modal:${messageId}:${jobId}:${clickId}${image > 1 ? `:${image}` : ''}`;
}

/** The image message, its job, the click that opened an Edit modal and the image (1-based), from the modal's `custom_id`. */
export function parseEditModalId(customId: string): { messageId: string; jobId: string; clickId: string; image: number } | undefined {
  const match = MODAL_ID.exec(customId);
  return match ? { messageId: match[1]!, jobId: match[2]!, clickId: match[3]!, image: match[4] === undefined ? 1 : Number(match[4]) } : undefined;
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

/** A gallery's Vary or Edit of image `image` (1-based), labelled `V2` / `E2` after the action's emoji. */
function imageButton(action: 'vary' | 'edit', jobId: string, image: number): APIButtonComponentWithCustomId {
  const { emoji, style } = LABELS[action];
  const label = `${action === 'vary' ? 'V' : 'E'}${image}`;
  return { type: ComponentType.Button, style, label, emoji: { name: emoji }, custom_id: buttonId(action, jobId, image) } as APIButtonComponentWithCustomId;
}

type ButtonRow = APIActionRowComponent<APIButtonComponentWithCustomId>;

const row = (components: APIButtonComponentWithCustomId[]): ButtonRow => ({ type: ComponentType.ActionRow, components });

/**
 * The buttons under a delivered message of `imageCount` images. One image: one row, Reroll, Edit, Vary, Delete. A
 * gallery (2–4 images): Reroll (the whole set) and Delete, then a row of V1…Vn and a row of E1…En — three rows of at
 * most four buttons, within Discord's five rows of five.
 */
export function imageButtons(jobId: string, imageCount = 1): ButtonRow[] {
  if (imageCount <= 1) return [row((['reroll', 'edit', 'vary', 'delete'] as const).map((a) => button(a, jobId)))];
  const images = Array.from({ length: Math.min(imageCount, MAX_COUNT) }, (_, i) => i + 1);
  return [
    row([button('reroll', jobId), button('delete', jobId)]),
    row(images.map((n) => imageButton('vary', jobId, n))),
    row(images.map((n) => imageButton('edit', jobId, n))),
  ];
}

/** The Cancel button of a queued or running job's status message. */
export function cancelButtons(jobId: string): ButtonRow[] {
  return [{ type: ComponentType.ActionRow, components: [button('cancel', jobId)] }];
}

/**
 * The Edit modal: what to change (the prompt of the edit) and the model, a text input filled with the edit model, as
 * the models that edit are more than a short label can list (the answer names them when another is typed).
 */
export function editModal(messageId: string, jobId: string, clickId: string, editModel: string, image = 1): APIModalInteractionResponseCallbackData {
  return editModalWithId(editModalId(messageId, jobId, clickId, image), editModel, image > 1 ? `Edit image ${image}` : undefined);
}

/** The Edit modal under any `custom_id` (Edit with FLUX names the image differently: see edit-with-flux.ts). */
export function editModalWithId(customId: string, editModel: string, title = 'Edit this image'): APIModalInteractionResponseCallbackData {
  return {
    custom_id: customId,
    title,
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
