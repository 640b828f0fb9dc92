import { request } from 'undici';
import { ImageInvalid, ProviderTimeout, ProviderUnavailable } from '../errors.js';
import { headerValue, httpAgent, MAX_REDIRECTIONS, RequestDeadline } from '../providers/http.js';
import { inspectImage, type DecodedImage } from './image.js';
import { assertFetchableUrl } from './url-guard.js';

export interface DownloadOptions {
  /** Largest accepted body; bigger downloads stop early and fail. */
  maxBytes?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /** Check the host is public before fetching (links chosen by users). */
  guard?: { allowPrivate?: boolean };
  /** Names the source in errors (`replicate`, `image prompt`). */
  source?: string;
}

export const DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024;

/**
 * Downloads an image at once (provider URLs expire within minutes to an hour), refusing bodies that are not images,
 * are larger than `maxBytes`, or do not decode. `data:` URIs (Cog's outputs, inline image prompts) are decoded
 * in place.
 */
export async function downloadImage(url: string, options: DownloadOptions = {}): Promise<DecodedImage> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  const source = options.source ?? 'download';
  if (url.startsWith('data:')) return inspectImage(decodeDataUri(url, maxBytes));
  if (options.guard) await assertFetchableUrl(url, options.guard);
  let bytes: Buffer;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = new RequestDeadline(timeoutMs, options.signal);
  try {
    const res = options.fetch ? await viaFetch(url, options, deadline) : await viaUndici(url, options, deadline);
    const failed = (err: unknown) => {
      if (options.signal?.aborted) return err;
      if (deadline.timedOut) return new ProviderTimeout(source, timeoutMs, { cause: err });
      return new ProviderUnavailable(source, 'image download failed', undefined, { cause: err });
    };
    if (res instanceof NoAnswer) throw failed(res.cause);
    if (res.status < 200 || res.status > 299) {
      await res.discard();
      if (res.status >= 500) throw new ProviderUnavailable(source, `image download answered ${res.status}`, res.status);
      throw new ImageInvalid(`the image could not be downloaded (HTTP ${res.status})`);
    }
    const type = (res.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type && !type.startsWith('image/') && type !== 'application/octet-stream' && type !== 'binary/octet-stream') {
      await res.discard();
      throw new ImageInvalid(`the link does not point to an image (it is ${type})`);
    }
    const declared = Number(res.header('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.discard();
      throw new ImageInvalid(`the image is larger than ${formatBytes(maxBytes)}`);
    }
    bytes = await readCapped(res.body, maxBytes);
  } finally {
    deadline.done();
  }
  return inspectImage(bytes);
}

/** What the checks above need from either HTTP client. */
interface DownloadAnswer {
  status: number;
  header(name: string): string | undefined;
  body: AsyncIterable<Uint8Array> | null;
  /** Drops the body (frees the connection). */
  discard(): Promise<void>;
}

/** A request that never got an answer: carries the client's error for the mapping above. */
class NoAnswer extends Error {}

async function viaUndici(url: string, options: DownloadOptions, deadline: RequestDeadline): Promise<DownloadAnswer | NoAnswer> {
  try {
    const res = await request(url, { method: 'GET', headers: options.headers ?? {}, signal: deadline.signal, dispatcher: httpAgent, maxRedirections: MAX_REDIRECTIONS });
    return {
      status: res.statusCode,
      header: (name) => headerValue(res.headers, name),
      body: res.body,
      // dump() reads a small remainder (keeping the connection) or closes it, and swallows the stream's error.
      discard: () => res.body.dump({ limit: 64 * 1024 }).catch(() => undefined),
    };
  } catch (err) {
    return new NoAnswer('no answer', { cause: err });
  }
}

async function viaFetch(url: string, options: DownloadOptions, deadline: RequestDeadline): Promise<DownloadAnswer | NoAnswer> {
  try {
    const res = await options.fetch!(url, { headers: options.headers ?? {}, signal: deadline.signal, redirect: 'follow' });
    return {
      status: res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      body: res.body as AsyncIterable<Uint8Array> | null,
      discard: async () => {
        await res.body?.cancel();
      },
    };
  } catch (err) {
    return new NoAnswer('no answer', { cause: err });
  }
}

async function readCapped(body: AsyncIterable<Uint8Array> | null, maxBytes: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new ImageInvalid(`the image is larger than ${formatBytes(maxBytes)}`);
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

export function decodeDataUri(uri: string, maxBytes = DEFAULT_MAX_DOWNLOAD_BYTES): Buffer {
  const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(uri);
  if (!match) throw new ImageInvalid('malformed data URI');
  if (match[1] && !match[1].startsWith('image/') && match[1] !== 'application/octet-stream') {
    throw new ImageInvalid(`the data is not an image (it is ${match[1]})`);
  }
  const payload = match[3] ?? '';
  if ((payload.length * 3) / 4 > maxBytes) throw new ImageInvalid(`the image is larger than ${formatBytes(maxBytes)}`);
  return match[2] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'latin1');
}

export function toDataUri(image: { bytes: Buffer; contentType: string }): string {
  return `data:${image.contentType};base64,${image.bytes.toString('base64')}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
