import { Agent, request, type Dispatcher } from 'undici';
import { ImageInvalid, ProviderTimeout, ProviderUnavailable } from '../errors.js';
import { headerValue, httpAgent, MAX_REDIRECTIONS, RequestDeadline } from '../providers/http.js';
import { formatBytes, inspectImage, type DecodedImage } from './image.js';
import { linkRefused, tooManyRedirects } from './link-refusal.js';
import { assertFetchableUrl, checkFetchableUrl, guardedLookup, isOnPrivateNetwork, type UrlGuardOptions } from './url-guard.js';

export interface DownloadOptions {
  /** Largest accepted body; bigger downloads stop early and fail. */
  maxBytes?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /**
   * Check the host is public before fetching (links chosen by users, providers' outputs): every redirect is then
   * followed by hand and checked too, and (without `fetch`, which resolves names itself) connections go only to
   * addresses checked. `allowPrivate` keeps only the first link's shape check and follows redirects as an unguarded
   * download does; so does `outputOf` when the provider's base is itself on a private network.
   */
  guard?: UrlGuardOptions;
  /** Names the source in errors (`replicate`, `image prompt`). */
  source?: string;
}

export const DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024;

/** Redirects followed for a guarded link (image hosts and signed-URL CDNs need one or two). */
export const MAX_GUARDED_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers a redirect to another origin must not carry (as undici and fetch drop them). */
const ORIGIN_BOUND_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * Downloads an image at once (provider URLs expire within minutes to an hour), refusing bodies that are not images,
 * are larger than `maxBytes`, or do not decode. `data:` URIs (Cog's outputs, inline image prompts) are decoded
 * in place.
 */
export async function downloadImage(url: string, options: DownloadOptions = {}): Promise<DecodedImage> {
  return inspectImage(await downloadBytes(url, options));
}

/**
 * The bytes behind a link (or a `data:` URI), with every check of {@link downloadImage} but the decode: the caller
 * judges the image itself (reference images accept GIF, which the bot never posts).
 */
export async function downloadBytes(url: string, options: DownloadOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  const source = options.source ?? 'download';
  if (url.startsWith('data:')) return decodeDataUri(url, maxBytes);
  const checks = options.guard && (await settleGuard(options.guard));
  if (checks) await assertFetchableUrl(url, checks);
  let bytes: Buffer;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = new RequestDeadline(timeoutMs, options.signal);
  try {
    const guard = checks?.allowPrivate ? undefined : checks;
    const res = guard
      ? await viaCheckedHops(url, guard, options, deadline)
      : options.fetch
        ? await viaFetch(url, options.headers ?? {}, options, deadline, 'follow')
        : await viaUndici(url, options.headers ?? {}, deadline, httpAgent, MAX_REDIRECTIONS);
    const failed = (err: unknown) => {
      // The guard's connection-time check (a name that resolved publicly to the first check, privately to the connection).
      if (err instanceof ImageInvalid) return err;
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
  return bytes;
}

/**
 * The guard as it applies to this download. A provider configured at a private address (Cog, a proxy or gateway on
 * the operator's network) may serve its outputs from private addresses too: the operator chose to trust that
 * network for it. Its base is judged here, per download, with the guard's own resolver but not its trusted addresses
 * (those stand in for public hosts; a base on loopback is private). The same object is returned otherwise (guarded
 * connection pools are kept per guard object).
 */
async function settleGuard(guard: UrlGuardOptions): Promise<UrlGuardOptions> {
  if (guard.allowPrivate || !guard.outputOf) return guard;
  const onPrivateNetwork = await isOnPrivateNetwork(guard.outputOf.baseUrl, guard.lookup ? { lookup: guard.lookup } : {});
  return onPrivateNetwork ? { ...guard, allowPrivate: true } : guard;
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

/**
 * Follows a guarded link's redirects by hand, checking each hop with the guard before requesting it: a public link
 * that answers 302 to `http://169.254.169.254/` must not make the bot fetch its own network. undici requests go
 * through an Agent whose lookup refuses private addresses, so the connection reaches only an address that was judged.
 */
async function viaCheckedHops(url: string, guard: UrlGuardOptions, options: DownloadOptions, deadline: RequestDeadline): Promise<DownloadAnswer | NoAnswer> {
  let current = new URL(url);
  let headers = options.headers ?? {};
  for (let hop = 0; ; hop++) {
    const res = options.fetch
      ? await viaFetch(current.href, headers, options, deadline, 'manual')
      : await viaUndici(current.href, headers, deadline, guardedAgent(guard), 0);
    if (res instanceof NoAnswer || !REDIRECT_STATUSES.has(res.status)) return res;
    const location = res.header('location');
    if (location === undefined) return res;
    await res.discard();
    if (hop === MAX_GUARDED_REDIRECTS) throw tooManyRedirects(guard.outputOf, MAX_GUARDED_REDIRECTS);
    const next = await checkRedirect(location, current, guard);
    if (next.origin !== current.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !ORIGIN_BOUND_HEADERS.has(name.toLowerCase())));
    current = next;
  }
}

/**
 * The redirect's target, or a LinkRefused that names the redirect (the person only saw the first link). The wording
 * does not depend on whether anything listens there: nothing was requested.
 */
async function checkRedirect(location: string, from: URL, guard: UrlGuardOptions): Promise<URL> {
  let target: string;
  try {
    target = new URL(location, from).href;
  } catch {
    throw linkRefused('invalid', guard.outputOf, true);
  }
  const checked = await checkFetchableUrl(target, guard);
  if (typeof checked === 'string') throw linkRefused(checked, guard.outputOf, true);
  return checked;
}

/**
 * The default guard's pools, made on first use: one for members' links and one per provider whose outputs are
 * guarded, since the connection-time refusal is worded for whose link it was. Guards with their own lookup or trusted
 * addresses (tests) get theirs.
 */
const defaultGuardedAgents = new Map<string, Dispatcher>();
const customGuardedAgents = new WeakMap<UrlGuardOptions, Dispatcher>();

function guardedAgent(guard: UrlGuardOptions): Dispatcher {
  const make = () => new Agent({ keepAliveTimeout: 10_000, connect: { lookup: guardedLookup(guard) } });
  const usesDefaults = !guard.lookup && !guard.trustedAddresses;
  const key = guard.outputOf?.provider ?? '';
  let agent = usesDefaults ? defaultGuardedAgents.get(key) : customGuardedAgents.get(guard);
  if (!agent) {
    agent = make();
    if (usesDefaults) defaultGuardedAgents.set(key, agent);
    else customGuardedAgents.set(guard, agent);
  }
  return agent;
}

async function viaUndici(
  url: string,
  headers: Record<string, string>,
  deadline: RequestDeadline,
  dispatcher: Dispatcher,
  maxRedirections: number,
): Promise<DownloadAnswer | NoAnswer> {
  try {
    const res = await request(url, { method: 'GET', headers, signal: deadline.signal, dispatcher, maxRedirections });
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

async function viaFetch(
  url: string,
  headers: Record<string, string>,
  options: DownloadOptions,
  deadline: RequestDeadline,
  redirect: 'follow' | 'manual',
): Promise<DownloadAnswer | NoAnswer> {
  try {
    const res = await options.fetch!(url, { headers, signal: deadline.signal, redirect });
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

export { formatBytes };
