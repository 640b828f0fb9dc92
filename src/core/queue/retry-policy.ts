import { ProviderTaskFailed, type FluxError } from '../errors.js';

/** What the worker does after a provider error. */
export type RetryDecision =
  /** Wait (the provider's Retry-After or a backoff) and try the same provider again; no attempt is spent. */
  | { action: 'wait'; delayMs: number }
  /** Back off, then try the same provider again (resuming its prediction when there is one). */
  | { action: 'retry'; delayMs: number; keepCheckpoint: boolean }
  /** Move to the next provider in the failover list. */
  | { action: 'failover'; delayMs: number }
  /** Give up: refund and tell the person why. */
  | { action: 'fail' };

export interface RetryPolicy {
  /** Tries on one provider before failing over, for transient faults (5xx, timeouts). Default 2. */
  attemptsPerProvider: number;
  /** Times a job may wait for a rate limit before it counts as a failure of that provider. Default 20. */
  maxRateLimitWaits: number;
  /** First backoff; doubles per failure, with jitter. Default 1000 ms. */
  baseBackoffMs: number;
  /** Longest single wait. Default 60 s. */
  maxBackoffMs: number;
  /**
   * How long after a prediction was checkpointed the job keeps following it through provider faults (5xx, polls that
   * time out) without spending an attempt: it may already be paid for, and it usually finishes within this. Default
   * 2 minutes; past it the usual attempts, and then failover, apply.
   */
  followPredictionMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attemptsPerProvider: 2,
  maxRateLimitWaits: 20,
  baseBackoffMs: 1000,
  maxBackoffMs: 60_000,
  followPredictionMs: 120_000,
};

export interface RetryState {
  providerFailures: number;
  rateLimitWaits: number;
  hasNextProvider: boolean;
}

/**
 * The queue's behaviour is decided by the error type, here only: moderation and invalid input never retry;
 * a 429 waits without spending an attempt; 5xx and timeouts back off, then fail over; credentials and credit
 * problems are the operator's, so the next provider (if any) is tried at once.
 */
export function decideRetry(error: FluxError, state: RetryState, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random = Math.random): RetryDecision {
  const backoff = (n: number) => Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** n) * (0.75 + random() * 0.5);
  switch (error.code) {
    case 'rate_limited': {
      if (state.rateLimitWaits < policy.maxRateLimitWaits) {
        const hinted = (error as { retryAfterMs?: number }).retryAfterMs;
        return { action: 'wait', delayMs: Math.min(policy.maxBackoffMs, hinted ?? backoff(Math.min(state.rateLimitWaits, 5))) };
      }
      return state.hasNextProvider ? { action: 'failover', delayMs: 0 } : { action: 'fail' };
    }
    case 'unavailable':
    case 'timeout':
    case 'internal':
    case 'delivery_failed':
      if (state.providerFailures + 1 < policy.attemptsPerProvider) {
        // A timeout means the provider canceled (or we abandoned) the prediction, and a task that ended in failure
        // answers that failure again when read: both start a new one. Anything else (a 5xx, a stalled poll) resumes it.
        return {
          action: 'retry',
          delayMs: backoff(state.providerFailures),
          keepCheckpoint: error.code !== 'timeout' && !(error instanceof ProviderTaskFailed),
        };
      }
      return state.hasNextProvider ? { action: 'failover', delayMs: backoff(0) } : { action: 'fail' };
    case 'unsupported':
    case 'unauthorized':
    case 'out_of_credits':
      return state.hasNextProvider ? { action: 'failover', delayMs: 0 } : { action: 'fail' };
    case 'moderated':
    case 'invalid_input':
    case 'image_invalid':
    case 'canceled':
    case 'delivery_refused':
      return { action: 'fail' };
  }
}
