import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FluxbotCore } from '../../core/core.js';
import { InvalidInput } from '../../core/errors.js';
import { userKey, type Requester } from '../../core/ports.js';
import { EDIT_MODELS, isEditModel, type ActionResult, type ImageBytes, type ImageRef } from '../../core/queue/image-actions.js';
import { MAX_COUNT } from '../../core/request.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { sendError, sendJson } from './http-util.js';
import type { WebImageStore } from './web-delivery.js';
import { answerSubmit, dedupeKey, IMAGE_ID, readObject, requestIdOf } from './web-replies.js';
import { sentence, WEB_TEXT } from './web-text.js';

/** An action's body is a few ids and an edit prompt. */
const MAX_ACTION_BODY_BYTES = 16 * 1024;
const JOB_ID = /^j[0-9a-f]{32}$/;
const TOO_LARGE = { text: WEB_TEXT.actionTooLarge, field: 'prompt' };

/**
 * The buttons under a playground image (Reroll, Vary, Edit, Delete) and Cancel of a job under way, on the core's
 * ImageActions. A session acts only on its own images and jobs: another session's image is "not found" to Reroll,
 * Vary and Edit (it never saw it), and refused to Delete and Cancel. Every refusal is answered before anything is
 * stored, charged or queued; a request id sent again is the same request (charged once).
 */
export class WebImageActions {
  constructor(
    private readonly core: FluxbotCore,
    private readonly images: WebImageStore,
  ) {}

  /** Same request, new seed. */
  async reroll(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const input = await this.read(req, res, requester);
    if (!input) return;
    await this.submit(res, () => this.core.actions.reroll(input.ref, requester, { dedupeKey: dedupeKey(requester, input.requestId) }));
  }

  /** The image as reference, its prompt, a new seed. A gallery's image `image` (1-based: V2 is `image: 2`). */
  async vary(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const input = await this.read(req, res, requester, true);
    if (!input) return;
    await this.submit(res, () =>
      this.core.actions.vary(input.ref, requester, { dedupeKey: dedupeKey(requester, input.requestId), image: this.bytes(input.ref), index: input.index }),
    );
  }

  /** The image as `images[0]` with the person's prompt, on a model that edits (default FLUX_EDIT_MODEL); a gallery's `image`. */
  async edit(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const input = await this.read(req, res, requester, true);
    if (!input) return;
    const { prompt, model } = input.body;
    if (typeof prompt !== 'string' || prompt.trim() === '') return sendError(res, 400, WEB_TEXT.editPromptEmpty, { field: 'prompt' });
    if (model !== undefined && (typeof model !== 'string' || !isEditModel(model))) {
      return sendError(res, 400, WEB_TEXT.notEditModel(String(model).slice(0, 40), EDIT_MODELS), { field: 'model' });
    }
    await this.submit(res, () =>
      this.core.actions.edit(input.ref, requester, { dedupeKey: dedupeKey(requester, input.requestId), image: this.bytes(input.ref), prompt, model, index: input.index }),
    );
  }

  /** Deletes one of the session's images: its bytes and its record (its buttons then do nothing). */
  async delete(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const body = await readObject(req, res, MAX_ACTION_BODY_BYTES, TOO_LARGE);
    if (!body) return;
    const ref = imageRef(body.imageId);
    if (!ref) return sendError(res, 404, WEB_TEXT.notFound);
    const result = await this.core.actions.delete(ref, requester, { canManage: false });
    if (result.status === 'not_allowed') return sendError(res, 403, WEB_TEXT.deleteNotYours);
    if (result.status !== 'allowed') return sendError(res, 404, WEB_TEXT.notFound);
    await this.images.remove(ref.messageId);
    await this.core.actions.forget(ref);
    sendJson(res, 200, { deleted: ref.messageId, status: WEB_TEXT.deleted });
  }

  /** Cancels one of the session's jobs while it is queued (refunded at once) or running (stopped, then refunded). */
  async cancel(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const body = await readObject(req, res, MAX_ACTION_BODY_BYTES, TOO_LARGE);
    if (!body) return;
    const jobId = typeof body.jobId === 'string' && JOB_ID.test(body.jobId) ? body.jobId : undefined;
    if (!jobId) return sendError(res, 404, WEB_TEXT.notFound);
    const result = await this.core.actions.cancel(jobId, requester, { admin: false });
    switch (result.status) {
      case 'canceled':
        return sendJson(res, 200, { jobId, canceled: true, status: WEB_TEXT.canceled });
      case 'canceling':
        return sendJson(res, 202, { jobId, canceled: false, status: WEB_TEXT.canceling });
      case 'finished':
        return sendError(res, 409, WEB_TEXT.cancelTooLate);
      case 'not_owner':
      case 'other_guild':
        return sendError(res, 403, WEB_TEXT.cancelNotYours);
      case 'not_found':
        return sendError(res, 404, WEB_TEXT.notFound);
    }
  }

  /**
   * The body of an action that submits: one of the session's own images and a request id (required: without one a
   * click sent twice would be charged twice). Undefined after answering why not.
   */
  private async read(
    req: IncomingMessage,
    res: ServerResponse,
    requester: Requester,
    oneImage = false,
  ): Promise<{ ref: ImageRef; requestId: string; body: Record<string, unknown>; index: number } | undefined> {
    const body = await readObject(req, res, MAX_ACTION_BODY_BYTES, TOO_LARGE);
    if (!body) return undefined;
    const ref = imageRef(body.imageId);
    const record = ref ? await this.core.records.find(ref.platform, ref.messageId) : undefined;
    if (!ref || !record || userKey(record.requester) !== userKey(requester)) return void sendError(res, 404, WEB_TEXT.notFound);
    const requestId = requestIdOf(body);
    if (!requestId) return void sendError(res, 400, WEB_TEXT.noRequestId, { field: 'requestId' });
    // Vary and Edit name one image of a gallery (1-based); absent: the first (a one-image result's only one).
    const n = body.image ?? 1;
    if (oneImage) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_COUNT) return void sendError(res, 400, WEB_TEXT.badImageNumber(MAX_COUNT), { field: 'image' });
      const count = record.images ?? 1;
      if (n > count) return void sendError(res, 400, WEB_TEXT.noSuchImage(n, count), { field: 'image' });
    }
    return { ref, requestId, body, index: (n as number) - 1 };
  }

  /** Image `index` of the message, read back from the playground's store when the action needs it. */
  private bytes(ref: ImageRef): ImageBytes {
    return async (at) => (await this.images.get(ref.messageId, at.index ?? 0))?.bytes;
  }

  private async submit(res: ServerResponse, run: () => Promise<ActionResult | RerollResult>): Promise<void> {
    let result: ActionResult | RerollResult;
    try {
      result = await run();
    } catch (err) {
      // A stored image of the request expired (a reroll), or the image no longer passes the checks: nothing charged.
      if (err instanceof InvalidInput) return sendError(res, 400, sentence(err.message), { field: err.field });
      throw err;
    }
    switch (result.status) {
      case 'no_image':
        return sendError(res, 410, WEB_TEXT.imageExpired);
      case 'invalid':
        return sendError(res, 400, sentence(result.message), { field: 'prompt' });
      case 'other_guild':
        return sendError(res, 404, WEB_TEXT.notFound);
      default:
        return answerSubmit(res, result);
    }
  }
}

function imageRef(imageId: unknown): ImageRef | undefined {
  return typeof imageId === 'string' && IMAGE_ID.test(imageId) ? { platform: 'web', messageId: imageId } : undefined;
}
