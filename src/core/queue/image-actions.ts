import { replaceImage, type ReferenceImages } from '../images/reference-images.js';
import type { JobRecord, JobRecordStore } from '../jobs/job-records.js';
import { MODEL_IDS, MODELS, type ModelId } from '../models.js';
import { userKey, type DeliveryTarget, type Platform, type Requester } from '../ports.js';
import { parseFluxRequest, type FluxRequest } from '../request.js';
import type { GenerationQueue } from './generation-queue.js';
import type { CancelResult, GenerationService, RerollResult, SubmitResult } from './generation-service.js';

/** A delivered image: the platform message it was posted as (its job record is kept under it). */
export interface ImageRef {
  platform: Platform;
  messageId: string;
}

/** The models that edit an image (take reference images): what Edit offers and Vary falls back to. */
export const EDIT_MODELS: readonly ModelId[] = MODEL_IDS.filter((id) => MODELS[id].images !== undefined);

/** The link the image stands in as while its request is parsed (never fetched: replaced by the stored reference). */
const STAND_IN = 'https://fluxbot.invalid/image';

/** The default of FLUX_EDIT_MODEL. */
export const DEFAULT_EDIT_MODEL: ModelId = 'flux-2-pro';

export function isEditModel(id: string): id is ModelId {
  return (EDIT_MODELS as readonly string[]).includes(id);
}

/**
 * Why an action on an image is not done, as values: `not_found` (no record: not an image of the bot, or expired),
 * `other_guild` (the image belongs to another server/workspace than the person acting), `no_image` (the image was
 * withheld or is gone: there is nothing to vary or edit), `invalid` (the edit's prompt or model, with the reason).
 */
export type ActionRefusal = { status: 'not_found' } | { status: 'other_guild' } | { status: 'no_image' } | { status: 'invalid'; message: string };

export type ActionResult = SubmitResult | ActionRefusal;

export type DeleteResult =
  | { status: 'allowed'; /** Where the image message lives (its thread when it has one). */ channelId: string; messageId: string }
  | { status: 'not_allowed' }
  | { status: 'not_found' }
  | { status: 'other_guild' };

export type ImageCancelResult = CancelResult | { status: 'other_guild' };

/** What an adapter adds to an action that submits: the dedupe key of the click, and its status post (run once admitted). */
export interface ActionSubmit {
  /** Platform-prefixed id of the click or modal (as /flux uses the interaction id): a replay is charged once. */
  dedupeKey: string;
  target?: Partial<DeliveryTarget> | (() => Promise<Partial<DeliveryTarget>>);
}

/**
 * The delivered image's bytes, fetched when the action runs. The bot does not keep every image it delivers: the
 * adapter reads it back from its platform message (Discord: the message's attachment), so records stay small, Redis
 * holds no image nobody varies, and Vary/Edit work for as long as the message exists. Undefined: the message has no
 * image to read (withheld as NSFW, deleted).
 */
export type ImageBytes = (at: { channelId: string; messageId: string; /** Which image of a gallery message (0-based; default 0). */ index?: number }) => Promise<Buffer | undefined>;

export interface ImageActionsOptions {
  service: GenerationService;
  records: JobRecordStore;
  queue: GenerationQueue;
  references: Pick<ReferenceImages, 'store'>;
  /** The model Vary falls back to (when the image's own takes no images) and Edit offers first (FLUX_EDIT_MODEL). */
  editModel?: ModelId;
}

/**
 * The actions on a delivered image, platform-free: Reroll, Vary, Edit, Delete, and Cancel of a job still under way.
 * Each reads what it needs from the job record kept under the image's message (never from memory), so buttons work
 * after restarts and on messages a client never cached. Reroll, Vary and Edit go through `GenerationService.submit`:
 * charged to whoever acts, with their quota, budget and ban checked in the one admission call. An action on an image
 * of another server than the actor's is refused (`other_guild`).
 */
export class ImageActions {
  readonly editModel: ModelId;

  constructor(private readonly options: ImageActionsOptions) {
    this.editModel = options.editModel ?? DEFAULT_EDIT_MODEL;
  }

  /** Same request, new seed (see GenerationService.reroll), by the person acting. */
  async reroll(ref: ImageRef, requester: Requester, opts: ActionSubmit & { jobId?: string }): Promise<RerollResult | ActionRefusal> {
    const found = await this.find(ref, requester, opts.jobId);
    if ('status' in found) return found;
    return this.options.service.reroll(ref, requester, { dedupeKey: opts.dedupeKey, ...(opts.target === undefined ? {} : { target: opts.target }) });
  }

  /**
   * The image as `images[0]` with the same prompt and a new seed: on the model that made it if it takes images, else
   * on the edit model. Delivered where the image is. `index`: which image of a gallery (0-based); one image, not a
   * gallery, either way.
   */
  async vary(ref: ImageRef, requester: Requester, opts: ActionSubmit & { image: ImageBytes; jobId?: string; index?: number }): Promise<ActionResult> {
    const found = await this.find(ref, requester, opts.jobId);
    if ('status' in found) return found;
    const model = isEditModel(found.request.model) ? found.request.model : this.editModel;
    return this.submitOn(found, requester, { prompt: found.request.prompt, model }, opts);
  }

  /** A job with the image as `images[0]`, the person's prompt, on `model` (one that edits; default the edit model). */
  async edit(
    ref: ImageRef,
    requester: Requester,
    opts: ActionSubmit & { image: ImageBytes; prompt: string; model?: string | undefined; jobId?: string; index?: number },
  ): Promise<ActionResult> {
    const model = opts.model?.trim() || this.editModel;
    if (!isEditModel(model)) return { status: 'invalid', message: `${model} does not edit images; choose one of ${EDIT_MODELS.join(', ')}` };
    const found = await this.find(ref, requester, opts.jobId);
    if ('status' in found) return found;
    return this.submitOn(found, requester, { prompt: opts.prompt, model }, opts);
  }

  /**
   * An edit of an image that is not one of the bot's deliveries (a member's upload, an embed): `reference` is the
   * image already stored (ReferenceImages.store), `target` where the result goes. Charged to the person like any
   * submission; the dedupe key makes a repeated submission one edit.
   */
  async editImage(reference: string, requester: Requester, opts: ActionSubmit & { prompt: string; model?: string | undefined; target: DeliveryTarget | (() => Promise<DeliveryTarget>) }): Promise<ActionResult> {
    const model = opts.model?.trim() || this.editModel;
    if (!isEditModel(model)) return { status: 'invalid', message: `${model} does not edit images; choose one of ${EDIT_MODELS.join(', ')}` };
    const request = editRequest(reference, opts.prompt, model);
    if ('status' in request) return request;
    return this.options.service.submit(request, requester, opts.target, { dedupeKey: opts.dedupeKey });
  }

  /**
   * Whether the person may delete the image: the one who asked for it, or someone who may manage messages there
   * (`canManage`, the platform's judgement). Returns where the message is; the adapter deletes it, then `forget`s it.
   */
  async delete(ref: ImageRef, requester: Requester, opts: { canManage: boolean; jobId?: string }): Promise<DeleteResult> {
    const found = await this.find(ref, requester, opts.jobId);
    if ('status' in found) return found;
    if (!opts.canManage && userKey(found.requester) !== userKey(requester)) return { status: 'not_allowed' };
    return { status: 'allowed', channelId: found.threadId ?? found.channelId, messageId: found.messageId };
  }

  /** Drops a deleted image's record: its buttons and reactions no longer do anything. */
  async forget(ref: ImageRef): Promise<void> {
    await this.options.records.remove(ref.platform, ref.messageId);
  }

  /**
   * Cancels a queued or running job (see GenerationService.cancel): its requester, or an admin of the same server
   * (`admin`, the platform's judgement). A job of another server is refused whoever asks.
   */
  async cancel(jobId: string, requester: Requester, opts: { admin: boolean }): Promise<ImageCancelResult> {
    const job = await this.options.queue.getJob(jobId);
    if (!job) return { status: 'not_found' };
    const owner = job.data.requester;
    if (owner.platform !== requester.platform || owner.guildId !== requester.guildId) return { status: 'other_guild' };
    return this.options.service.cancel(jobId, opts.admin ? { admin: true } : requester);
  }

  /**
   * The record of the image, checked as every action checks it: it exists, it is of the actor's server, and (when
   * given) of the job the button named. Adapters use it where they must answer before acting (an edit form opens
   * only for an image that can be edited).
   */
  async find(ref: ImageRef, requester: Requester, jobId: string | undefined): Promise<JobRecord | { status: 'not_found' | 'other_guild' }> {
    const record = await this.options.records.find(ref.platform, ref.messageId);
    if (!record || (jobId !== undefined && record.jobId !== jobId)) return { status: 'not_found' };
    if (record.requester.platform !== requester.platform || record.requester.guildId !== requester.guildId) return { status: 'other_guild' };
    return record;
  }

  /** Reads the image back, stores it as a reference image, and submits a request on it, delivered where the image is. */
  private async submitOn(
    record: JobRecord,
    requester: Requester,
    what: { prompt: string; model: ModelId },
    opts: ActionSubmit & { image: ImageBytes; index?: number },
  ): Promise<ActionResult> {
    // A gallery's V2 / E3 name their image; the index must be one of the gallery's.
    const index = opts.index ?? 0;
    if (!Number.isInteger(index) || index < 0 || index >= (record.images ?? 1)) return { status: 'no_image' };
    const bytes = await opts.image({ channelId: record.threadId ?? record.channelId, messageId: record.messageId, index });
    if (!bytes) return { status: 'no_image' };
    // Checked like an attachment (an image, within the size limits) and kept by reference for the job and its rerolls.
    const { reference } = await this.options.references.store(bytes, { index: 1, name: 'the image' });
    const request = editRequest(reference, what.prompt, what.model);
    if ('status' in request) return request;
    const base = recordTarget(record);
    const more = opts.target;
    const target = async (): Promise<DeliveryTarget> => ({ ...base, ...(typeof more === 'function' ? await more() : more) });
    return this.options.service.submit(request, requester, target, { dedupeKey: opts.dedupeKey });
  }
}

/**
 * The request of an edit of a stored image, parsed as a person's request is (prompt rules, the model's fields and
 * defaults). The parser takes links, so the image stands in as one and is swapped for its stored reference after, as
 * the adapters do with attachments.
 */
function editRequest(reference: string, prompt: string, model: ModelId): FluxRequest | { status: 'invalid'; message: string } {
  const parsed = parseFluxRequest({ prompt, model, images: [STAND_IN] });
  if (!parsed.ok) return { status: 'invalid', message: parsed.error.message };
  return replaceImage(parsed.request, STAND_IN, reference);
}

/** Where a new image made from a recorded one goes: the recorded image's channel and thread, without its status message. */
export function recordTarget(record: JobRecord): DeliveryTarget {
  const { statusMessageId: _previousStatus, ...previous } = record.target;
  return {
    ...previous,
    channelId: record.channelId,
    ...(record.threadId === undefined ? {} : { threadId: record.threadId }),
  };
}
