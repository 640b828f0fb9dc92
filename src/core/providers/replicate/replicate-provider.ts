import { GenerationCanceled, ProviderRateLimited, ProviderTimeout, ProviderUnavailable, UnsupportedByProvider } from '../../errors.js';
import { prepareImages } from '../../images/inline-image.js';
import type { FluxRequest } from '../../request.js';
import { joinUrl, RequestDeadline, requestJson, sleep, stalledCall } from '../http.js';
import type { CompletionNotifier, GeneratedImage, GenerateOptions, ImageProvider, ProviderProgress } from '../provider.js';
import { isRunning, listOurPredictions, pickEarlier, type ListedPrediction, type PredictionPage } from './lookup.js';
import { fetchOutputImage } from './output.js';
import { toReplicateParams, type ReplicateParams } from './params.js';
import { readPrediction, type Prediction } from './prediction.js';

/**
 * Longest `data:` URI sent as a reference image, in characters. Replicate recommends data URIs only for files below
 * about 1 MB (larger ones as links); a longer one is re-encoded smaller (see prepareImages), never dropped.
 */
export const REPLICATE_MAX_DATA_URI_CHARS = 1_000_000;

/** Replicate's API base; `REPLICATE_API_URL` may name a compatible proxy's instead. */
export const DEFAULT_REPLICATE_API_URL = 'https://api.replicate.com/v1';

export interface ReplicateProviderOptions {
  /** API base: `https://api.replicate.com/v1`, or a compatible proxy's (`https://api.yescale.io/replicate/v1`). */
  baseUrl: string;
  /** API token (or the proxy's key), sent as `Authorization: Bearer`. Never appears in errors. */
  token: string;
  fetch?: typeof fetch;
  /** Between status polls; default 1000 ms. */
  pollIntervalMs?: number;
  /** The whole generation, from the call to the downloaded image; default 5 minutes. */
  timeoutMs?: number;
  /** One poll, cancel or download; default 30 s (the create call gets its `Prefer: wait` on top). */
  requestTimeoutMs?: number;
  /**
   * `Prefer: wait=N` on create (1..60, default 60; 0 sends none): Replicate holds the answer until the image exists,
   * which saves most polls. The id is only known once the answer arrives, so an abort during the hold cannot cancel
   * the prediction; `Cancel-After` bounds what it can cost. N never exceeds the time left before the deadline.
   */
  preferWaitSeconds?: number;
  /** `Cancel-After` on create (`30s`, `10m`, `1h30m`; at least 5 s; default `10m`), or false for none. */
  cancelAfter?: string | false;
  maxDownloadBytes?: number;
  /**
   * Accept output links on private or loopback hosts whatever the base (tests). Default false: outputs may come from
   * private addresses only when `baseUrl` is itself on a private network (a proxy on the operator's network).
   */
  allowPrivateDownloads?: boolean;
}

/**
 * Consecutive failed polls (5xx, per-request timeouts) tolerated before giving up with ProviderUnavailable: the
 * prediction is neither canceled nor abandoned, and the job's retry resumes it from the checkpoint.
 */
const MAX_POLL_FAILURES = 3;
const CANCEL_TIMEOUT_MS = 5_000;
/** Answers to `GET /predictions` that mean "no list here" rather than a fault worth retrying. */
const LIST_UNSUPPORTED = new Set([400, 404, 405, 422, 501]);

/**
 * FLUX on Replicate's official models, or on a Replicate-compatible proxy. Creates a prediction with `Prefer: wait`,
 * checkpoints its id, polls `GET {base}/predictions/{id}` (always built from the configured base: proxies leave
 * `urls.get` pointing at api.replicate.com), downloads the output at once and converts it to the requested format.
 * 429s are thrown as ProviderRateLimited for the queue to wait on; while polling they only slow the polling down.
 *
 * A create whose answer is lost (timed out, connection dropped) may still have made a billed prediction: it is looked
 * up in `GET {base}/predictions` (lookup.ts) and resumed instead of created again, or canceled when the generation
 * was given up. A re-run of a job (`options.lookup`) looks the same way before it creates.
 */
export class ReplicateProvider implements ImageProvider {
  readonly name = 'replicate' as const;
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly fetch: typeof fetch | undefined;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly preferWaitSeconds: number;
  private readonly cancelAfter: string | undefined;
  private readonly cancelAfterMs: number;
  private readonly maxDownloadBytes: number | undefined;
  private readonly allowPrivateDownloads: boolean;

  constructor(options: ReplicateProviderOptions) {
    if (!options.baseUrl) throw new TypeError('ReplicateProvider needs a baseUrl');
    if (!options.token) throw new TypeError('ReplicateProvider needs a token');
    this.baseUrl = options.baseUrl;
    this.token = options.token;
    this.fetch = options.fetch;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const wait = options.preferWaitSeconds ?? 60;
    if (!Number.isInteger(wait) || wait < 0 || wait > 60) throw new RangeError('preferWaitSeconds must be a whole number from 0 to 60');
    this.preferWaitSeconds = wait;
    const cancelAfter = options.cancelAfter === undefined ? '10m' : options.cancelAfter;
    this.cancelAfter = cancelAfter === false ? undefined : cancelAfter;
    this.cancelAfterMs = cancelAfter === false ? 0 : parseDuration(cancelAfter);
    // Replicate canceling first would read as "canceled by someone", which is never retried.
    if (this.cancelAfterMs > 0 && this.cancelAfterMs < this.timeoutMs) throw new RangeError('cancelAfter must not be shorter than timeoutMs');
    this.maxDownloadBytes = options.maxDownloadBytes;
    this.allowPrivateDownloads = options.allowPrivateDownloads ?? false;
  }

  check(request: FluxRequest): void {
    toReplicateParams(request, this.name);
  }

  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const started = Date.now();
    let params = toReplicateParams(request, this.name);
    // The whole generation's deadline, linked to the caller's signal (one controller, not AbortSignal.any per call).
    const deadline = new RequestDeadline(this.timeoutMs, options.signal);
    const signal = deadline.signal;
    // A checkpoint from another provider (after a failover) cannot be polled here.
    const resume = options.resume?.provider === this.name ? options.resume : undefined;
    let id: string | undefined;
    // Set once a create request has gone out: from then on a prediction may exist that only the list can name.
    const sent: { at?: number } = {};
    try {
      if (signal.aborted) throw new GenerationCanceled();
      let prediction: Prediction;
      if (resume) {
        id = resume.id;
        prediction = await this.get(id, signal);
      } else {
        // Links go as they are (Replicate fetches them); inline images are fitted to Replicate's data URI size.
        if (request.images) {
          const images = await prepareImages(request.images, { links: 'keep', maxChars: REPLICATE_MAX_DATA_URI_CHARS });
          params = toReplicateParams({ ...request, images }, this.name);
        }
        const earlier = options.lookup ? await this.findEarlier(params, options.webhookUrl, options.lookup.since, signal) : undefined;
        prediction = earlier ?? (await this.createOrFind(params, options.webhookUrl, signal, started + this.timeoutMs, sent));
        id = prediction.id!;
        await this.saveCheckpoint(id, params, options);
      }
      const { url, seed } = await this.waitForOutput(id, prediction, signal, options.onProgress, options.completion);
      await options.imageSlot?.();
      const image = await fetchOutputImage(url, request, {
        source: this.name,
        baseUrl: this.baseUrl,
        signal,
        allowPrivate: this.allowPrivateDownloads,
        timeoutMs: this.requestTimeoutMs,
        ...(this.fetch ? { fetch: this.fetch } : {}),
        ...(this.maxDownloadBytes === undefined ? {} : { maxBytes: this.maxDownloadBytes }),
      }).catch((err: unknown) => {
        // The output lives on at Replicate (about an hour): a retry reads the prediction and downloads it again.
        throw stalledCall(err, this.name, 'the image download', signal);
      });
      return {
        ...image,
        seed: seed ?? request.seed,
        provider: this.name,
        predictionId: id,
        nsfw: false,
        ms: Date.now() - started,
      };
    } catch (err) {
      if (!signal.aborted) throw err;
      if (id !== undefined) await this.cancel(id);
      else if (sent.at !== undefined) await this.cancelUnanswered(params, options.webhookUrl, sent.at);
      if (options.signal?.aborted) throw new GenerationCanceled(undefined, { cause: err, provider: this.name });
      throw new ProviderTimeout(this.name, this.timeoutMs, { cause: err });
    } finally {
      deadline.done();
    }
  }

  /** Best effort: a prediction nobody waits for should stop costing money. Never throws. */
  async cancel(id: string): Promise<void> {
    await requestJson(joinUrl(this.baseUrl, `predictions/${encodeURIComponent(id)}/cancel`), { method: 'POST', headers: this.auth() }, {
      provider: this.name,
      timeoutMs: CANCEL_TIMEOUT_MS,
      ...(this.fetch ? { fetch: this.fetch } : {}),
    }).catch(() => undefined);
  }

  /**
   * Creates the prediction. When the answer is lost after the request went out (a timeout, a dropped connection, a
   * 5xx from a gateway that gave up waiting), the prediction may exist and be billed: it is looked up and resumed.
   * Not found (or the look failed), the create's own error stands; the job's retry looks again before creating.
   */
  private async createOrFind(params: ReplicateParams, webhookUrl: string | undefined, signal: AbortSignal, deadlineAt: number, sent: { at?: number }): Promise<Prediction> {
    sent.at = Date.now();
    try {
      return await this.create(params, webhookUrl, signal, deadlineAt);
    } catch (err) {
      if (signal.aborted || !(err instanceof ProviderTimeout || err instanceof ProviderUnavailable)) throw err;
      const found = await this.findEarlier(params, webhookUrl, sent.at, signal).catch(() => undefined);
      if (found) return found;
      throw err;
    }
  }

  /**
   * The prediction an earlier create for this request made since `since`, read in full; undefined when there is none
   * or the API has no list (a proxy). Further running ones are canceled: one image is all the job needs.
   */
  private async findEarlier(params: ReplicateParams, webhookUrl: string | undefined, since: number, signal: AbortSignal): Promise<Prediction | undefined> {
    const found = await this.listOurs(params, webhookUrl, since, signal);
    const { resume, cancel } = pickEarlier(found);
    await Promise.all(cancel.map((p) => this.cancel(p.id!)));
    // A listed prediction may be abridged; the full one says where it stands.
    return resume ? this.get(resume.id!, signal) : undefined;
  }

  /** Best effort, for a create abandoned unanswered (canceled, or past the deadline): stop what it made. Never throws. */
  private async cancelUnanswered(params: ReplicateParams, webhookUrl: string | undefined, since: number): Promise<void> {
    const deadline = new RequestDeadline(CANCEL_TIMEOUT_MS);
    try {
      const found = await this.listOurs(params, webhookUrl, since, deadline.signal);
      await Promise.all(found.filter(isRunning).map((p) => this.cancel(p.id!)));
    } catch {
      // Its Cancel-After bounds what it can cost.
    } finally {
      deadline.done();
    }
  }

  /** This request's predictions created since `since` (less the clock slack), newest first; [] when the API has no list. */
  private listOurs(params: ReplicateParams, webhookUrl: string | undefined, since: number, signal: AbortSignal): Promise<ListedPrediction[]> {
    return listOurPredictions(
      async (query) => {
        try {
          // Built on the configured base: `next` links name api.replicate.com even behind a proxy.
          const res = await requestJson<PredictionPage>(joinUrl(this.baseUrl, `predictions?${query}`), { headers: this.auth() }, {
            ...this.http(signal, this.requestTimeoutMs),
            // A proxy without the list answers 404, 405 or a refusal of the query: then there is nothing to find here.
            mapError: (status) => (LIST_UNSUPPORTED.has(status) ? new UnsupportedByProvider(this.name, 'listing predictions') : undefined),
          });
          return res.body;
        } catch (err) {
          if (err instanceof UnsupportedByProvider) return undefined;
          throw err;
        }
      },
      params,
      webhookUrl,
      since,
    );
  }

  private async create(params: ReplicateParams, webhookUrl: string | undefined, signal: AbortSignal, deadlineAt: number): Promise<Prediction> {
    // Never hold the create call past the deadline: an answer that arrives after it would carry an id nobody cancels.
    const wait = Math.min(this.preferWaitSeconds, Math.floor((deadlineAt - Date.now()) / 1000) - 1);
    const headers = this.auth();
    if (wait >= 1) headers.prefer = `wait=${wait}`;
    if (this.cancelAfter) headers['cancel-after'] = this.cancelAfter;
    const body = webhookUrl ? { input: params.input, webhook: webhookUrl, webhook_events_filter: ['completed'] } : { input: params.input };
    const res = await requestJson<Prediction>(
      joinUrl(this.baseUrl, `models/${params.model}/predictions`),
      { method: 'POST', headers, body },
      this.http(signal, Math.max(wait, 0) * 1000 + this.requestTimeoutMs),
    );
    if (!res.body || typeof res.body !== 'object' || typeof res.body.id !== 'string' || res.body.id === '') {
      throw new ProviderUnavailable(this.name, 'the create answer carried no prediction id', res.status);
    }
    return res.body;
  }

  private async get(id: string, signal: AbortSignal): Promise<Prediction> {
    const res = await requestJson<Prediction>(joinUrl(this.baseUrl, `predictions/${encodeURIComponent(id)}`), { headers: this.auth() }, {
      ...this.http(signal, this.requestTimeoutMs),
      // An unknown id (an expired checkpoint) is not the person's input error: let the caller retry afresh.
      mapError: (status) => (status === 404 ? new ProviderUnavailable(this.name, `prediction ${id} was not found`, 404) : undefined),
    }).catch((err: unknown) => {
      throw stalledCall(err, this.name, `the status poll of prediction ${id}`, signal);
    });
    if (!res.body || typeof res.body !== 'object') throw new ProviderUnavailable(this.name, 'the status answer was not a prediction', res.status);
    return res.body;
  }

  private async waitForOutput(
    id: string,
    first: Prediction,
    signal: AbortSignal,
    onProgress: ((progress: ProviderProgress) => void) | undefined,
    completion: CompletionNotifier | undefined,
  ): Promise<{ url: string; seed: number | undefined }> {
    let prediction = first;
    let delay = this.pollIntervalMs;
    let failures = 0;
    let reported: string | undefined;
    for (;;) {
      const state = readPrediction(this.name, prediction, this.cancelAfterMs);
      if (state.done) return state;
      if (state.progress.state !== reported) {
        reported = state.progress.state;
        report(onProgress, state.progress);
      }
      if (completion) {
        // A signed webhook carries the finished prediction itself: no status call needed.
        const hooked = hookedPrediction((await completion.waitForCompletion(id, delay, signal))?.payload, id);
        if (hooked) {
          prediction = hooked;
          continue;
        }
      } else await sleep(delay, signal);
      try {
        prediction = await this.get(id, signal);
        delay = this.pollIntervalMs;
        failures = 0;
      } catch (err) {
        if (signal.aborted) throw err;
        // Polls have their own, larger rate limit; a 429 here only means "poll slower".
        if (err instanceof ProviderRateLimited) delay = err.retryAfterMs ?? this.pollIntervalMs * 4;
        else if (err instanceof ProviderUnavailable && ++failures <= MAX_POLL_FAILURES) {
          delay = this.pollIntervalMs * 2 ** failures;
        } else throw err;
      }
    }
  }

  private async saveCheckpoint(id: string, params: ReplicateParams, options: GenerateOptions): Promise<void> {
    try {
      await options.checkpoint?.({ provider: this.name, id, modelId: params.model });
    } catch (err) {
      // Unrecorded, the prediction would be paid for twice when the job is retried: stop it.
      await this.cancel(id);
      throw err;
    }
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  private http(signal: AbortSignal, timeoutMs: number) {
    return { provider: this.name, signal, timeoutMs, ...(this.fetch ? { fetch: this.fetch } : {}) };
  }
}

/** A webhook payload that is this prediction (Replicate posts the prediction object), or undefined. */
function hookedPrediction(payload: unknown, id: string): Prediction | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as Prediction;
  return p.id === id && typeof p.status === 'string' ? p : undefined;
}

function report(onProgress: ((progress: ProviderProgress) => void) | undefined, progress: ProviderProgress): void {
  try {
    onProgress?.(progress);
  } catch {
    // Progress is advisory (a status message edit); it must not fail the generation.
  }
}

/** `30s`, `5m`, `1h30m` → milliseconds; at least 5 s, as Replicate requires. */
export function parseDuration(value: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!match || value.trim() === '') throw new RangeError(`cancelAfter must look like 30s, 10m or 1h30m (got ${value})`);
  const ms = ((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000;
  if (ms < 5000) throw new RangeError('cancelAfter must be at least 5s');
  return ms;
}
