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
 * fixed hosts; the contracts are small enough to speak directly (see shared/reference/providers.md).
 */
export interface HttpOptions {
  provider: string;
  fetch?: typeof fetch;
  /** Per-request timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Provider-specific reading of a failed answer (Cog's 409 means busy); `undefined` falls back to `httpError`. */
  mapError?: (status: number, headers: Headers, body: unknown) => FluxError | undefined;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function requestJson<T = unknown>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
  options: HttpOptions,
): Promise<JsonResponse<T>> {
  const timeoutMs = options.timeoutMs ?? 70_000;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (options.signal) signals.push(options.signal);
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, { method: init.method ?? 'GET', headers, body: body ?? null, signal: AbortSignal.any(signals) });
  } catch (err) {
    if (options.signal?.aborted) throw new GenerationCanceled(undefined, { cause: err });
    if (err instanceof Error && err.name === 'TimeoutError') throw new ProviderTimeout(options.provider, timeoutMs, { cause: err });
    throw new ProviderUnavailable(options.provider, `request failed: ${describe(err)}`, undefined, { cause: err });
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) throw options.mapError?.(res.status, res.headers, parsed) ?? httpError(options.provider, res.status, res.headers, parsed);
  return { status: res.status, headers: res.headers, body: parsed as T };
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
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? err.message;
  }
  return String(err);
}
