import type { ActionRefusal, ActionResult, DeleteResult, ImageCancelResult } from '../core/queue/image-actions.js';
import type { RerollResult } from '../core/queue/generation-service.js';
import { submitText, type TimeFormatter } from './replies.js';

/**
 * What a person reads, privately, after an action on a delivered image (Reroll, Vary, Edit, Delete, Cancel): the one
 * place these words live. Each adapter supplies what its platform calls the place a person acts in and who may act
 * on others' images there; submission outcomes (queued, refused by quota, duplicate) come from ./replies.ts.
 */
export interface PlaceWords {
  /** What the platform calls a server: "server" (Discord), "workspace" (Slack). */
  place: string;
  /** Who, besides the requester, may delete an image there (e.g. "someone who may manage messages here"). */
  deleters: string;
  /** Who, besides the requester, may cancel a job there (e.g. "a server admin"). */
  cancelers: string;
  /** An edit's prompt or model that cannot be used, worded as the platform words any invalid request. */
  invalid: (message: string) => string;
}

export type DeleteRefusal = Exclude<DeleteResult, { status: 'allowed' }>;

export interface ActionReplies {
  notFound: string;
  otherPlace: string;
  noImage: string;
  deleteRefused: string;
  deleted: string;
  editAgain: string;
  cancelRefused: string;
  canceling: string;
  canceled: string;
  cancelFinished: string;
  cancelGone: string;
  /** Why Reroll, Vary, Edit or Delete did nothing. */
  refusal(refusal: ActionRefusal | DeleteRefusal): string;
  /** An outcome of Reroll, Vary or Edit other than `queued` (a refusal, a duplicate, a quota refusal). */
  action(result: ActionResult | RerollResult): string;
  /** The outcome of a Cancel click. */
  cancel(result: ImageCancelResult): string;
}

export function actionReplies(words: PlaceWords, time: TimeFormatter): ActionReplies {
  const texts = {
    notFound: 'This image is no longer available (it is too old, or it was deleted), so nothing was done and nothing was charged.',
    otherPlace: `This image belongs to another ${words.place}, so nothing was done and nothing was charged.`,
    noImage: 'This message has no image left to work from (it was withheld or removed), so nothing was done or charged.',
    deleteRefused: `Only the person who asked for this image, or ${words.deleters}, can delete it.`,
    deleted: 'The image was deleted.',
    editAgain: 'This edit was already submitted; it is being worked on. Nothing was charged twice.',
    cancelRefused: `Only the person who asked for this image, or ${words.cancelers}, can cancel it.`,
    canceling: 'Stopping it now; you are not charged unless the image was already made.',
    canceled: 'Canceled; nothing was charged.',
    cancelFinished: 'This request has already finished, so there is nothing to cancel.',
    cancelGone: 'This request is no longer in the queue, so there is nothing to cancel.',
  };
  const refusal = (r: ActionRefusal | DeleteRefusal): string => {
    switch (r.status) {
      case 'not_found':
        return texts.notFound;
      case 'other_guild':
        return texts.otherPlace;
      case 'no_image':
        return texts.noImage;
      case 'invalid':
        return words.invalid(r.message);
      case 'not_allowed':
        return texts.deleteRefused;
    }
  };
  return {
    ...texts,
    refusal,
    action: (result) => (result.status === 'queued' || result.status === 'duplicate' || result.status === 'refused' ? submitText(result, time).text : refusal(result)),
    cancel: (result) => {
      switch (result.status) {
        case 'canceled':
          return texts.canceled;
        case 'canceling':
          return texts.canceling;
        case 'not_owner':
          return texts.cancelRefused;
        case 'finished':
          return texts.cancelFinished;
        case 'not_found':
          return texts.cancelGone;
        case 'other_guild':
          return texts.otherPlace;
      }
    },
  };
}
