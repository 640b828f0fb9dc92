/**
 * Coded errors shared by the core, the providers and the adapters.
 *
 * Each error carries a stable `code` (adapters map codes to messages in one place), a `userMessage` that is safe to
 * show a person (never a token, key or raw provider body), and whether the queue may retry it. The queue reads
 * these fields to decide: rate limits wait without spending an attempt, transient faults back off and fail over,
 * moderation and invalid input never retry.
 */
export type FluxErrorCode =
  | 'invalid_input'
  | 'unsupported'
  | 'rate_limited'
  | 'moderated'
  | 'unauthorized'
  | 'out_of_credits'
  | 'timeout'
  | 'unavailable'
  | 'canceled'
  | 'image_invalid'
  | 'delivery_failed'
  | 'delivery_refused'
  | 'internal';

export interface FluxErrorOptions {
  cause?: unknown;
  /** Provider name (`replicate`, `fal`, ...), when the error came from one. */
  provider?: string;
}

export class FluxError extends Error {
  readonly code: FluxErrorCode;
  /** A sentence fit to show the person who asked for the image. */
  readonly userMessage: string;
  /** Whether trying again (same or next provider) can succeed. */
  readonly retryable: boolean;
  readonly provider: string | undefined;

  constructor(code: FluxErrorCode, message: string, userMessage: string, retryable: boolean, options: FluxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.userMessage = userMessage;
    this.retryable = retryable;
    this.provider = options.provider;
  }
}

/** A request field is out of range, malformed, or not accepted by the chosen model. */
export class InvalidInput extends FluxError {
  readonly field: string | undefined;
  constructor(message: string, field?: string, options: FluxErrorOptions = {}) {
    super('invalid_input', message, message, false, options);
    this.field = field;
  }
}

/** The provider cannot serve this model or parameter; the next provider in the failover list may. */
export class UnsupportedByProvider extends FluxError {
  readonly field: string | undefined;
  constructor(provider: string, what: string, field?: string) {
    super('unsupported', `${provider} does not support ${what}`, `The ${provider} provider does not support ${what}.`, false, {
      provider,
    });
    this.field = field;
  }
}

/** HTTP 429 or "too many active tasks". Waiting `retryAfterMs` (when known) and trying again costs no attempt. */
export class ProviderRateLimited extends FluxError {
  readonly retryAfterMs: number | undefined;
  constructor(provider: string, retryAfterMs?: number, options: FluxErrorOptions = {}) {
    super(
      'rate_limited',
      `${provider} rate limited the request${retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`}`,
      'The image service is busy right now; your image will be retried shortly.',
      true,
      { ...options, provider },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** The prompt or the output was refused by the provider's safety system. Never retried. */
export class ContentModerated extends FluxError {
  constructor(provider: string, detail = 'content moderated', options: FluxErrorOptions = {}) {
    super(
      'moderated',
      `${provider}: ${detail}`,
      'The image service refused this prompt or its result on safety grounds. Try rewording the prompt.',
      false,
      { ...options, provider },
    );
  }
}

export class ProviderUnauthorized extends FluxError {
  constructor(provider: string, options: FluxErrorOptions = {}) {
    super(
      'unauthorized',
      `${provider} rejected the API credentials`,
      'The bot is not authorised with the image service. An operator needs to check its API key.',
      false,
      { ...options, provider },
    );
  }
}

export class ProviderOutOfCredits extends FluxError {
  constructor(provider: string, options: FluxErrorOptions = {}) {
    super(
      'out_of_credits',
      `${provider} account is out of credits`,
      'The image service account is out of credits. An operator needs to top it up.',
      false,
      { ...options, provider },
    );
  }
}

export class ProviderTimeout extends FluxError {
  constructor(provider: string, afterMs: number, options: FluxErrorOptions = {}) {
    super('timeout', `${provider} did not finish within ${afterMs} ms`, 'The image service took too long to answer.', true, {
      ...options,
      provider,
    });
  }
}

/** 5xx, connection failures, provider-side errors that may pass. */
export class ProviderUnavailable extends FluxError {
  readonly status: number | undefined;
  constructor(provider: string, detail: string, status?: number, options: FluxErrorOptions = {}) {
    super('unavailable', `${provider} unavailable: ${detail}`, 'The image service is unavailable right now.', true, {
      ...options,
      provider,
    });
    this.status = status;
  }
}

/**
 * The provider's task itself ended in failure, for a reason that may pass (BFL's `Error`, a fal request that completed
 * with a runner error). Trying again can succeed, but not by reading this task again: it answers the same failure each
 * time. So the queue retries with a new task (it drops the checkpoint) instead of resuming this one.
 */
export class ProviderTaskFailed extends ProviderUnavailable {}

/** The provider reported a failed generation that is not a fault of the service (bad input, model error). */
export class GenerationFailed extends FluxError {
  constructor(provider: string, detail: string, options: FluxErrorOptions = {}) {
    super('invalid_input', `${provider} generation failed: ${detail}`, `The image service could not make this image: ${sanitize(detail)}`, false, {
      ...options,
      provider,
    });
  }
}

export class GenerationCanceled extends FluxError {
  constructor(detail = 'generation canceled', options: FluxErrorOptions = {}) {
    super('canceled', detail, 'The generation was canceled.', false, options);
  }
}

/** Downloaded bytes are not a decodable image, the wrong type, or too large. */
export class ImageInvalid extends FluxError {
  constructor(detail: string, options: FluxErrorOptions = {}) {
    super('image_invalid', `image invalid: ${detail}`, `The image could not be used: ${detail}.`, false, options);
  }
}

/**
 * The platform refused the image for good: no access to the channel or thread (Discord 50001/50013, Slack
 * `not_in_channel`), the conversation is archived or gone (`is_archived`, `channel_not_found`, Discord 10003), or the
 * person cannot be reached privately either (Discord 50007). Asking again cannot succeed, so it is never retried;
 * the worker delivers the image privately instead, or keeps it for the person to fetch (it is paid for).
 */
export class DeliveryRefused extends FluxError {
  /** The platform's own code (`50001`, `is_archived`, …), for logs and tests. */
  readonly reason: string;
  constructor(platform: string, reason: string, options: FluxErrorOptions = {}) {
    super('delivery_refused', `${platform} refused the delivery (${reason})`, 'The image could not be posted where it was asked for.', false, options);
    this.reason = reason;
  }
}

export function isFluxError(err: unknown): err is FluxError {
  return err instanceof FluxError;
}

/** Turns anything thrown into a FluxError, keeping the original as `cause`. */
export function toFluxError(err: unknown): FluxError {
  if (err instanceof FluxError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new GenerationCanceled(undefined, { cause: err });
  return new FluxError('internal', err instanceof Error ? err.message : String(err), 'Something went wrong while making the image.', true, {
    cause: err,
  });
}

/** Provider error details are shown to users: keep them short and strip anything that looks like a URL or key. */
function sanitize(detail: string): string {
  return detail
    .replace(/https?:\/\/\S+/g, '[url]')
    // Bare addresses and host:port pairs (a connection error from a provider on the operator's network).
    .replace(/\[?\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\b[\w.-]+:\d{2,5}\b/gi, '[address]')
    .replace(/\b(r8_|whsec_|xox[abpe]-|Bearer\s+)\S+/gi, '[redacted]')
    .slice(0, 300);
}
