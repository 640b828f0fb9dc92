import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { ProviderTaskFailed, type FluxError } from '../errors.js';
import { noMetrics } from '../metrics.js';
import { providersFor } from '../providers/routing.js';
import type { GenerationJobData } from './job-data.js';
import { decideRetry, DEFAULT_RETRY_POLICY } from './retry-policy.js';
import type { StepContext as Ctx, StepDeps } from './step-context.js';

/* How a generation attempt ends when the provider fails: wait, retry, fail over (all without spending a BullMQ
 * attempt), or give up with a refund and a reason. */

export async function onProviderError(deps: StepDeps, ctx: Ctx, error: FluxError, resumed: boolean): Promise<never> {
  const { data } = ctx;
  // A resumed prediction that fails again (task gone, result expired, stored error) will fail the same way each time:
  // the next try starts a new one. An expired output of a resumed prediction is such a case, not bad input.
  if (resumed && error.code === 'image_invalid' && data.providerFailures + 1 < (deps.policy ?? DEFAULT_RETRY_POLICY).attemptsPerProvider) {
    const { checkpoint: _stale, ...rest } = ctx.data;
    ctx.data = rest;
    return delay(ctx, 0, { providerFailures: data.providerFailures + 1 });
  }
  // A prediction that exists may already be paid for: a fault talking to the provider (a 5xx or a poll that timed
  // out) is not a reason to abandon it. The job keeps following it, spending no attempt, for as long as a provider
  // keeps a prediction running; only then do the usual attempts (and a new prediction) apply.
  const policy = deps.policy ?? DEFAULT_RETRY_POLICY;
  const cp = data.checkpoint;
  const providers = providersFor(deps, data.request);
  const provider = providers[data.providerIndex]?.name;
  if (error.code === 'unavailable' && !(error instanceof ProviderTaskFailed) && cp !== undefined && cp.provider === provider && cp.at !== undefined && Date.now() - cp.at < policy.followPredictionMs) {
    ctx.log.warn({ code: error.code, provider, err: error.message }, 'provider fault while following a prediction; following it again');
    return delay(ctx, Math.min(10_000, policy.baseBackoffMs * (0.75 + Math.random() * 0.5)), {});
  }
  const decision = decideRetry(error, {
    providerFailures: data.providerFailures,
    rateLimitWaits: data.rateLimitWaits,
    hasNextProvider: data.providerIndex + 1 < providers.length,
  }, deps.policy ?? DEFAULT_RETRY_POLICY);
  ctx.log.warn({ code: error.code, provider: error.provider, decision: decision.action, err: error.message }, 'provider error');
  if (error.code !== 'canceled') (deps.metrics ?? noMetrics).providerError(error.provider ?? provider ?? 'unknown', error.code);
  switch (decision.action) {
    case 'wait':
      return delay(ctx, decision.delayMs, { rateLimitWaits: data.rateLimitWaits + 1 });
    case 'retry': {
      const { checkpoint: _dropped, ...rest } = ctx.data;
      ctx.data = decision.keepCheckpoint && !resumed ? ctx.data : rest;
      return delay(ctx, decision.delayMs, { providerFailures: data.providerFailures + 1 });
    }
    case 'failover': {
      const { checkpoint: _dropped, ...rest } = ctx.data;
      ctx.data = rest;
      return delay(ctx, decision.delayMs, { providerIndex: data.providerIndex + 1, providerFailures: 0, rateLimitWaits: 0 });
    }
    case 'fail':
      return fail(deps, ctx, error);
  }
}

/** Puts the job back in the queue for later without spending a BullMQ attempt. */
export async function delay(ctx: Ctx, ms: number, changes: Partial<GenerationJobData>): Promise<never> {
  ctx.data = { ...ctx.data, ...changes };
  await ctx.job.updateData(ctx.data);
  await ctx.job.moveToDelayed(Date.now() + Math.max(0, Math.round(ms)), ctx.token);
  throw new DelayedError();
}

/**
 * Thrown by `fail` when a gallery ends with some of its images made: those are delivered (and charged), the rest
 * given back (see gallery-steps.ts, which catches it).
 */
export class ShortGallery extends Error {
  constructor(readonly error: FluxError) {
    super(`gallery ends short: ${error.message}`);
  }
}

/**
 * Ends the job without an image: refund once, tell the person why, and fail without retry. A gallery with images
 * already made ends with those instead (ShortGallery).
 */
export async function fail(deps: StepDeps, ctx: Ctx, error: FluxError): Promise<never> {
  if (ctx.data.parts?.some((part) => part.stored !== undefined)) throw new ShortGallery(error);
  ctx.data = { ...ctx.data, failure: { code: error.code, message: error.userMessage } };
  await ctx.job.updateData(ctx.data).catch(() => undefined);
  // The job ends for good: an image an earlier run stored is no longer needed (a stored image never ends up here
  // through the delivery path, which keeps it for the person instead).
  if (ctx.data.stored) await deps.stash.delete(ctx.data.jobId).catch(() => undefined);
  await finalizeFailure(deps, ctx.data, error, ctx.log);
  throw new UnrecoverableError(error.userMessage);
}

/** Refund and notify exactly once (the release decides who notifies), for any path that ends a job without an image. */
export async function finalizeFailure(deps: Pick<StepDeps, 'quotas' | 'deliveries' | 'metrics'>, data: GenerationJobData, error: FluxError, log: Logger): Promise<void> {
  const released = await deps.quotas.release(data.jobId, 'refunded');
  if (!released) return;
  (deps.metrics ?? noMetrics).finished('failed');
  log.info({ code: error.code }, 'job ended without an image; quota refunded');
  await deps.deliveries[data.target.platform]
    ?.notifyFailure({ jobId: data.jobId, requester: data.requester, target: data.target, request: data.request }, error)
    .catch((err: unknown) => log.warn({ err }, 'could not tell the person about the failure'));
}
