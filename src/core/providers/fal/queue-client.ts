import { ProviderUnavailable, type FluxError } from '../../errors.js';
import { joinUrl, requestJson, stalledCall } from '../http.js';
import { FalRequestNotFound, falHttpError } from './errors.js';
import type { FalInput } from './params.js';

/** What fal's queue answers to a submit (`IN_QUEUE`) and to a status poll. */
export interface FalQueueStatus {
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | (string & {});
  request_id?: string;
  queue_position?: number;
  /** Present on a `COMPLETED` request that failed. */
  error?: string | null;
  error_type?: string | null;
}

export interface FalImage {
  url: string;
  width?: number;
  height?: number;
  content_type?: string;
}

/** A FLUX endpoint's output. */
export interface FalResult {
  images?: FalImage[];
  seed?: number;
  has_nsfw_concepts?: boolean[];
}

export interface FalQueueClientOptions {
  baseUrl: string;
  key: string;
  fetch?: typeof fetch;
  /** Each HTTP call's limit. */
  requestTimeoutMs: number;
}

const PROVIDER = 'fal';

/** Namespaced apps (`workflows/owner/app/...`) keep three segments; everything else two (`fal-ai/flux-pro`). */
const NAMESPACES = new Set(['workflows', 'comfy']);

/**
 * The app id that status, result and cancel live under: the model id without its sub-path
 * (`fal-ai/flux-pro/v1.1` → `fal-ai/flux-pro`), as @fal-ai/client's `parseEndpointId` does.
 */
export function falAppId(modelId: string): string {
  const parts = modelId.split('/').filter((p) => p.length > 0);
  const keep = NAMESPACES.has(parts[0] ?? '') ? 3 : 2;
  return parts.slice(0, keep).join('/');
}

/**
 * fal's queue API spoken directly: submit, status, result, cancel.
 *
 * Every URL is built from the configured base, never taken from the `status_url` / `response_url` / `cancel_url` the
 * queue returns: those name fal's public host, so following them would bypass `FAL_QUEUE_URL` (a proxy, a regional
 * gateway, the test fake) and send the key to whichever host an answer names; and a resumed worker only has the
 * request id and model id from its checkpoint, so it must be able to build them anyway.
 */
export class FalQueueClient {
  constructor(private readonly options: FalQueueClientOptions) {}

  async submit(modelId: string, input: FalInput, opts: { webhookUrl?: string | undefined; signal: AbortSignal }): Promise<FalQueueStatus & { request_id: string }> {
    let url = joinUrl(this.options.baseUrl, modelId);
    if (opts.webhookUrl) url += `?fal_webhook=${encodeURIComponent(opts.webhookUrl)}`;
    const { body } = await requestJson<unknown>(url, { method: 'POST', headers: this.headers(), body: input }, this.http(opts.signal, falHttpError));
    const id = body && typeof body === 'object' ? (body as { request_id?: unknown }).request_id : undefined;
    if (typeof id !== 'string' || id.length === 0) {
      throw new ProviderUnavailable(PROVIDER, 'the queue accepted the request without a request id');
    }
    return body as FalQueueStatus & { request_id: string };
  }

  async status(modelId: string, requestId: string, signal: AbortSignal): Promise<FalQueueStatus> {
    const url = this.requestUrl(modelId, requestId, '/status');
    const { body } = await requestJson<unknown>(url, { headers: this.headers() }, this.http(signal, notFoundAware)).catch((err: unknown) => {
      throw stalledCall(err, PROVIDER, `the status poll of request ${requestId}`, signal);
    });
    return asStatus(body);
  }

  /**
   * The result of a `COMPLETED` request. `failed`: its status carried an error, so an error answered here is how the
   * request ended (fal's result endpoint answers a failed request's error body).
   */
  async result(modelId: string, requestId: string, signal: AbortSignal, failed = false): Promise<FalResult> {
    const url = this.requestUrl(modelId, requestId, '');
    const { body } = await requestJson<unknown>(url, { headers: this.headers() }, this.http(signal, failed ? endedAware : notFoundAware)).catch((err: unknown) => {
      throw stalledCall(err, PROVIDER, `reading the result of request ${requestId}`, signal);
    });
    if (!body || typeof body !== 'object') throw new ProviderUnavailable(PROVIDER, 'the result was not a JSON object');
    return body as FalResult;
  }

  /**
   * Best effort: asks fal to drop a queued request or stop a running one. Never throws (the caller is already failing
   * for another reason); a request that already finished answers `ALREADY_COMPLETED`, which is fine.
   */
  async cancel(modelId: string, requestId: string, timeoutMs: number): Promise<boolean> {
    try {
      await requestJson(
        this.requestUrl(modelId, requestId, '/cancel'),
        { method: 'PUT', headers: this.headers() },
        { provider: PROVIDER, timeoutMs, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) },
      );
      return true;
    } catch {
      return false;
    }
  }

  private requestUrl(modelId: string, requestId: string, suffix: string): string {
    return joinUrl(this.options.baseUrl, `${falAppId(modelId)}/requests/${encodeURIComponent(requestId)}${suffix}`);
  }

  private headers(): Record<string, string> {
    return { authorization: `Key ${this.options.key}` };
  }

  private http(signal: AbortSignal, mapError: (status: number, headers: Headers, body: unknown) => FluxError | undefined) {
    return {
      provider: PROVIDER,
      timeoutMs: this.options.requestTimeoutMs,
      signal,
      mapError,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    };
  }
}

/** On status and result, 404 means the request id is unknown (not a bad input): resume can start over. */
function notFoundAware(status: number, headers: Headers, body: unknown): FluxError | undefined {
  return status === 404 ? new FalRequestNotFound() : falHttpError(status, headers, body);
}

/** The result of a request that finished in failure: fal's error body says how it ended. */
function endedAware(status: number, headers: Headers, body: unknown): FluxError | undefined {
  return status === 404 ? new FalRequestNotFound() : falHttpError(status, headers, body, true);
}

function asStatus(body: unknown): FalQueueStatus {
  if (!body || typeof body !== 'object' || typeof (body as { status?: unknown }).status !== 'string') {
    throw new ProviderUnavailable(PROVIDER, 'the queue answered without a status');
  }
  return body as FalQueueStatus;
}
