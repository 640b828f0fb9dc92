import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { runQuotaCommand } from '../../commands/flux-admin.js';
import { FLUX_OPTIONS, isNumberedImageSlot } from '../../commands/flux.js';
import { plainTime } from '../../commands/replies.js';
import type { FluxbotCore } from '../../core/core.js';
import { InvalidInput } from '../../core/errors.js';
import { replaceImage } from '../../core/images/reference-images.js';
import { MODELS } from '../../core/models.js';
import { userKey, type DeliveryTarget, type Requester } from '../../core/ports.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { EDIT_MODELS } from '../../core/queue/image-actions.js';
import type { ProgressFeed } from '../../core/queue/progress-feed.js';
import { MAX_COUNT, MAX_IMAGES, parseFluxRequest, type FluxRequest } from '../../core/request.js';
import { truncate } from '../../core/text.js';
import type { ModelId } from '../../core/models.js';
import { sendBytes, sendError, sendJson } from './http-util.js';
import { streamJob } from './job-events.js';
import { checkUpload, UploadRefused } from './upload.js';
import type { WebImageStore } from './web-delivery.js';
import { answerSubmit, dedupeKey, IMAGE_ID, readObject, requestIdOf } from './web-replies.js';
import { MAX_REFERENCE_UPLOAD_BYTES, MAX_UPLOAD_BYTES, sentence, WEB_IMAGE_TTL_SECONDS, WEB_TEXT } from './web-text.js';

/** Largest request body: uploads in base64 (4/3 of their bytes) plus the form's fields. */
const MAX_BODY_BYTES = Math.ceil((Math.max(MAX_UPLOAD_BYTES, MAX_REFERENCE_UPLOAD_BYTES) * 4) / 3) + 64 * 1024;
/** An uploaded reference image as the page sends it: a `data:` URI of a type the request schema takes. */
const UPLOAD_URI = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}$/;
/** The form's options: Discord's numbered image slots are one multi-file upload here. */
const WEB_OPTIONS = FLUX_OPTIONS.filter((o) => !isNumberedImageSlot(o.name));
/** Where playground jobs go: the web has no channels, so one name for all. */
const TARGET: DeliveryTarget = { platform: 'web', channelId: 'playground' };

/** What the API works on: the core, the image store, the progress feed (bot role), the default model. */
export interface WebApiDeps {
  core: FluxbotCore;
  images: WebImageStore;
  feed?: ProgressFeed | undefined;
  defaultModel: ModelId;
  logger: Logger;
}

/** The playground's API for one signed-in (or local) person; the router has checked access, origin and floods. */
export class WebApi {
  constructor(private readonly deps: WebApiDeps) {}

  /** The form, generated from the same command definitions the chat platforms use. */
  form(res: ServerResponse): void {
    sendJson(res, 200, {
      options: WEB_OPTIONS,
      defaultModel: this.deps.defaultModel,
      imagePromptModels: Object.entries(MODELS).filter(([, spec]) => spec.imagePrompt).map(([id]) => id),
      // How many reference images each model takes (models absent here take none).
      referenceModels: Object.fromEntries(Object.entries(MODELS).flatMap(([id, spec]) => (spec.images ? [[id, spec.images.max]] : []))),
      maxUploadBytes: MAX_UPLOAD_BYTES,
      maxReferenceUploadBytes: MAX_REFERENCE_UPLOAD_BYTES,
      imageTtlHours: WEB_IMAGE_TTL_SECONDS / 3600,
      // What the Edit dialog offers: the models that edit an image, FLUX_EDIT_MODEL first selected.
      editModels: EDIT_MODELS,
      editModel: this.deps.core.actions.editModel,
    });
  }

  /** The person's quota line and their recent images (newest first; `kept` false once the day has passed). */
  async me(res: ServerResponse, requester: Requester): Promise<void> {
    const [quota, entries] = await Promise.all([runQuotaCommand(this.deps.core.admin, requester, plainTime), this.deps.core.history.list(requester, 12)]);
    const ids = entries.map((e) => e.record.messageId);
    const kept = await this.deps.images.kept(ids);
    const images = entries.map(({ record }, i) => ({
      id: record.messageId,
      prompt: record.request.prompt,
      model: record.request.model,
      seed: record.seed,
      width: record.request.width,
      height: record.request.height,
      createdAt: record.createdAt,
      rerollOf: record.rerollOf,
      // A gallery: how many images (shown as /api/images/<id>/<n>); 1 for one image.
      images: record.images ?? 1,
      kept: kept[i] ?? false,
    }));
    sendJson(res, 200, { quota: quota.text, images });
  }

  async generate(req: IncomingMessage, res: ServerResponse, requester: Requester): Promise<void> {
    const body = await readObject(req, res, MAX_BODY_BYTES);
    if (!body) return;
    const fields = body.fields;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return sendError(res, 400, sentence('prompt is required'), { field: 'prompt' });
    const { image_prompt: inline, image_prompt_url: link, images: imageLinks, ...rest } = fields as Record<string, unknown>;
    // An image prompt comes as an upload (checked below) or a link, never as an inline data: URI that skips the checks.
    if (inline !== undefined) return sendError(res, 400, WEB_TEXT.uploadNotImage, { field: 'image_prompt' });
    if (link !== undefined && body.upload !== undefined) return sendError(res, 400, WEB_TEXT.uploadAndLink, { field: 'image_prompt' });
    const references = readReferences(body.images, imageLinks);
    if ('status' in references) return sendError(res, references.status, references.text, { field: 'images' });
    if (body.upload !== undefined && references.images.length > 0) return sendError(res, 400, WEB_TEXT.uploadAndImages, { field: 'image_prompt' });
    const parsed = parseFluxRequest(
      { ...rest, ...(link === undefined ? {} : { image_prompt: link }), ...(references.images.length > 0 ? { images: references.images } : {}) },
      { defaultModel: this.deps.defaultModel },
    );
    if (!parsed.ok) return sendError(res, 400, sentence(parsed.error.message), { field: parsed.error.field });
    let request = parsed.request;
    if (body.upload !== undefined) {
      if (!MODELS[request.model].imagePrompt) return sendError(res, 400, WEB_TEXT.uploadUnsupported(request.model), { field: 'image_prompt' });
      try {
        const image = await checkUpload((body.upload as { data?: unknown } | null)?.data);
        // Stored once with a short expiry; the job, its record and rerolls carry only the reference.
        request = { ...request, image_prompt: await this.deps.core.inputs.put(image.bytes, image.contentType) };
      } catch (err) {
        if (err instanceof UploadRefused) return sendError(res, err.status, err.text, { field: 'image_prompt' });
        throw err;
      }
    }
    let result: RerollResult;
    try {
      request = await this.storeImagePrompt(request, references);
      // Uploaded reference images are checked and stored at admission (their names go into the messages).
      result = await this.deps.core.service.submit(request, requester, TARGET, { dedupeKey: dedupeKey(requester, requestIdOf(body)), imageNames: references.names });
    } catch (err) {
      if (err instanceof InvalidInput) return sendError(res, 400, sentence(err.message), { field: err.field });
      throw err;
    }
    answerSubmit(res, result);
  }

  /**
   * On a FLUX.1 model one uploaded image became the image prompt (see parseFluxRequest): it is checked and stored
   * here, as reference images are at admission, so the job never carries the upload's bytes.
   */
  private async storeImagePrompt(request: FluxRequest, references: { images: string[]; names: Array<string | undefined> }): Promise<FluxRequest> {
    const index = request.image_prompt === undefined ? -1 : references.images.indexOf(request.image_prompt);
    if (index < 0 || !request.image_prompt!.startsWith('data:')) return request;
    const bytes = Buffer.from(request.image_prompt!.slice(request.image_prompt!.indexOf(',') + 1), 'base64');
    const { reference } = await this.deps.core.references.store(bytes, { index: index + 1, name: references.names[index] });
    return replaceImage(request, request.image_prompt!, reference);
  }

  /** Image `n` (1-based; a gallery has up to MAX_COUNT) of one of the person's own images. */
  async image(res: ServerResponse, requester: Requester, imageId: string, n = 1): Promise<void> {
    if (!IMAGE_ID.test(imageId) || !Number.isInteger(n) || n < 1 || n > MAX_COUNT || !(await this.owns(imageId, requester))) return sendError(res, 404, WEB_TEXT.notFound);
    const image = await this.deps.images.get(imageId, n - 1);
    if (!image) return sendError(res, 410, WEB_TEXT.imageExpired);
    sendBytes(res, image.contentType, image.bytes, 'private, max-age=86400, immutable');
  }

  /** Live status of one of the person's own jobs. */
  async events(req: IncomingMessage, res: ServerResponse, requester: Requester, jobId: string): Promise<void> {
    const job = /^j[0-9a-f]{32}$/.test(jobId) ? await this.deps.core.queue.getJob(jobId) : undefined;
    if (!job || userKey(job.data.requester) !== userKey(requester)) return sendError(res, 404, WEB_TEXT.notFound);
    const imageCount = (imageId: string) => this.deps.images.count(imageId);
    streamJob({ queue: this.deps.core.queue, redis: this.deps.core.redis, feed: this.deps.feed, imageCount }, req, res, jobId);
  }

  private async owns(imageId: string, requester: Requester): Promise<boolean> {
    const record = await this.deps.core.records.find('web', imageId);
    return record !== undefined && userKey(record.requester) === userKey(requester);
  }
}

/**
 * The reference images of a request: uploads first (`data:` URIs from the page, with their file names), then links.
 * Only the shape is checked here; the bytes are checked (type by their content, size, sides, decoding) at admission.
 */
function readReferences(uploads: unknown, links: unknown): { images: string[]; names: Array<string | undefined> } | { status: 400 | 413; text: string } {
  const images: string[] = [];
  const names: Array<string | undefined> = [];
  const list = uploads === undefined ? [] : uploads;
  if (!Array.isArray(list) || list.length > MAX_IMAGES) return { status: 400, text: sentence(`at most ${MAX_IMAGES} images`) };
  let total = 0;
  for (const [i, upload] of list.entries()) {
    const { name, data } = (typeof upload === 'object' && upload !== null ? upload : {}) as { name?: unknown; data?: unknown };
    const shown = typeof name === 'string' && name.trim() !== '' ? truncate(name.trim(), 60) : undefined;
    if (typeof data !== 'string' || !UPLOAD_URI.test(data)) return { status: 400, text: WEB_TEXT.referenceNotImage(i + 1, shown) };
    total += Math.floor(((data.length - data.indexOf(',') - 1) * 3) / 4);
    if (total > MAX_REFERENCE_UPLOAD_BYTES) return { status: 413, text: WEB_TEXT.referencesTooLarge };
    images.push(data);
    names.push(shown);
  }
  if (links !== undefined) {
    if (!Array.isArray(links) || !links.every((l) => typeof l === 'string' && /^https?:\/\//i.test(l.trim()))) return { status: 400, text: WEB_TEXT.referenceLinks };
    for (const l of links as string[]) {
      images.push(l.trim());
      names.push(undefined);
    }
  }
  return { images, names };
}
