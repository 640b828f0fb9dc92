import {
  ContentModerated,
  GenerationCanceled,
  GenerationFailed,
  ProviderRateLimited,
  ProviderTimeout,
  isFluxError,
} from '../../errors.js';
import { DEFAULT_MAX_DOWNLOAD_BYTES, downloadImage } from '../../images/download.js';
import { fitImage } from '../../images/image.js';
import { prepareImages } from '../../images/inline-image.js';
import { imageCount, type FluxRequest } from '../../request.js';
import { sleep, stalledCall } from '../http.js';
import type { GenerateOptions, GeneratedImage, ImageProvider, ProviderProgress } from '../provider.js';
import { FalRequestNotFound, falStatusError } from './errors.js';
import { falMakesMany, toFalCall, type FalCall } from './params.js';
import { FalQueueClient, type FalQueueStatus, type FalResult } from './queue-client.js';

export const FAL_DEFAULT_QUEUE_URL = 'https://queue.fal.run';

/**
 * Longest `data:` URI sent as a reference image, in characters. fal accepts data URIs wherever it takes an image URL
 * but documents no size for them (its own client uploads files to fal's storage first); 4 MB each keeps a request
 * with ten references near 40 MB, and a 4 MP JPEG, the most FLUX.2 reads, fits well within it. A longer one is
 * re-encoded smaller (see prepareImages), never dropped.
 */
export const FAL_MAX_DATA_URI_CHARS = 4_000_000;

export interface FalProviderOptions {
  /** `FAL_KEY`, sent as `Authorization: Key …` to the queue only, never to image downloads. */
  key: string;
  /** `FAL_QUEUE_URL`; every queue URL is built from it. Default {@link FAL_DEFAULT_QUEUE_URL}. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Pause between status polls. Default 500 ms, as @fal-ai/client. */
  pollIntervalMs?: number;
  /** The whole generation, submit to decoded image; past it the request is canceled at fal. Default 5 minutes. */
  timeoutMs?: number;
  /** Each HTTP call (and the image download). Default 30 s. */
  requestTimeoutMs?: number;
  /** The best-effort cancel call. Default 5 s. */
  cancelTimeoutMs?: number;
  /** Largest image accepted. Default 50 MB. */
  maxDownloadBytes?: number;
  /**
   * Let output downloads reach loopback/private addresses whatever the base (tests). Default false: outputs may come
   * from private addresses only when `baseUrl` is itself on a private network (a gateway on the operator's network).
   */
  allowPrivateDownloads?: boolean;
}

/** Consecutive failed status polls tolerated (a 502 or a 429 mid-poll should not lose a paid generation). */
const MAX_POLL_RETRIES = 3;
const MAX_RETRY_DELAY_MS = 30_000;

/** The request being worked on; `id` is set once fal assigned one (from then on a failure cancels it). */
interface Run {
  modelId: string;
  id: string | undefined;
}

/**
 * FLUX on fal.ai through its queue: submit, checkpoint the request id, poll the status, fetch the result, download
 * the image (a gallery's images, when fal makes them in one call) at once and convert it to the requested format. See queue-client.ts for the HTTP contract and
 * params.ts for what is sent.
 */
export class FalProvider implements ImageProvider {
  readonly name = 'fal' as const;
  private readonly client: FalQueueClient;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly cancelTimeoutMs: number;
  private readonly maxDownloadBytes: number;
  private readonly allowPrivateDownloads: boolean;
  private readonly baseUrl: string;

  constructor(options: FalProviderOptions) {
    if (!options.key) throw new Error('FalProvider needs a key (FAL_KEY)');
    this.fetchImpl = options.fetch;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.cancelTimeoutMs = options.cancelTimeoutMs ?? 5_000;
    this.maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    this.allowPrivateDownloads = options.allowPrivateDownloads ?? false;
    this.baseUrl = options.baseUrl ?? FAL_DEFAULT_QUEUE_URL;
    this.client = new FalQueueClient({
      baseUrl: this.baseUrl,
      key: options.key,
      requestTimeoutMs: this.requestTimeoutMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** Checks what `generate` sends: one image, whatever the request's `count` (see generate). */
  check(request: FluxRequest): void {
    toFalCall(oneImage(request));
  }

  /** A gallery (count > 1) on an endpoint with `num_images` (the FLUX.1 apps, Kontext, klein): one call for all. */
  makesMany(request: FluxRequest): boolean {
    return falMakesMany(request);
  }

  /**
   * One image, always: a gallery's `count` is not sent (`num_images` absent), so a gallery request given here makes and
   * pays for one image, the worker's per-image call. Only `generateMany` makes several.
   */
  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const [image] = await this.run(oneImage(request), options);
    return image!;
  }

  /**
   * A gallery in one fal request (`num_images: count`), only when `makesMany(request)`: one submit and one checkpoint
   * for the call, so a resumed call reads the same request's images. Every image is downloaded, in fal's order, each
   * converted as `generate` converts its one; fewer than `count` in the result is GenerationFailed.
   *
   * Seeds: fal reports one `seed` for the call, the seed of the batch rather than of each image (image i is not what
   * seed + i would render alone), so every image reports the call's seed. `nsfw` is per image (`has_nsfw_concepts[i]`).
   */
  async generateMany(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage[]> {
    if (!this.makesMany(request)) {
      throw new Error(`generateMany: fal does not make ${request.model}'s ${imageCount(request)} image(s) in one call (ask makesMany first)`);
    }
    return this.run(request, options);
  }

  /** Submit (or resume), checkpoint, wait, then download the result's `imageCount(request)` images in order. */
  private async run(request: FluxRequest, options: GenerateOptions): Promise<GeneratedImage[]> {
    const call = toFalCall(request);
    const count = imageCount(request);
    const started = Date.now();
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    // A checkpoint from another provider (after a failover) is not ours to poll: start a fal request instead.
    const resume = options.resume?.provider === 'fal' ? options.resume : undefined;
    const run: Run = { modelId: resume?.modelId ?? call.modelId, id: resume?.id };
    try {
      let result: FalResult;
      if (run.id === undefined) {
        await this.submit(request, call, run, options, signal);
        // With a webhook coming, the submit answer (IN_QUEUE) is all a first status call would say.
        if (options.completion) await options.completion.waitForCompletion(run.id!, this.pollIntervalMs, signal);
        result = await this.waitForResult(run, signal, options);
      } else {
        try {
          result = await this.waitForResult(run, signal, options);
        } catch (err) {
          if (!(err instanceof FalRequestNotFound)) throw err;
          // The checkpointed request is gone (fal keeps results about an hour): start over rather than fail the job.
          run.modelId = call.modelId;
          run.id = undefined;
          await this.submit(request, call, run, options, signal);
          result = await this.waitForResult(run, signal, options);
        }
      }
      const made = result.images?.length ?? 0;
      if (made < count) {
        // Reading the same request again would give the same images: not retryable.
        throw new GenerationFailed('fal', `the result had ${made} of the ${count} images asked for`);
      }
      const seed = typeof result.seed === 'number' && Number.isInteger(result.seed) ? result.seed : request.seed;
      await options.imageSlot?.();
      const images: GeneratedImage[] = [];
      for (let i = 0; i < count; i++) {
        const image = await this.download(result, i, call, request, signal);
        images.push({ ...image, seed, provider: 'fal', predictionId: run.id!, nsfw: result.has_nsfw_concepts?.[i] === true, ms: Date.now() - started });
      }
      return images;
    } catch (err) {
      throw await this.settle(err, run, options.signal, deadline);
    }
  }

  private async submit(request: FluxRequest, call: FalCall, run: Run, options: GenerateOptions, signal: AbortSignal): Promise<void> {
    // Links go as they are (fal fetches them); inline images are fitted to the size fal is sent.
    const input = request.images
      ? toFalCall({ ...request, images: await prepareImages(request.images, { links: 'keep', maxChars: FAL_MAX_DATA_URI_CHARS }) }).input
      : call.input;
    const submitted = await this.client.submit(call.modelId, input, { webhookUrl: options.webhookUrl, signal });
    run.id = submitted.request_id;
    report(options, submitted);
    if (!options.checkpoint) return;
    try {
      await options.checkpoint({ provider: 'fal', id: run.id, modelId: call.modelId });
    } catch (err) {
      // Nobody could resume this request: stop paying for it.
      await this.client.cancel(call.modelId, run.id, this.cancelTimeoutMs);
      throw err;
    }
  }

  private async waitForResult(run: Run, signal: AbortSignal, options: GenerateOptions): Promise<FalResult> {
    const id = run.id!;
    let failures = 0;
    for (;;) {
      let status: FalQueueStatus;
      try {
        status = await this.client.status(run.modelId, id, signal);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (signal.aborted || !isTransient(err) || failures > MAX_POLL_RETRIES) throw err;
        await sleep(this.retryDelay(err, failures), signal);
        continue;
      }
      if (status.status === 'COMPLETED') {
        // A failed request is COMPLETED too, with `error` set; its result endpoint answers fal's error body, which
        // client.result maps (as how the request ended: a retry must not read it again).
        const failed = falStatusError(status);
        const result = await this.client.result(run.modelId, id, signal, failed !== undefined);
        if (result.images && result.images.length > 0) return result;
        throw (
          failed ??
          (result.has_nsfw_concepts?.[0] ? new ContentModerated('fal', 'the output was flagged and withheld') : new GenerationFailed('fal', 'the result had no image'))
        );
      }
      report(options, status);
      // With a webhook expected, the pause ends when it arrives; the result is still read from fal's queue.
      if (options.completion) await options.completion.waitForCompletion(id, this.pollIntervalMs, signal);
      else await sleep(this.pollIntervalMs, signal);
    }
  }

  /** Downloads and converts the result's image `index`. */
  private async download(result: FalResult, index: number, call: FalCall, request: FluxRequest, signal: AbortSignal) {
    const url = result.images?.[index]?.url;
    if (typeof url !== 'string' || url.length === 0) {
      throw new GenerationFailed('fal', index === 0 ? 'the result had no image link' : `the result had no link for image ${index + 1}`);
    }
    const decoded = await downloadImage(url, {
      maxBytes: this.maxDownloadBytes,
      signal,
      timeoutMs: this.requestTimeoutMs,
      source: 'fal',
      guard: { allowPrivate: this.allowPrivateDownloads, outputOf: { provider: 'fal', baseUrl: this.baseUrl } },
      ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
    }).catch((err: unknown) => {
      // fal keeps the result about an hour: a retry reads the request's result and downloads it again.
      throw stalledCall(err, 'fal', 'the image download', signal);
    });
    // fal writes jpeg or png; webp (and jpg at a chosen quality) are encoded here, so the format is always the one asked.
    return fitImage(decoded, { format: request.output_format, ...(call.quality === undefined ? {} : { quality: call.quality }) });
  }

  /** Turns an abort into GenerationCanceled or ProviderTimeout, canceling the request at fal first (best effort). */
  private async settle(err: unknown, run: Run, userSignal: AbortSignal | undefined, deadline: AbortSignal): Promise<unknown> {
    const canceled = userSignal?.aborted === true;
    if (!canceled && !deadline.aborted) return err;
    if (run.id !== undefined) await this.client.cancel(run.modelId, run.id, this.cancelTimeoutMs);
    return canceled
      ? new GenerationCanceled('fal generation canceled', { provider: 'fal', cause: err })
      : new ProviderTimeout('fal', this.timeoutMs, { cause: err });
  }

  private retryDelay(err: unknown, failures: number): number {
    const hinted = err instanceof ProviderRateLimited ? err.retryAfterMs : undefined;
    return Math.min(MAX_RETRY_DELAY_MS, hinted ?? this.pollIntervalMs * 2 ** failures);
  }
}

/** The request without its gallery `count`: what one image of it is. */
function oneImage(request: FluxRequest): FluxRequest {
  if (request.count === undefined) return request;
  const one = { ...request };
  delete one.count;
  return one;
}

function isTransient(err: unknown): boolean {
  return isFluxError(err) && err.retryable && err.code !== 'canceled';
}

function report(options: GenerateOptions, status: FalQueueStatus): void {
  if (!options.onProgress) return;
  const progress: ProviderProgress =
    status.status === 'IN_QUEUE'
      ? { state: 'queued', ...(typeof status.queue_position === 'number' ? { queuePosition: status.queue_position } : {}) }
      : { state: 'running' };
  try {
    options.onProgress(progress);
  } catch {
    // A failing status message must not lose the image.
  }
}
