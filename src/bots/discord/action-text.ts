import { submitText } from '../../commands/replies.js';
import type { ActionResult, DeleteResult, ImageCancelResult } from '../../core/queue/image-actions.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { discordTime, invalidInputText } from './discord-text.js';

/** What a person reads, privately, after clicking a button or submitting the Edit modal. */

export const UNKNOWN_BUTTON_TEXT = 'This button is not one this bot knows (it may be from an older version). Nothing was done.';
export const NOT_FOUND_TEXT = 'I no longer know this image (it is too old, or it was deleted), so nothing was done and nothing was charged.';
export const OTHER_GUILD_TEXT = 'This image belongs to another server, so nothing was done and nothing was charged.';
export const NO_IMAGE_TEXT = 'This message has no image left to work from (it was withheld or removed), so nothing was done or charged.';
export const DELETE_REFUSED_TEXT = 'Only the person who asked for this image, or someone who may manage messages here, can delete it.';
export const DELETED_TEXT = 'The image was deleted.';
export const EDIT_AGAIN_TEXT = 'This edit was already submitted; it is being worked on. Nothing was charged twice.';
export const CANCEL_REFUSED_TEXT = 'Only the person who asked for this image, or a server admin, can cancel it.';
export const CANCELING_TEXT = 'Stopping it now; you are not charged unless the image was already made.';
export const CANCELED_TEXT = 'Canceled; nothing was charged.';
export const CANCEL_FINISHED_TEXT = 'This request has already finished, so there is nothing to cancel.';
export const CANCEL_GONE_TEXT = 'This request is no longer in the queue, so there is nothing to cancel.';

/** The status line of a job canceled from its queued state. */
export function canceledReason(userId: string): string {
  return `canceled by <@${userId}>; nothing was charged.`;
}

/** A refusal or outcome of Reroll, Vary or Edit other than `queued`. */
export function actionText(result: ActionResult | RerollResult): string {
  switch (result.status) {
    case 'not_found':
      return NOT_FOUND_TEXT;
    case 'other_guild':
      return OTHER_GUILD_TEXT;
    case 'no_image':
      return NO_IMAGE_TEXT;
    case 'invalid':
      return invalidInputText(result.message);
    default:
      return submitText(result, discordTime).text;
  }
}

export function deleteText(result: Exclude<DeleteResult, { status: 'allowed' }>): string {
  if (result.status === 'not_found') return NOT_FOUND_TEXT;
  if (result.status === 'other_guild') return OTHER_GUILD_TEXT;
  return DELETE_REFUSED_TEXT;
}

export function cancelText(result: ImageCancelResult): string {
  switch (result.status) {
    case 'canceled':
      return CANCELED_TEXT;
    case 'canceling':
      return CANCELING_TEXT;
    case 'not_owner':
      return CANCEL_REFUSED_TEXT;
    case 'finished':
      return CANCEL_FINISHED_TEXT;
    case 'not_found':
      return CANCEL_GONE_TEXT;
    case 'other_guild':
      return OTHER_GUILD_TEXT;
  }
}
