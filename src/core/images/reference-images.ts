import { FluxError, ImageInvalid, InvalidInput } from '../errors.js';
import type { FluxRequest } from '../request.js';
import { truncate } from '../text.js';
import { decodeDataUri, downloadBytes } from './download.js';
import { checkReferenceImage, REFERENCE_LIMITS, type CheckedReference, type ReferenceLimits } from './image.js';
import { InputImageExpired, isInputReference, type ImageSize, type InputImageStore } from './input-store.js';
import { isImageLink, type MemberLinkGuard } from './member-links.js';

/**
 * The check of a request's reference images (`images`) before admission: every image is looked at before anything is
 * charged or queued, so a person learns at once that image 3 is a PDF, not after a wait in the queue and a failed
 * (perhaps paid) provider call. Stored images must still be there, inline images are checked and stored (jobs and
 * records carry a short reference, never megabytes), links are fetched through the guarded downloader and checked
 * (the request keeps the link: providers fetch it, records stay small).
 */

/** Where each checked image's size comes from; undefined where it cannot be known (a reroll's links). */
export type ImageSizes = Array<ImageSize | undefined>;

/** A request whose images passed the checks, and their sizes in order (for the cost estimate). */
export interface PreparedRequest {
  request: FluxRequest;
  sizes: ImageSizes;
}

/** Which image a message is about: its 1-based position in `images` and, when known, a name the person knows it by. */
export interface ImageLabel {
  index: number;
  /** The file name, or for a link its last path segment (filled in when absent). */
  name?: string | undefined;
}

export interface PrepareOptions {
  /** Names of the images by position (file names of attachments and uploads), for messages. */
  names?: ReadonlyArray<string | undefined>;
  signal?: AbortSignal;
}

export interface ReferenceImagesOptions {
  /** Where stored images live (the core's InputImageStore). */
  inputs: Pick<InputImageStore, 'put' | 'lookup' | 'ttlSeconds'>;
  /** The guard for members' links: `allowPrivate` is `ALLOW_PRIVATE_URLS`; `lookup`/`trustedAddresses` are test seams. */
  guard?: MemberLinkGuard;
  fetch?: typeof fetch;
  /** The download of one link; default 20 s. */
  timeoutMs?: number;
  limits?: ReferenceLimits;
}

/** Checks and stores reference images; built once by the core next to its InputImageStore. */
export class ReferenceImages {
  constructor(private readonly options: ReferenceImagesOptions) {}

  /**
   * The request with every `images` entry checked, in order: a stored reference must still be stored; a `data:` URI
   * is decoded, checked and replaced by the reference of its stored bytes; a link is downloaded (guarded), checked
   * and kept. Throws InvalidInput (field `images`) naming the first image that fails, and why.
   */
  prepare(request: FluxRequest, options: PrepareOptions = {}): Promise<PreparedRequest> {
    const { inputs } = this.options;
    return prepareImages(request, options, {
      ...this.fetching(options.signal),
      lookup: (reference) => inputs.lookup(reference),
      ttlSeconds: inputs.ttlSeconds,
      keep: (image) => inputs.put(image.bytes, image.contentType, { width: image.width, height: image.height }),
    });
  }

  /**
   * What a reroll needs: the original request, with its stored images checked to be still there (an expired one is
   * InputImageExpired, a clear "attach it again"). Links are not fetched again, so their sizes are undefined.
   */
  async check(request: FluxRequest): Promise<PreparedRequest> {
    const sizes: ImageSizes = [];
    for (const [i, image] of (request.images ?? []).entries()) {
      if (!isInputReference(image)) {
        sizes.push(undefined);
        continue;
      }
      const found = await this.options.inputs.lookup(image);
      if (!found) throw new InputImageExpired(this.options.inputs.ttlSeconds, i + 1);
      sizes.push(found.size);
    }
    return { request, sizes };
  }

  /**
   * Checks an image the bot received itself (an attachment or Slack file it downloads, an upload) and stores it: the
   * reference to put in `images`, and its size. `bytes` may be the download itself, whose failures are worded the
   * same way. Throws InvalidInput naming the image.
   */
  async store(bytes: Buffer | (() => Promise<Buffer>), label: ImageLabel): Promise<{ reference: string; size: ImageSize }> {
    const limits = this.options.limits ?? REFERENCE_LIMITS;
    const image = await refusing(label, async () => checkReferenceImage(typeof bytes === 'function' ? await bytes() : bytes, limits));
    const size = { width: image.width, height: image.height };
    return { reference: await this.options.inputs.put(image.bytes, image.contentType, size), size };
  }

  /**
   * Downloads a member's link through the guarded downloader (ALLOW_PRIVATE_URLS decides private addresses), checks
   * and stores it, like `store`: for an image the bot is pointed at by a message (an embed's image on another host).
   */
  storeLink(link: string, label: ImageLabel): Promise<{ reference: string; size: ImageSize }> {
    if (!isImageLink(link)) return Promise.reject(refusal(label, 'it is not a link to an image'));
    const { download } = this.fetching(undefined);
    return this.store(() => download(link), label);
  }

  private fetching(signal: AbortSignal | undefined): Pick<PrepareSteps, 'download' | 'limits'> {
    const { guard, fetch, timeoutMs, limits = REFERENCE_LIMITS } = this.options;
    return { limits, download: linkDownloader({ guard, fetch, timeoutMs, signal, limits }) };
  }
}

export interface LocalCheckOptions extends PrepareOptions {
  guard?: MemberLinkGuard;
  fetch?: typeof fetch;
  timeoutMs?: number;
  limits?: ReferenceLimits;
}

/**
 * {@link ReferenceImages.prepare} without Redis, for the operator CLI (it calls providers directly): the same checks,
 * but `data:` URIs stay inline (there is no store to put them in) and stored references are refused (only a bot
 * process knows them).
 */
export function checkReferenceImages(request: FluxRequest, options: LocalCheckOptions = {}): Promise<PreparedRequest> {
  const limits = options.limits ?? REFERENCE_LIMITS;
  return prepareImages(request, options, {
    limits,
    download: linkDownloader({ guard: options.guard, fetch: options.fetch, timeoutMs: options.timeoutMs, signal: options.signal, limits }),
  });
}

interface PrepareSteps {
  limits: ReferenceLimits;
  download: (link: string) => Promise<Buffer>;
  /** A stored image: its size, or undefined when it is gone. Absent: references are not accepted here. */
  lookup?: (reference: string) => Promise<{ size: ImageSize | undefined } | undefined>;
  ttlSeconds?: number;
  /** Stores a checked inline image and returns its reference; absent: the `data:` URI stays in the request. */
  keep?: (image: CheckedReference) => Promise<string>;
}

async function prepareImages(request: FluxRequest, options: PrepareOptions, steps: PrepareSteps): Promise<PreparedRequest> {
  if (!request.images) return { request, sizes: [] };
  const images: string[] = [];
  const sizes: ImageSizes = [];
  // The same image given twice is checked (and downloaded) once.
  const done = new Map<string, { image: string; size: ImageSize | undefined }>();
  for (const [i, image] of request.images.entries()) {
    const label: ImageLabel = { index: i + 1, name: options.names?.[i] ?? linkName(image) };
    const result = done.get(image) ?? (await prepareOne(image, label, steps));
    done.set(image, result);
    images.push(result.image);
    sizes.push(result.size);
  }
  return { request: { ...request, images }, sizes };
}

async function prepareOne(image: string, label: ImageLabel, steps: PrepareSteps): Promise<{ image: string; size: ImageSize | undefined }> {
  if (isInputReference(image)) {
    if (!steps.lookup) throw refusal(label, 'it names an image stored by a bot process; give the file or a link instead');
    const found = await steps.lookup(image);
    if (!found) throw new InputImageExpired(steps.ttlSeconds ?? 0, label.index);
    return { image, size: found.size };
  }
  if (image.startsWith('data:')) {
    const checked = await refusing(label, () => checkReferenceImage(decodeDataUri(image, steps.limits.maxBytes), steps.limits));
    const size = { width: checked.width, height: checked.height };
    return { image: steps.keep ? await steps.keep(checked) : image, size };
  }
  if (!isImageLink(image)) throw refusal(label, 'it is neither a link nor an attached image');
  const checked = await refusing(label, async () => checkReferenceImage(await steps.download(image), steps.limits));
  return { image, size: { width: checked.width, height: checked.height } };
}

function linkDownloader(o: {
  guard: MemberLinkGuard | undefined;
  fetch: typeof fetch | undefined;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  limits: ReferenceLimits;
}): (link: string) => Promise<Buffer> {
  return (link) =>
    downloadBytes(link, {
      maxBytes: o.limits.maxBytes,
      guard: o.guard ?? {},
      source: 'image link',
      timeoutMs: o.timeoutMs ?? 20_000,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
}

/** Runs a check of one image; its failure becomes InvalidInput naming the image. Cancellation passes through. */
async function refusing<T>(label: ImageLabel, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ImageInvalid) throw refusal(label, detailOf(err), err);
    if (err instanceof FluxError && (err.code === 'unavailable' || err.code === 'timeout')) {
      const why = err.code === 'timeout' ? 'its host did not answer in time' : 'its host could not be reached or failed';
      throw refusal(label, `the link could not be downloaded (${why}); try again or attach the image instead`, err);
    }
    throw err;
  }
}

/**
 * The request with `from` (a link an adapter put in the parser's list) replaced by `to` (the stored image's reference)
 * wherever it stands: in `images`, or as the image prompt (on a FLUX.1 model the one image given becomes it).
 */
export function replaceImage(request: FluxRequest, from: string, to: string): FluxRequest {
  return {
    ...request,
    ...(request.images ? { images: request.images.map((image) => (image === from ? to : image)) } : {}),
    ...(request.image_prompt === from ? { image_prompt: to } : {}),
  };
}

/** `image 2 (cat.png): it is larger than 10 MB`. */
export function refusal(label: ImageLabel, reason: string, cause?: unknown): InvalidInput {
  const name = label.name ? ` (${safeName(label.name)})` : '';
  return new InvalidInput(`image ${label.index}${name}: ${reason}`, 'images', cause === undefined ? {} : { cause });
}

/** What an ImageInvalid says, without its prefix; a refused link is "the link" (the guard words it for image prompts). */
function detailOf(err: ImageInvalid): string {
  return err.message.replace(/^image invalid: /, '').replace(/^the image prompt link\b/, 'the link');
}

/** A link's last path segment (`cat.png`), to name it; undefined for inline images and stored references. */
export function linkName(value: string): string | undefined {
  if (!isImageLink(value)) return undefined;
  try {
    const segments = new URL(value).pathname.split('/').filter(Boolean);
    const last = segments.at(-1);
    return last === undefined ? undefined : decodeURIComponent(last);
  } catch {
    return undefined;
  }
}

/** A name as shown back to the person: one line, no markup brackets, at most 60 characters. */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return truncate(name.replace(/[\u0000-\u001f\u007f<>]/g, '').trim(), 60) || 'unnamed';
}
