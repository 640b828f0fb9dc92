import type { types } from '@slack/bolt';
import type { JobRecord } from '../../core/jobs/job-records.js';
import type { ImageRef } from '../../core/queue/image-actions.js';
import { cutGraphemes } from '../../core/text.js';

/** action_ids of the buttons under a delivered image (and on the App Home's images). */
export const IMAGE_ACTION = {
  reroll: 'fluxbot_reroll',
  edit: 'fluxbot_edit',
  vary: 'fluxbot_vary',
  delete: 'fluxbot_delete',
} as const;
export type ImageAction = keyof typeof IMAGE_ACTION;

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

/** The actions block under a delivered image: Reroll, Edit, Vary, Delete. */
export function imageActionsBlock(ref: ImageButtonRef, actions: readonly ImageAction[] = ['reroll', 'edit', 'vary', 'delete']): types.KnownBlock {
  return {
    type: 'actions',
    block_id: `image_actions:${ref.messageId}`,
    elements: actions.map((a) => button(a, LABELS[a], ref, a === 'delete' ? 'danger' : undefined)),
  } as unknown as types.KnownBlock;
}

/** The text of the message carrying an image's buttons (also its notification fallback). */
export const IMAGE_BUTTONS_TEXT = 'Reroll, edit, vary or delete the image above.';

/** The message posted right after an image, in its thread: its buttons. */
export function imageButtonsMessage(ref: ImageButtonRef): { text: string; blocks: types.KnownBlock[] } {
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
