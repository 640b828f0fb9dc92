import { hasImageLinks, withInlineImages, type MemberLinkGuard } from '../images/member-links.js';
import { isOnPrivateNetwork } from '../images/url-guard.js';
import type { GenerateOptions, GeneratedImage, ImageProvider } from './provider.js';
import type { FluxRequest } from '../request.js';

export interface MemberLinkPolicy {
  /** The provider's configured API base (`REPLICATE_API_URL`, `FAL_QUEUE_URL`). */
  baseUrl: string;
  /**
   * The guard for members' links: `allowPrivate` is `ALLOW_PRIVATE_URLS`. Its `lookup` also judges the base (a test
   * seam); its `trustedAddresses` do not (they stand in public hosts, and a base on loopback is private).
   */
  guard?: MemberLinkGuard;
  fetch?: typeof fetch;
  /** The member image download; default 30 s. */
  timeoutMs?: number;
}

/**
 * A hosted API (Replicate, fal) fetches a member's links (the image prompt, each reference image) itself, from its own
 * network, so it is handed the links as they are. Configured at a private address instead (a Replicate-compatible
 * proxy or a gateway on the operator's network), it would fetch them from inside that network: then the bot fetches
 * each with the guarded downloader and hands the provider `data:` URIs, the images' order kept. The base is judged
 * per generation (names can move); resumed generations too, since a provider may submit again when its earlier
 * request is gone. A request the provider cannot serve is refused before anything is fetched (a failed download
 * must not stand in for the refusal that moves the failover list on). A provider that makes a gallery in one call
 * (`makesMany` / `generateMany`) keeps doing so through the wrapper, its links handled the same way.
 */
export function withMemberLinksGuarded(provider: ImageProvider, policy: MemberLinkPolicy): ImageProvider {
  const baseJudge = policy.guard?.lookup ? { lookup: policy.guard.lookup } : {};
  const sendable = async (request: FluxRequest, options: GenerateOptions): Promise<FluxRequest> => {
    provider.check?.(request);
    if (!hasImageLinks(request) || !(await isOnPrivateNetwork(policy.baseUrl, baseJudge))) return request;
    return withInlineImages(request, {
      guard: policy.guard ?? {},
      timeoutMs: policy.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(policy.fetch ? { fetch: policy.fetch } : {}),
    });
  };
  const many = provider.makesMany && provider.generateMany ? { makesMany: provider.makesMany, generateMany: provider.generateMany } : undefined;
  return {
    name: provider.name,
    ...(provider.check ? { check: (request: FluxRequest) => provider.check!(request) } : {}),
    async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
      return provider.generate(await sendable(request, options), options);
    },
    ...(many
      ? {
          makesMany: (request: FluxRequest) => many.makesMany.call(provider, request),
          async generateMany(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage[]> {
            return many.generateMany.call(provider, await sendable(request, options), options);
          },
        }
      : {}),
  };
}
