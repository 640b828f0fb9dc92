/*
 * fal's two error shapes, read into the typed errors (test/fakes/fal-fake.ts answers both):
 * - model errors: `{"detail":[{loc, msg, type, ...}]}`, usually 422; `type` is machine-readable
 *   (`content_policy_violation` is the safety system);
 * - request (infrastructure) errors: `{"detail":"...", "error_type":"runner_disconnected"}` with the same value in
 *   the `X-Fal-Error-Type` header.
 * The same bodies come back from the result endpoint of a queued request that failed.
 */

import {
  ContentModerated,
  type FluxError,
  GenerationCanceled,
  GenerationFailed,
  InvalidInput,
  ProviderOutOfCredits,
  ProviderTaskFailed,
  ProviderUnavailable,
} from '../../errors.js';
import { errorDetail } from '../http.js';

const PROVIDER = 'fal';

/** The request id is unknown to fal: a wrong model id, or a result past fal's retention (about an hour). */
export class FalRequestNotFound extends GenerationFailed {
  constructor(detail = 'the request is not known to fal (queue results are kept about an hour)') {
    super(PROVIDER, detail);
  }
}

/** fal's input names → ours, so InvalidInput names the field the person typed. */
const FIELD_NAMES: Record<string, string> = {
  prompt: 'prompt',
  image_size: 'width',
  aspect_ratio: 'aspect_ratio',
  image_url: 'image_prompt',
  num_inference_steps: 'steps',
  guidance_scale: 'guidance',
  seed: 'seed',
  safety_tolerance: 'safety_tolerance',
  output_format: 'output_format',
  enhance_prompt: 'prompt_upsampling',
};

interface ModelErrorItem {
  loc: unknown[];
  msg: string;
  type: string;
}

/**
 * `HttpOptions.mapError` for every fal call: returns the typed error for fal-specific answers, or undefined to let
 * the common mapping (401/403, 429 with Retry-After, 5xx) decide. `ended`: the answer is the result of a request that
 * fal reported finished in failure, so it tells how that request ended (see {@link falStatusError}).
 */
export function falHttpError(status: number, headers: Headers, body: unknown, ended = false): FluxError | undefined {
  const items = modelErrorItems(body);
  const detail = errorDetail(body) ?? `HTTP ${status}`;
  if (items.some((item) => item.type === 'content_policy_violation')) return new ContentModerated(PROVIDER, detail);
  // fal answers an exhausted balance with 403 and a sentence rather than 402 (*unverified*: matched loosely).
  if (status === 403 && /exhausted balance|insufficient (balance|credit)|top up/i.test(detail)) return new ProviderOutOfCredits(PROVIDER);
  if (status === 401 || status === 402 || status === 403 || status === 429) return undefined;
  const errorType = headers.get('x-fal-error-type') ?? stringField(body, 'error_type');
  if (errorType) return fromErrorType(errorType, detail, status, ended);
  if ((status === 400 || status === 422) && items.length > 0) {
    return new InvalidInput(`fal refused the request: ${detail}`, fieldOf(items[0]!));
  }
  return undefined;
}

/**
 * A `COMPLETED` status that carries `error` (fal reports failed requests as completed) when the result endpoint
 * did not say more. Undefined when the status carries no error. Such a request answers the same failure however often
 * it is read: a failure that may pass is ProviderTaskFailed, so the queue retries with a new request.
 */
export function falStatusError(status: unknown): FluxError | undefined {
  const error = stringField(status, 'error');
  if (!error) return undefined;
  const errorType = stringField(status, 'error_type');
  return errorType ? fromErrorType(errorType, error, undefined, true) : new GenerationFailed(PROVIDER, error);
}

function fromErrorType(errorType: string, detail: string, status: number | undefined, ended: boolean): FluxError {
  switch (errorType) {
    case 'content_policy_violation':
      return new ContentModerated(PROVIDER, detail);
    case 'client_cancelled':
    case 'client_disconnected':
      return new GenerationCanceled(`fal: ${detail}`, { provider: PROVIDER });
    case 'bad_request':
      return new InvalidInput(`fal refused the request: ${detail}`);
    default: {
      // Timeouts, scheduling failures, runner crashes: fal already retried on its side; they may pass (with a new
      // request, when they are how a request ended).
      const what = `${errorType}: ${detail}`;
      return ended ? new ProviderTaskFailed(PROVIDER, what, status) : new ProviderUnavailable(PROVIDER, what, status);
    }
  }
}

function modelErrorItems(body: unknown): ModelErrorItem[] {
  const detail = body && typeof body === 'object' ? (body as { detail?: unknown }).detail : undefined;
  if (!Array.isArray(detail)) return [];
  return detail
    .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
    .map((d) => ({
      loc: Array.isArray(d.loc) ? d.loc : [],
      msg: typeof d.msg === 'string' ? d.msg : '',
      type: typeof d.type === 'string' ? d.type : '',
    }));
}

/** `loc` is `["body", "<field>", ...]`: the first item after `body` is fal's field name. */
function fieldOf(item: ModelErrorItem): string | undefined {
  const name = item.loc.find((part) => typeof part === 'string' && part !== 'body');
  return typeof name === 'string' ? (FIELD_NAMES[name] ?? name) : undefined;
}

function stringField(body: unknown, key: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
