import { downloadImage } from '../../images/download.js';
import { fitImage, type DecodedImage } from '../../images/image.js';
import type { FluxRequest } from '../../request.js';

export interface OutputOptions {
  /** Names the provider in download errors. */
  source: string;
  /**
   * The provider's configured API base: when it is on a private network (Cog, a proxy on the operator's network), its
   * outputs may come from private addresses too; otherwise they must be public, and a refusal names this provider.
   */
  baseUrl: string;
  maxBytes?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Accept output links on private or loopback hosts whatever the base (tests). */
  allowPrivate?: boolean;
}

/**
 * Downloads a prediction's output at once (Replicate deletes it after about an hour; Cog inlines it as a `data:` URI)
 * and re-encodes it when it is not in the requested format (ultra has no webp; a proxy may answer another format),
 * so the caller always receives what it asked for.
 */
export async function fetchOutputImage(url: string, request: FluxRequest, options: OutputOptions): Promise<DecodedImage> {
  const image = await downloadImage(url, {
    source: options.source,
    guard: { allowPrivate: options.allowPrivate ?? false, outputOf: { provider: options.source, baseUrl: options.baseUrl } },
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  if (image.format === request.output_format) return image;
  return fitImage(image, {
    format: request.output_format,
    ...(request.output_quality === undefined ? {} : { quality: request.output_quality }),
  });
}
