import { ImageInvalid } from '../errors.js';

/** Why a link may not be fetched. */
export type UrlRefusal = 'invalid' | 'protocol' | 'credentials' | 'unresolved' | 'private';

/**
 * A provider's output link, as opposed to a member's link: its refusals name the provider, and private addresses are
 * accepted when the provider itself is configured at one (see `downloadImage`).
 */
export interface OutputOf {
  /** `replicate`, `fal`, `bfl`, `cog`. */
  provider: string;
  /** The provider's configured API base; outputs may come from private addresses when it is on one. */
  baseUrl: string;
}

/** The setting that holds each provider's base address, named in refusals of its outputs. */
const BASE_SETTINGS: Readonly<Record<string, string>> = {
  replicate: 'REPLICATE_API_URL',
  fal: 'FAL_QUEUE_URL',
  bfl: 'BFL_API_URL',
  cog: 'COG_URL',
};

const DIRECT: Record<UrlRefusal, string> = {
  invalid: 'is not a valid URL',
  protocol: 'is not an http or https link (only http and https links are accepted)',
  credentials: 'carries credentials, which are not accepted',
  unresolved: 'has a host that could not be resolved',
  private: 'points to a private or local network address',
};

const REDIRECTED: Record<UrlRefusal, string> = {
  invalid: 'redirects to an invalid URL',
  protocol: 'redirects to a link that is not http or https',
  credentials: 'redirects to a link with credentials',
  unresolved: 'redirects to a host that could not be resolved',
  private: 'redirects to a private or local network address',
};

/**
 * A link the guard would not fetch. Its text says whose link it was (the member's image prompt or a provider's
 * output) and, for a private address, which setting would allow it; it never names the host, address or port, so a
 * member cannot use the answers to map the operator's network.
 */
export class LinkRefused extends ImageInvalid {
  readonly reason: UrlRefusal | 'redirects';
  /** Whose link: a member's (image prompt) or the provider's output. */
  readonly owner: 'member' | 'provider';

  constructor(reason: UrlRefusal | 'redirects', owner: 'member' | 'provider', detail: string) {
    super(detail);
    this.reason = reason;
    this.owner = owner;
  }
}

/** Who the link belongs to, as the refusal names it. */
export function linkSubject(outputOf: OutputOf | undefined): string {
  return outputOf ? `the ${outputOf.provider} provider’s output link` : 'the image prompt link';
}

/** The refusal for `reason`, worded for whose link it was and whether a redirect (not the link itself) led there. */
export function linkRefused(reason: UrlRefusal, outputOf: OutputOf | undefined, redirected = false): LinkRefused {
  const what = `${linkSubject(outputOf)} ${(redirected ? REDIRECTED : DIRECT)[reason]}`;
  return new LinkRefused(reason, outputOf ? 'provider' : 'member', reason === 'private' ? `${what} ${privateHint(outputOf)}` : what);
}

/** A link whose redirects never end. */
export function tooManyRedirects(outputOf: OutputOf | undefined, limit: number): LinkRefused {
  return new LinkRefused('redirects', outputOf ? 'provider' : 'member', `${linkSubject(outputOf)} redirects more than ${limit} times`);
}

function privateHint(outputOf: OutputOf | undefined): string {
  if (!outputOf) return '(an operator can allow such links with ALLOW_PRIVATE_URLS=true)';
  const setting = BASE_SETTINGS[outputOf.provider] ?? 'its base URL setting';
  return `(a provider’s outputs may come from private addresses only when the provider itself is configured at one, with ${setting})`;
}
