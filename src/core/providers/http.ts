import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import {
  GenerationCanceled,
  InvalidInput,
  ProviderOutOfCredits,
  ProviderRateLimited,
  ProviderTimeout,
  ProviderUnauthorized,
  ProviderUnavailable,
  type FluxError,
} from '../errors.js';

/**
 * The small HTTP layer every provider shares: JSON in and out with a timeout and the caller's abort signal, and one
 * mapping from HTTP statuses to typed errors. The providers' official clients are not used for the calls themselves:
 * replicate-javascript's retry loop does not sleep and polls `aborted` predictions forever, and @fal-ai/client has
 * fixed hosts; the contracts are small enough to speak directly (each is
 * reproduced by its fake in test/fakes/).
 */
export interface HttpOptions {
  provider: string;
  fetch?: typeof fetch;
  /** Per-request timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Provider-specific reading of a failed answer (Cog's 409 means busy); `undefined` falls back to `httpError`. */
  mapError?: (status: number, headers: Headers, body: unknown) => FluxError | undefined;
  /**
   * The URLs this request (its key header and its body) may be sent to, for a key that belongs to certain hosts only
   * (BFL's `x-key`). A URL outside them is refused before anything is sent, and redirects are followed by hand: one
   * that leaves them is refused, not followed (undici and fetch drop only `authorization` and cookies there).
   */
  sendOnlyTo?: (url: URL) => boolean;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * The keep-alive connection pool every provider request and image download goes through (when no `fetch` is given).
 * undici's `request` over one shared Agent costs a fraction of global `fetch` per call (no WHATWG Request/Response
 * objects or web streams), which matters when a worker runs many generations at once.
 */
export const httpAgent: Dispatcher = new Agent({ keepAliveTimeout: 10_000 });

/** Redirects followed, as `fetch` does by default. */
export const MAX_REDIRECTIONS = 20;

/**
 * One signal for one request: aborts when the caller's signal does (with its reason) or when `timeoutMs` passes
 * (with a `TimeoutError`, like `AbortSignal.timeout`). Cheaper than `AbortSignal.any([AbortSignal.timeout(), signal])`
 * per request: one controller and one plain timer, released by `done()`.
 */
export class RequestDeadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut_ = false;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    timeoutMs: number,
    private readonly parent?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.timedOut_ = true;
      this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    if (parent?.aborted) this.controller.abort(parent.reason);
    else if (parent) {
      this.onAbort = () => this.controller.abort(parent.reason);
      parent.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** True when the timeout (not the caller) aborted the request. */
  get timedOut(): boolean {
    return this.timedOut_;
  }

  done(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.parent?.removeEventListener('abort', this.onAbort);
  }
}

/** The first value of a response header from undici's header object. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** undici's header object as a WHATWG `Headers` (what error mapping and `JsonResponse` expose). */
export function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

export async function requestJson<T = unknown>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
  options: HttpOptions,
): Promise<JsonResponse<T>> {
  const timeoutMs = options.timeoutMs ?? 70_000;
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const answer = options.sendOnlyTo
    ? await viaCheckedRedirects(url, init.method ?? 'GET', headers, body, timeoutMs, options, options.sendOnlyTo)
    : options.fetch
      ? await viaFetch(options.fetch, url, init.method ?? 'GET', headers, body, timeoutMs, options, 'follow')
      : await viaUndici(url, init.method ?? 'GET', headers, body, timeoutMs, options, MAX_REDIRECTIONS);
  let parsed: unknown = undefined;
  if (answer.text.length > 0) {
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = answer.text;
    }
  }
  if (answer.status < 200 || answer.status > 299) {
    const headers = answer.headers();
    throw options.mapError?.(answer.status, headers, parsed) ?? httpError(options.provider, answer.status, headers, parsed);
  }
  let lazyHeaders: Headers | undefined;
  return {
    status: answer.status,
    get headers() {
      return (lazyHeaders ??= answer.headers());
    },
    body: parsed as T,
  };
}

interface RawAnswer {
  status: number;
  text: string;
  headers: () => Headers;
}

function requestFailed(err: unknown, deadline: { timedOut: boolean }, timeoutMs: number, options: HttpOptions): FluxError {
  if (options.signal?.aborted) return new GenerationCanceled(undefined, { cause: err });
  if (deadline.timedOut) return new ProviderTimeout(options.provider, timeoutMs, { cause: err });
  return new ProviderUnavailable(options.provider, `request failed: ${describe(err)}`, undefined, { cause: err });
}

/** Redirects followed by hand for a request bound to some hosts ({@link HttpOptions.sendOnlyTo}). */
const MAX_CHECKED_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Sends a request only to URLs `allowed` accepts, following its redirects by hand and refusing any that leaves them
 * (ProviderUnavailable: the provider's API answered with somewhere else). Methods change as fetch changes them: 303,
 * and 301/302 after a POST, go on as a GET without the body.
 */
async function viaCheckedRedirects(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  options: HttpOptions,
  allowed: (url: URL) => boolean,
): Promise<RawAnswer> {
  let current = url;
  for (let hop = 0; ; hop++) {
    let target: URL | undefined;
    try {
      target = new URL(current);
    } catch {
      target = undefined;
    }
    if (!target || !allowed(target)) {
      throw new ProviderUnavailable(options.provider, hop === 0 ? 'refused to send a request outside its API hosts' : 'its API redirected outside its API hosts; not followed');
    }
    const answer = options.fetch
      ? await viaFetch(options.fetch, current, method, headers, body, timeoutMs, options, 'manual')
      : await viaUndici(current, method, headers, body, timeoutMs, options, 0);
    const location = REDIRECT_STATUSES.has(answer.status) ? answer.headers().get('location') : null;
    if (location === null) return answer;
    if (hop === MAX_CHECKED_REDIRECTS) throw new ProviderUnavailable(options.provider, `more than ${MAX_CHECKED_REDIRECTS} redirects`, answer.status);
    try {
      current = new URL(location, current).href;
    } catch {
      throw new ProviderUnavailable(options.provider, 'redirected to an invalid URL', answer.status);
    }
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
    }
  }
}

async function viaUndici(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  options: HttpOptions,
  maxRedirections: number,
): Promise<RawAnswer> {
  const deadline = new RequestDeadline(timeoutMs, options.signal);
  try {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: method as Dispatcher.HttpMethod, headers, body: body ?? null, signal: deadline.signal, dispatcher: httpAgent, maxRedirections });
    } catch (err) {
      throw requestFailed(err, deadline, timeoutMs, options);
    }
    // As with fetch's `res.text()` before: an unreadable body reads as empty, the status decides.
    const text = await res.body.text().catch(() => '');
    const raw = res.headers;
    return { status: res.statusCode, text, headers: () => toHeaders(raw) };
  } finally {
    deadline.done();
  }
}

/** The `fetch` option's path (tests and callers that bring their own client). */
async function viaFetch(
  doFetch: typeof fetch,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  options: HttpOptions,
  redirect: 'follow' | 'manual',
): Promise<RawAnswer> {
  const deadline = new RequestDeadline(timeoutMs, options.signal);
  try {
    let res: Response;
    try {
      res = await doFetch(url, { method, headers, body: body ?? null, signal: deadline.signal, redirect });
    } catch (err) {
      throw requestFailed(err, deadline, timeoutMs, options);
    }
    const text = await res.text().catch(() => '');
    return { status: res.status, text, headers: () => res.headers };
  } finally {
    deadline.done();
  }
}

/** Maps a failed HTTP answer to the typed error the queue understands. */
export function httpError(provider: string, status: number, headers: Headers, body: unknown): FluxError {
  const detail = errorDetail(body) ?? `HTTP ${status}`;
  if (status === 401 || status === 403) return new ProviderUnauthorized(provider);
  if (status === 402) return new ProviderOutOfCredits(provider);
  if (status === 429) return new ProviderRateLimited(provider, retryAfterMs(headers, detail));
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 422) {
    return new InvalidInput(`${provider} refused the request: ${detail}`);
  }
  return new ProviderUnavailable(provider, detail, status);
}

/** `Retry-After` (seconds or an HTTP date), else Replicate's "resets in ~30s" sentence. */
export function retryAfterMs(headers: Headers, detail?: string): number | undefined {
  const header = headers.get('retry-after');
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  const match = detail && /resets in ~?(\d+(?:\.\d+)?)\s*s/i.exec(detail);
  if (match) return Math.round(Number(match[1]) * 1000);
  return undefined;
}

/** Pulls a human sentence out of the common error shapes (problem+json `detail`, fal's 422 list, `error`). */
export function errorDetail(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.detail === 'string') return b.detail;
  if (Array.isArray(b.detail)) {
    return b.detail
      .map((d) => (d && typeof d === 'object' ? `${(d as { loc?: unknown[] }).loc?.slice(-1)[0] ?? ''}: ${(d as { msg?: string }).msg ?? ''}` : String(d)))
      .join('; ');
  }
  if (typeof b.error === 'string') return b.error;
  if (typeof b.message === 'string') return b.message;
  if (typeof b.title === 'string') return b.title;
  return undefined;
}

/**
 * For a call about a prediction that exists (a status poll, its result, the image download): one that outlived its own
 * timeout says nothing about the prediction, which may still be running or be done, so it becomes ProviderUnavailable,
 * which the queue retries by resuming the same prediction. ProviderTimeout stays for the whole generation's deadline,
 * after which the provider canceled (or gave up on) the prediction and a retry must start a new one. A body that stalls
 * mid-read rejects with the timer's bare `TimeoutError`, which counts too. Anything else passes through, and so does
 * everything once `signal` (the generation's) has aborted: the caller settles that.
 */
export function stalledCall(err: unknown, provider: string, what: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return err;
  const timedOut = err instanceof ProviderTimeout || (err instanceof DOMException && err.name === 'TimeoutError');
  return timedOut ? new ProviderUnavailable(provider, `${what} timed out; the prediction may still be running`, undefined, { cause: err }) : err;
}

/** Sleeps, waking early (and rejecting with GenerationCanceled) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GenerationCanceled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new GenerationCanceled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Joins a configured base (`https://host/replicate/v1`) and a path, keeping the base's own path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    // fetch wraps the socket error (`cause.code`); undici's `request` throws it as is (`code`).
    const { cause, code } = err as { cause?: { code?: string }; code?: string };
    return cause?.code ?? code ?? err.message;
  }
  return String(err);
}
