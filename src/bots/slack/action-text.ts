import type { ActionRefusal, DeleteResult, ImageCancelResult } from '../../core/queue/image-actions.js';

/**
 * What a person reads, privately, when a button or the edit form does not do what they asked. One place for these
 * words on Slack; submission outcomes (queued, refused by quota, duplicate) come from src/commands/replies.ts.
 */
export const FORGED_BUTTON_TEXT = 'This button is not one of mine, so it does nothing.';
export const DELETED_TEXT = 'The image is deleted.';
export const NOT_ALLOWED_TO_DELETE_TEXT = 'Only the person who asked for this image, or a workspace admin, can delete it.';
export const NO_IMAGE_FILES_TEXT = 'This message has no PNG, JPEG, WebP or GIF image to edit.';
export const CANCELED_TEXT = 'Canceled; nothing was charged.';
export const CANCELING_TEXT = 'Canceling: the image service is asked to stop.';

export function refusalText(refusal: ActionRefusal | Exclude<DeleteResult, { status: 'allowed' }>): string {
  switch (refusal.status) {
    case 'not_found':
      return 'This image is no longer available: it was deleted, or it is too old.';
    case 'other_guild':
      return 'This image belongs to another workspace.';
    case 'no_image':
      return 'The image could not be read back from Slack (it was deleted?), so there is nothing to vary or edit.';
    case 'invalid':
      return refusal.message.charAt(0).toUpperCase() + refusal.message.slice(1).replace(/\.?$/, '.');
    case 'not_allowed':
      return NOT_ALLOWED_TO_DELETE_TEXT;
  }
}

export function cancelText(result: ImageCancelResult): string {
  switch (result.status) {
    case 'canceled':
      return CANCELED_TEXT;
    case 'canceling':
      return CANCELING_TEXT;
    case 'finished':
      return 'This job is already done.';
    case 'not_found':
      return 'This job no longer exists.';
    case 'not_owner':
      return 'Only the person who asked for this image, or a workspace admin, can cancel it.';
    case 'other_guild':
      return 'This job belongs to another workspace.';
  }
}

/** The status line of a job canceled from its Cancel button. */
export function canceledStatusLine(userId: string): string {
  return `:no_entry_sign: Canceled by <@${userId}>.`;
}
