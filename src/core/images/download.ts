import { ImageInvalid, ProviderTimeout, ProviderUnavailable } from '../errors.js';
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

  const signals = [AbortSignal.timeout(options.timeoutMs ?? 60_000)];
  if (options.signal) signals.push(options.signal);
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { headers: options.headers ?? {}, signal: AbortSignal.any(signals), redirect: 'follow' });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    if (err instanceof Error && err.name === 'TimeoutError') throw new ProviderTimeout(source, options.timeoutMs ?? 60_000, { cause: err });
    throw new ProviderUnavailable(source, 'image download failed', undefined, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    if (res.status >= 500) throw new ProviderUnavailable(source, `image download answered ${res.status}`, res.status);
    throw new ImageInvalid(`the image could not be downloaded (HTTP ${res.status})`);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type && !type.startsWith('image/') && type !== 'application/octet-stream' && type !== 'binary/octet-stream') {
    await res.body?.cancel();
    throw new ImageInvalid(`the link does not point to an image (it is ${type})`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new ImageInvalid(`the image is larger than ${formatBytes(maxBytes)}`);
  }
  const bytes = await readCapped(res, maxBytes);
  return inspectImage(bytes);
}

async function readCapped(res: Response, maxBytes: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new ImageInvalid(`the image is larger than ${formatBytes(maxBytes)}`);
    chunks.push(Buffer.from(chunk));
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
