import { actionReplies, type DeleteRefusal } from '../../commands/action-replies.js';
import type { ActionRefusal, ImageCancelResult } from '../../core/queue/image-actions.js';
import { slackTime } from './slack-text.js';

/**
 * What a person reads, privately, when a button or the edit form does not do what they asked. The sentences are
 * worded in src/commands/action-replies.ts (on Slack: a "workspace", whose admins may delete and cancel); this file
 * keeps what exists on Slack alone.
 */
const replies = actionReplies(
  { place: 'workspace', deleters: 'a workspace admin', cancelers: 'a workspace admin', invalid: sentence },
  slackTime,
);

export const FORGED_BUTTON_TEXT = 'This button is not one of mine, so it does nothing.';
export const DELETED_TEXT = replies.deleted;
export const NOT_ALLOWED_TO_DELETE_TEXT = replies.deleteRefused;
export const NO_IMAGE_FILES_TEXT = 'This message has no PNG, JPEG, WebP or GIF image to edit.';
export const CANCELED_TEXT = replies.canceled;
export const CANCELING_TEXT = replies.canceling;

export function refusalText(refusal: ActionRefusal | DeleteRefusal): string {
  return replies.refusal(refusal);
}

export function cancelText(result: ImageCancelResult): string {
  return replies.cancel(result);
}

/** A core message (`… does not edit images; choose one of …`) as a sentence. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1).replace(/\.?$/, '.');
}

/** The status line of a job canceled from its Cancel button. */
export function canceledStatusLine(userId: string): string {
  return `:no_entry_sign: Canceled by <@${userId}>.`;
}
