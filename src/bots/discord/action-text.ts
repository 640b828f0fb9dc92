import { actionReplies } from '../../commands/action-replies.js';
import type { ActionResult, DeleteResult, ImageCancelResult } from '../../core/queue/image-actions.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { discordTime, invalidInputText } from './discord-text.js';

/**
 * What a person reads, privately, after clicking a button or submitting the Edit modal. The sentences are worded in
 * src/commands/action-replies.ts (on Discord: a "server", whose message managers may delete and admins may cancel);
 * this file keeps what exists on Discord alone.
 */
const replies = actionReplies(
  { place: 'server', deleters: 'someone who may manage messages here', cancelers: 'a server admin', invalid: invalidInputText },
  discordTime,
);

export const UNKNOWN_BUTTON_TEXT = 'This button is not one this bot knows (it may be from an older version). Nothing was done.';
export const NOT_FOUND_TEXT = replies.notFound;
export const OTHER_GUILD_TEXT = replies.otherPlace;
export const NO_IMAGE_TEXT = replies.noImage;
/** A click in personal use (a DM, a server where only the person installed the bot) on an image of a server. */
export const OTHER_PLACE_PERSONAL_TEXT = 'This image belongs to a server that has the bot, so its buttons work there, not here; nothing was done and nothing was charged.';
/** A click in a server that has the bot on an image made in personal use (before the server installed it, say). */
export const OTHER_PLACE_FROM_PERSONAL_TEXT =
  'This image was made for personal use (outside a server that has the bot), so its buttons work only where it was made: in your DMs, or where only you installed the bot. Nothing was done and nothing was charged.';

/** A Vary or Edit of image `image` of a message that has fewer (a gallery that came short, or a forged button). */
export function noSuchImageText(image: number, count: number): string {
  return `This message has no image ${image} (it has ${count === 1 ? 'one image' : `${count} images`}), so nothing was done or charged.`;
}
export const DELETE_REFUSED_TEXT = replies.deleteRefused;
export const DELETED_TEXT = replies.deleted;
export const EDIT_AGAIN_TEXT = replies.editAgain;
export const CANCEL_REFUSED_TEXT = replies.cancelRefused;
export const CANCELING_TEXT = replies.canceling;
export const CANCELED_TEXT = replies.canceled;
export const CANCEL_FINISHED_TEXT = replies.cancelFinished;
export const CANCEL_GONE_TEXT = replies.cancelGone;

/** The status line of a job canceled from its queued state. */
export function canceledReason(userId: string): string {
  return `canceled by <@${userId}>; nothing was charged.`;
}

/** A refusal or outcome of Reroll, Vary or Edit other than `queued`. */
export function actionText(result: ActionResult | RerollResult): string {
  return replies.action(result);
}

export function deleteText(result: Exclude<DeleteResult, { status: 'allowed' }>): string {
  return replies.refusal(result);
}

export function cancelText(result: ImageCancelResult): string {
  return replies.cancel(result);
}
