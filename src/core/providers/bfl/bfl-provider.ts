import {
  FluxError,
  GenerationCanceled,
  InvalidInput,
  ProviderRateLimited,
  ProviderTimeout,
  ProviderUnavailable,
  toFluxError,
} from '../../errors.js';
import { DEFAULT_MAX_DOWNLOAD_BYTES, downloadImage } from '../../images/download.js';
import { fitImage, type DecodedImage } from '../../images/image.js';
import { dataUriBase64, prepareImages } from '../../images/inline-image.js';
import type { FluxRequest } from '../../request.js';
import { errorDetail, joinUrl, requestJson, sleep, stalledCall, type HttpOptions } from '../http.js';
import type { CompletionNotifier, GenerateOptions, GeneratedImage, ImageProvider, ProviderCheckpoint, ProviderProgress } from '../provider.js';
import { imagePromptBase64 } from './image-prompt.js';
import { bflParams, withBflExtras, type BflExtras, type BflParams } from './params.js';
import { BflTaskNotFound, readBflPoll, readCost, type BflPollOutcome } from './poll-result.js';

export const DEFAULT_BFL_API_URL = 'https://api.bfl.ai/v1';

/**
 * Longest reference image sent, in characters of its base64 (data URI) form. BFL documents no per-image size; 4 MB
 * keeps a body with eight references near 32 MB, and a 4 MP JPEG (the most FLUX.2 reads) fits well within it. A
 * larger one is re-encoded smaller (see prepareImages), never dropped.
 */
export const BFL_MAX_IMAGE_CHARS = 4_000_000;

export interface BflProviderOptions {
  /**
   * The BFL API key, sent as `x-key` to BFL hosts only: the configured base's host and BFL's `*.bfl.ai` clusters
   * (over https). Never to the sample download, and never across a redirect to any other host.
   */
  apiKey: string;
  /** API base (`BFL_API_URL`); a regional cluster such as `https://api.eu.bfl.ai/v1` works too. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Pause between polls. Default 500 ms, the interval of BFL's own examples. */
  pollIntervalMs?: number;
  /** The whole generation, submit to downloaded image. Default 5 minutes. */
  timeoutMs?: number;
  /** Each HTTP call. Default 30 s. */
  requestTimeoutMs?: number;
  /** Largest accepted output image. */
  maxDownloadBytes?: number;
  /**
   * Let members' image prompt links point at private/loopback hosts (`ALLOW_PRIVATE_URLS`; tests). Default false.
   * The sample download does not read it: samples may come from private addresses only when `baseUrl` is on one.
   */
  allowPrivateDownloads?: boolean;
  /** Sent as `webhook_secret` with `webhook_url` when a generation asks for a webhook. */
  webhookSecret?: string;
  /** Consecutive transient polling failures (5xx, 429, network) tolerated before giving up. Default 3. */
  maxPollErrors?: number;
}

interface BflTask {
  id: string;
  pollUrl: string;
  resumed: boolean;
  /** What the submit answer said the task costs, in BFL credits (FLUX.2 endpoints report it). */
  cost?: number;
}

const CANCELED = 'bfl generation canceled; BFL has no cancel endpoint, so the task may still finish (and be billed)';

/**
 * Black Forest Labs' own API. A task is submitted to `{base}/{endpoint}`, then polled at the `polling_url` BFL
 * returns, on whichever BFL host it names (tasks live on regional clusters such as api.eu.bfl.ai, and the global host
 * may not know them); the result URL expires after about ten minutes, so the image is downloaded at once. The key
 * goes to BFL hosts only (see `apiKey`).
 *
 * BFL has no cancel endpoint: on abort and at the deadline the adapter only stops polling (the task may still run
 * and be billed) and rejects with GenerationCanceled or ProviderTimeout.
 *
 * Reference images go as bare base64 in `input_image`, `input_image_2` …: links are fetched through the guarded
 * downloader, as the image prompt is. The cost BFL reports (credits, at $0.01 each) is returned as `costUsd`.
 *
 * With `webhookUrl` the task is submitted with `webhook_url` (and the configured `webhook_secret`) but still polled,
 * so a lost webhook costs nothing; BFL's webhook answer carries no `polling_url`, so the global result endpoint
 * `{base}/get_result?id=` is polled then (and for checkpoints saved without a URL).
 */
export class BflProvider implements ImageProvider {
  readonly name = 'bfl' as const;
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch | undefined;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxDownloadBytes: number;
  private readonly allowPrivateDownloads: boolean;
  private readonly webhookSecret: string | undefined;
  private readonly maxPollErrors: number;
  /** The configured base's host name, which may receive the key. */
  private readonly baseHost: string;

  constructor(options: BflProviderOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = options.baseUrl ?? DEFAULT_BFL_API_URL;
    this.baseHost = new URL(this.baseUrl).hostname.toLowerCase();
    this.fetch = options.fetch;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    this.allowPrivateDownloads = options.allowPrivateDownloads ?? false;
    this.webhookSecret = options.webhookSecret;
    this.maxPollErrors = options.maxPollErrors ?? 3;
  }

  check(request: FluxRequest): void {
    bflParams(request);
  }

  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const started = Date.now();
    const params = bflParams(request);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      let task: BflTask;
      if (options.resume) {
        task = this.resumedTask(options.resume);
      } else {
        task = await this.submit(params, options.webhookUrl, signal);
        await options.checkpoint?.({ provider: 'bfl', id: task.id, pollUrl: task.pollUrl });
      }
      const ready = await this.poll(task, signal, options.onProgress, options.completion);
      // Download before anything else: the sample URL expires about ten minutes after the task is Ready.
      await options.imageSlot?.();
      const sample = await this.download(ready.sample, signal);
      const image = await fitImage(sample, { format: params.format, quality: params.quality });
      const credits = ready.cost ?? task.cost;
      return {
        bytes: image.bytes,
        contentType: image.contentType,
        format: image.format,
        width: image.width,
        height: image.height,
        seed: ready.seed ?? request.seed,
        provider: 'bfl',
        predictionId: task.id,
        nsfw: false,
        ms: Date.now() - started,
        ...(credits === undefined ? {} : { costUsd: credits / 100 }),
      };
    } catch (err) {
      throw this.settle(err, options.signal, deadline);
    }
  }

  private async submit(params: BflParams, webhookUrl: string | undefined, signal: AbortSignal): Promise<BflTask> {
    const extras: BflExtras = {};
    if (params.imagePrompt !== undefined) {
      extras.imagePromptBase64 = await imagePromptBase64(params.imagePrompt, {
        signal,
        timeoutMs: this.requestTimeoutMs,
        allowPrivate: this.allowPrivateDownloads,
        ...(this.fetch ? { fetch: this.fetch } : {}),
      });
    }
    if (params.images.length > 0) {
      const fetched = await prepareImages(
        params.images.map((image) => image.source),
        {
          links: 'fetch',
          maxChars: BFL_MAX_IMAGE_CHARS,
          guard: { allowPrivate: this.allowPrivateDownloads },
          signal,
          timeoutMs: this.requestTimeoutMs,
          ...(this.fetch ? { fetch: this.fetch } : {}),
        },
      );
      extras.images = params.images.map((image, i) => ({ field: image.field, base64: dataUriBase64(fetched[i]!) }));
    }
    if (webhookUrl !== undefined) {
      extras.webhookUrl = webhookUrl;
      if (this.webhookSecret !== undefined) extras.webhookSecret = this.webhookSecret;
    }
    const res = await requestJson<unknown>(
      joinUrl(this.baseUrl, params.endpoint),
      { method: 'POST', headers: { 'x-key': this.apiKey }, body: withBflExtras(params.body, extras) },
      { ...this.http(signal), mapError: validationError },
    );
    const answer = (res.body && typeof res.body === 'object' ? res.body : {}) as { id?: unknown; polling_url?: unknown; cost?: unknown };
    if (typeof answer.id !== 'string' || answer.id.length === 0) {
      throw new ProviderUnavailable('bfl', 'the submit answer has no task id', res.status);
    }
    const cost = readCost(answer.cost);
    return { id: answer.id, pollUrl: this.pollUrlFor(answer.id, answer.polling_url), resumed: false, ...(cost === undefined ? {} : { cost }) };
  }

  private resumedTask(checkpoint: ProviderCheckpoint): BflTask {
    if (checkpoint.provider !== 'bfl') throw new Error(`cannot resume a ${checkpoint.provider} checkpoint with the bfl provider`);
    return { id: checkpoint.id, pollUrl: this.pollUrlFor(checkpoint.id, checkpoint.pollUrl), resumed: true };
  }

  /**
   * Where to poll a task: the `polling_url` BFL named when it is on a BFL host, else the global result endpoint (the
   * documented fallback: a webhook submit answers without polling_url). A polling URL elsewhere would receive the key.
   */
  private pollUrlFor(id: string, pollingUrl: unknown): string {
    return isHttpUrl(pollingUrl) && this.isKeyHost(new URL(pollingUrl)) ? pollingUrl : this.resultUrl(id);
  }

  /**
   * The hosts `x-key` may be sent to: the configured base's host (any port: a regional base, a test server) and BFL's
   * own `*.bfl.ai` hosts over https (`polling_url` names regional clusters such as api.eu.bfl.ai).
   */
  private isKeyHost(url: URL): boolean {
    const host = url.hostname.toLowerCase();
    if (host === this.baseHost) return true;
    return url.protocol === 'https:' && (host === 'bfl.ai' || host.endsWith('.bfl.ai'));
  }

  private async poll(
    task: BflTask,
    signal: AbortSignal,
    onProgress: ((progress: ProviderProgress) => void) | undefined,
    completion: CompletionNotifier | undefined,
  ): Promise<Extract<BflPollOutcome, { kind: 'ready' }>> {
    let failures = 0;
    let reported: string | undefined;
    // A fresh task with a webhook coming is not polled before it (a resumed one is: it may have finished meanwhile).
    if (completion && !task.resumed) await completion.waitForCompletion(task.id, this.pollIntervalMs, signal);
    for (;;) {
      let body: unknown;
      try {
        body = (await requestJson<unknown>(task.pollUrl, { headers: { 'x-key': this.apiKey } }, this.http(signal))).body;
        failures = 0;
      } catch (err) {
        // A GET without input refused with 4xx (other than auth and rate limits) means the id is unknown there.
        if (err instanceof InvalidInput) throw new BflTaskNotFound(task.id, task.resumed);
        if (!isTransient(err) || ++failures > this.maxPollErrors) throw stalledCall(err, 'bfl', `the status poll of task ${task.id}`, signal);
        await sleep(err instanceof ProviderRateLimited ? (err.retryAfterMs ?? this.pollIntervalMs) : this.pollIntervalMs, signal);
        continue;
      }
      const outcome = readBflPoll(body, task);
      if (outcome.kind === 'ready') return outcome;
      const progress: ProviderProgress =
        outcome.fraction === undefined ? { state: 'queued' } : { state: 'running', fraction: outcome.fraction };
      const key = `${progress.state}:${progress.fraction ?? ''}`;
      if (key !== reported) {
        reported = key;
        onProgress?.(progress);
      }
      // With a webhook expected, the pause ends when it arrives (its body is not trusted: the next poll reads the
      // result from BFL itself).
      if (completion) await completion.waitForCompletion(task.id, this.pollIntervalMs, signal);
      else await sleep(this.pollIntervalMs, signal);
    }
  }

  private download(url: string, signal: AbortSignal): Promise<DecodedImage> {
    // No x-key here: the sample is a signed URL on a delivery host, and the key must not travel further than BFL's API.
    return downloadImage(url, {
      maxBytes: this.maxDownloadBytes,
      signal,
      timeoutMs: this.requestTimeoutMs,
      source: 'bfl',
      guard: { outputOf: { provider: 'bfl', baseUrl: this.baseUrl } },
      ...(this.fetch ? { fetch: this.fetch } : {}),
    }).catch((err: unknown) => {
      // The task stays Ready (its sample about ten minutes): a retry polls it and downloads the sample again.
      throw stalledCall(err, 'bfl', 'the sample download', signal);
    });
  }

  private resultUrl(id: string): string {
    return joinUrl(this.baseUrl, `get_result?id=${encodeURIComponent(id)}`);
  }

  /** For every call that carries `x-key`: sent to BFL hosts only, redirects elsewhere refused. */
  private http(signal: AbortSignal): HttpOptions {
    return {
      provider: 'bfl',
      timeoutMs: this.requestTimeoutMs,
      signal,
      sendOnlyTo: (url) => this.isKeyHost(url),
      ...(this.fetch ? { fetch: this.fetch } : {}),
    };
  }

  /** The caller's abort wins over the deadline; typed errors other than cancellation pass through unchanged. */
  private settle(err: unknown, userSignal: AbortSignal | undefined, deadline: AbortSignal): FluxError {
    if (err instanceof FluxError && !(err instanceof GenerationCanceled)) return err;
    if (userSignal?.aborted) return new GenerationCanceled(CANCELED, { cause: err, provider: 'bfl' });
    if (deadline.aborted) return new ProviderTimeout('bfl', this.timeoutMs, { cause: err });
    return toFluxError(err);
  }
}

/** BFL's 422 is FastAPI's `{detail:[{loc:['body', field], msg}]}`: keep the field so the person learns which one. */
function validationError(status: number, _headers: Headers, body: unknown): InvalidInput | undefined {
  if (status !== 422) return undefined;
  const loc = (body as { detail?: Array<{ loc?: unknown[] }> } | undefined)?.detail?.[0]?.loc;
  const field = Array.isArray(loc) && typeof loc[loc.length - 1] === 'string' ? (loc[loc.length - 1] as string) : undefined;
  return new InvalidInput(`bfl refused the request: ${errorDetail(body) ?? 'HTTP 422'}`, field, { provider: 'bfl' });
}

function isTransient(err: unknown): boolean {
  return (err instanceof ProviderUnavailable || err instanceof ProviderRateLimited || err instanceof ProviderTimeout) && !(err instanceof BflTaskNotFound);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
