import type { types } from '@slack/bolt';
import type { JobRecord } from '../../core/jobs/job-records.js';
import type { ImageRef } from '../../core/queue/image-actions.js';
import { MAX_COUNT } from '../../core/request.js';
import { cutGraphemes } from '../../core/text.js';

/** action_ids of the buttons under a delivered image (and on the App Home's images). */
export const IMAGE_ACTION = {
  reroll: 'fluxbot_reroll',
  edit: 'fluxbot_edit',
  vary: 'fluxbot_vary',
  delete: 'fluxbot_delete',
} as const;
export type ImageAction = keyof typeof IMAGE_ACTION;

/**
 * action_ids of a gallery's per-image buttons: `fluxbot_vary_2` is V2, `fluxbot_edit_3` is E3 (the number is the
 * image's, 1-based, and is in the value too).
 */
export const GALLERY_ACTION = {
  vary: /^fluxbot_vary_([1-9])$/,
  edit: /^fluxbot_edit_([1-9])$/,
} as const;
export type GalleryAction = keyof typeof GALLERY_ACTION;

/** The action_id of V`n` or E`n`. */
export function galleryActionId(action: GalleryAction, n: number): string {
  return `${IMAGE_ACTION[action]}_${n}`;
}

/** action_id of the Cancel button on a status message (its value is the job id). */
export const CANCEL_ACTION = 'fluxbot_cancel';

/** What a button carries: only what finds the job record (the image's message ts and its job id), never state. */
export interface ImageButtonRef {
  messageId: string;
  jobId: string;
}

/** The core's reference of the image a button names. */
export function imageRef(ref: ImageButtonRef): ImageRef {
  return { platform: 'slack', messageId: ref.messageId };
}

const TS = /^\d{1,12}\.\d{1,8}$/;
const JOB_ID = /^j[0-9a-f]{32}$/;

/** `<message ts>|<job id>`: a button value the bot wrote. */
export function imageButtonValue(ref: ImageButtonRef): string {
  return `${ref.messageId}|${ref.jobId}`;
}

/** The record a button names; undefined for a value the bot never writes (a forged or garbled click). */
export function parseImageButtonValue(value: unknown): ImageButtonRef | undefined {
  if (typeof value !== 'string' || value.length > 100) return undefined;
  const [messageId, jobId, ...rest] = value.split('|');
  if (rest.length > 0 || !messageId || !jobId || !TS.test(messageId) || !JOB_ID.test(jobId)) return undefined;
  return { messageId, jobId };
}

/** What a gallery's V`n`/E`n` button carries: the record, and which of its images (1-based). */
export interface GalleryButtonRef extends ImageButtonRef {
  n: number;
}

/** `<message ts>|<job id>|<n>`: the value of V`n` and E`n`. */
export function galleryButtonValue(ref: GalleryButtonRef): string {
  return `${imageButtonValue(ref)}|${ref.n}`;
}

/**
 * The record and image a V`n`/E`n` click names: the value the bot wrote, with the same image number as the action_id
 * (1 to MAX_COUNT). Undefined for anything else (a forged or garbled click).
 */
export function parseGalleryButton(action: GalleryAction, actionId: unknown, value: unknown): GalleryButtonRef | undefined {
  if (typeof actionId !== 'string' || typeof value !== 'string' || value.length > 100) return undefined;
  const fromId = GALLERY_ACTION[action].exec(actionId)?.[1];
  const cut = value.lastIndexOf('|');
  const n = value.slice(cut + 1);
  const ref = cut > 0 ? parseImageButtonValue(value.slice(0, cut)) : undefined;
  if (!ref || fromId === undefined || n !== fromId || Number(n) > MAX_COUNT) return undefined;
  return { ...ref, n: Number(n) };
}

/** A job id a Cancel button carries; undefined for anything the bot never writes. */
export function parseJobId(value: unknown): string | undefined {
  return typeof value === 'string' && JOB_ID.test(value) ? value : undefined;
}

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });

function button(action: ImageAction, text: string, ref: ImageButtonRef, style?: 'danger' | 'primary'): Record<string, unknown> {
  return { type: 'button', action_id: IMAGE_ACTION[action], text: plain(text), value: imageButtonValue(ref), ...(style ? { style } : {}) };
}

/** Labels as people expect them from image bots; the emoji leads. */
const LABELS: Record<ImageAction, string> = {
  reroll: ':arrows_counterclockwise: Reroll',
  edit: ':pencil2: Edit',
  vary: ':sparkles: Vary',
  delete: ':wastebasket: Delete',
};

/** The actions block under a delivered image: Reroll, Edit, Vary, Delete (and `more` buttons after them). */
export function imageActionsBlock(
  ref: ImageButtonRef,
  actions: readonly ImageAction[] = ['reroll', 'edit', 'vary', 'delete'],
  more: ReadonlyArray<Record<string, unknown>> = [],
): types.KnownBlock {
  return {
    type: 'actions',
    block_id: `image_actions:${ref.messageId}`,
    elements: [...actions.map((a) => button(a, LABELS[a], ref, a === 'delete' ? 'danger' : undefined)), ...more],
  } as unknown as types.KnownBlock;
}

/** A gallery's V`n` or E`n` button. */
function galleryButton(action: GalleryAction, ref: ImageButtonRef, n: number): Record<string, unknown> {
  const text = `${action === 'vary' ? 'V' : 'E'}${n}`;
  return { type: 'button', action_id: galleryActionId(action, n), text: plain(text), value: galleryButtonValue({ ...ref, n }) };
}

/** V1…V`count` or E1…E`count`. */
export function galleryButtons(action: GalleryAction, ref: ImageButtonRef, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => galleryButton(action, ref, i + 1));
}

/**
 * The buttons under a gallery of `count` images: Reroll (the whole set) and Delete, then V1…V`count` (a variation of
 * that image) and E1…E`count` (an edit of it), each row its own actions block.
 */
export function galleryActionBlocks(ref: ImageButtonRef, count: number): types.KnownBlock[] {
  return [
    { type: 'actions', block_id: `image_actions:${ref.messageId}`, elements: [button('reroll', LABELS.reroll, ref), button('delete', LABELS.delete, ref, 'danger')] },
    { type: 'actions', block_id: `image_vary:${ref.messageId}`, elements: galleryButtons('vary', ref, count) },
    { type: 'actions', block_id: `image_edit:${ref.messageId}`, elements: galleryButtons('edit', ref, count) },
  ] as unknown as types.KnownBlock[];
}

/** The text of the message carrying a gallery's buttons. */
export const GALLERY_BUTTONS_TEXT = 'Reroll or delete the images above, or vary (V1…) or edit (E1…) one of them.';

/** The text of the message carrying an image's buttons (also its notification fallback). */
export const IMAGE_BUTTONS_TEXT = 'Reroll, edit, vary or delete the image above.';

/** The message posted right after an image, in its thread: its buttons. */
export function imageButtonsMessage(ref: ImageButtonRef, count = 1): { text: string; blocks: types.KnownBlock[] } {
  if (count >= 2) return { text: GALLERY_BUTTONS_TEXT, blocks: galleryActionBlocks(ref, count) };
  return { text: IMAGE_BUTTONS_TEXT, blocks: [imageActionsBlock(ref)] };
}

/** A status message in blocks: its text, and while the job is under way a Cancel button for its requester. */
export function statusBlocks(text: string, cancelJobId?: string): types.KnownBlock[] {
  const section: types.KnownBlock = { type: 'section', text: { type: 'mrkdwn', text: cutGraphemes(text, 3000) } };
  if (cancelJobId === undefined) return [section];
  return [
    section,
    {
      type: 'actions',
      block_id: 'status_actions',
      elements: [{ type: 'button', action_id: CANCEL_ACTION, text: plain(':x: Cancel'), value: cancelJobId }],
    },
  ] as types.KnownBlock[];
}

/** The button reference of a recorded image (its record is kept under its message ts). */
export function recordButtonRef(record: Pick<JobRecord, 'messageId' | 'jobId'>): ImageButtonRef {
  return { messageId: record.messageId, jobId: record.jobId };
}
