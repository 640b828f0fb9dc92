import { randomBytes } from 'node:crypto';
import { GenerationCanceled, ProviderRateLimited, ProviderTimeout, ProviderUnavailable, UnsupportedByProvider } from '../../errors.js';
import { withInlineImages, type MemberLinkGuard } from '../../images/member-links.js';
import type { ModelId } from '../../models.js';
import type { FluxRequest } from '../../request.js';
import { joinUrl, requestJson } from '../http.js';
import type { GeneratedImage, GenerateOptions, ImageProvider } from '../provider.js';
import { fetchOutputImage } from '../replicate/output.js';
import { toReplicateParams } from '../replicate/params.js';
import { readPrediction, type Prediction } from '../replicate/prediction.js';

export interface CogProviderOptions {
  /** The container's base, e.g. `http://gpu-box:5000` (`COG_URL`). */
  baseUrl: string;
  /** The model the container serves; requests for another model are refused. Unset: trust the request's model. */
  model?: ModelId;
  /** Sent as `Authorization: Bearer` when set (Cog has no auth of its own; a reverse proxy in front may). */
  token?: string;
  fetch?: typeof fetch;
  /** The whole generation (one synchronous request); default 5 minutes. */
  timeoutMs?: number;
  /** The wait suggested to the queue when the container answers 409 (all prediction slots busy); default 2 s. */
  busyRetryMs?: number;
  maxDownloadBytes?: number;
  /**
   * The guard for members' links (the image prompt, reference images). The container sits on the operator's network
   * and would fetch a link from inside it, so the bot always fetches each link itself (guarded) and sends a `data:`
   * URI. `allowPrivate` is `ALLOW_PRIVATE_URLS`; default: public addresses only.
   */
  imagePromptGuard?: MemberLinkGuard;
  /** Makes prediction ids; default a random base32 id as Cog's docs recommend. */
  newId?: () => string;
}

const CANCEL_TIMEOUT_MS = 5_000;
/** Each member image download (image prompt, reference image). */
const IMAGE_PROMPT_TIMEOUT_MS = 30_000;

/**
 * FLUX on a self-hosted Cog container (`POST /predictions` with Replicate's inputs, outputs inlined as `data:` URIs).
 *
 * Cog cannot be polled: a prediction's result comes back only on the request that made it. So this provider sends
 * one synchronous `PUT /predictions/{id}` with an id it chooses, checkpointing that id first. Cog's PUT is idempotent
 * while the prediction runs: a resume sends the same PUT again and joins the running prediction if the container
 * still has it, and otherwise starts it again (GPU time, not money). Cancel aborts the request and calls
 * `POST /predictions/{id}/cancel` (best effort: Cog may refuse to cancel synchronous predictions).
 *
 * A member's link (image prompt or reference image) is never sent to the container (it would fetch it from inside the
 * operator's network): the bot downloads it through the guarded downloader and sends a `data:` URI of the exact
 * bytes, the reference images in their order. Inline images go as they are: the container is the operator's own, with
 * no size limit of a hosted API to fit.
 */
export class CogProvider implements ImageProvider {
  readonly name = 'cog' as const;
  private readonly options: CogProviderOptions;
  private readonly timeoutMs: number;

  constructor(options: CogProviderOptions) {
    if (!options.baseUrl) throw new TypeError('CogProvider needs a baseUrl');
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
  }

  check(request: FluxRequest): void {
    if (this.options.model !== undefined && request.model !== this.options.model) {
      throw new UnsupportedByProvider(this.name, `the model ${request.model} (the container serves ${this.options.model})`, 'model');
    }
    toReplicateParams(request, this.name);
  }

  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const started = Date.now();
    // Mapped once with the links, so what the model cannot take is refused before anything is fetched.
    this.check(request);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
    const resumed = options.resume?.provider === this.name ? options.resume.id : undefined;
    const id = resumed ?? (this.options.newId ?? newPredictionId)();
    let sent = false;
    try {
      if (signal.aborted) throw new GenerationCanceled();
      // Also on resume: the PUT carries the input again.
      const inline = await withInlineImages(request, {
        guard: this.options.imagePromptGuard ?? {},
        signal,
        timeoutMs: Math.min(IMAGE_PROMPT_TIMEOUT_MS, this.timeoutMs),
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      });
      const params = toReplicateParams(inline, this.name);
      if (resumed === undefined) await options.checkpoint?.({ provider: this.name, id, modelId: params.model });
      sent = true;
      try {
        options.onProgress?.({ state: 'running' });
      } catch {
        // Progress is advisory; it must not fail the generation.
      }
      const res = await requestJson<Prediction>(
        joinUrl(this.options.baseUrl, `predictions/${encodeURIComponent(id)}`),
        { method: 'PUT', headers: this.headers(), body: { id, input: params.input } },
        {
          provider: this.name,
          signal,
          // The deadline is the only limit: a synchronous FLUX prediction takes as long as the GPU needs.
          timeoutMs: this.timeoutMs + 1000,
          mapError: (status, headers) => (status === 409 ? new ProviderRateLimited(this.name, this.busyRetryMs(headers)) : undefined),
          ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        },
      );
      if (!res.body || typeof res.body !== 'object') throw new ProviderUnavailable(this.name, 'the answer was not a prediction', res.status);
      const state = readPrediction(this.name, res.body);
      // Synchronous answers are terminal; an unfinished one means the container ignored our contract.
      if (!state.done) throw new ProviderUnavailable(this.name, `the prediction answered status ${res.body.status ?? 'unknown'} without output`);
      await options.imageSlot?.();
      const image = await fetchOutputImage(state.url, request, {
        source: this.name,
        // Outputs are data: URIs; a container that uploads them instead may put them next to it on its private
        // network, which is accepted when the container itself is configured at a private address.
        baseUrl: this.options.baseUrl,
        signal,
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        ...(this.options.maxDownloadBytes === undefined ? {} : { maxBytes: this.options.maxDownloadBytes }),
      });
      return { ...image, seed: state.seed ?? request.seed, provider: this.name, predictionId: id, nsfw: false, ms: Date.now() - started };
    } catch (err) {
      if (!signal.aborted) throw err;
      if (sent) await this.cancel(id);
      if (options.signal?.aborted) throw new GenerationCanceled(undefined, { cause: err, provider: this.name });
      throw new ProviderTimeout(this.name, this.timeoutMs, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Best effort; never throws. */
  async cancel(id: string): Promise<void> {
    await requestJson(joinUrl(this.options.baseUrl, `predictions/${encodeURIComponent(id)}/cancel`), { method: 'POST', headers: this.headers() }, {
      provider: this.name,
      timeoutMs: CANCEL_TIMEOUT_MS,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    }).catch(() => undefined);
  }

  /** `GET /health-check` status: `READY`, `BUSY`, `STARTING`, `SETUP_FAILED`, `DEFUNCT`, `UNHEALTHY`. */
  async health(signal?: AbortSignal): Promise<string> {
    const res = await requestJson<{ status?: unknown }>(joinUrl(this.options.baseUrl, 'health-check'), { headers: this.headers() }, {
      provider: this.name,
      timeoutMs: CANCEL_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    return typeof res.body?.status === 'string' ? res.body.status : 'UNKNOWN';
  }

  private busyRetryMs(headers: Headers): number {
    const seconds = Number(headers.get('retry-after') ?? NaN);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : (this.options.busyRetryMs ?? 2000);
  }

  private headers(): Record<string, string> {
    return this.options.token ? { authorization: `Bearer ${this.options.token}` } : {};
  }
}

/** 26 lowercase base32 characters from 128 random bits, the id shape Cog's docs recommend. */
export function newPredictionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    // Only the unread low bits matter; masking keeps the value inside 32-bit shifts.
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
