import type { GenerateOptions, ImageProvider, PredictionLookup, ProviderCheckpoint } from '../providers/provider.js';
import type { FluxRequest } from '../request.js';
import { unlessHandedBack, type StepContext as Ctx, type StepDeps } from './step-context.js';

/** How one provider call of a job is made: what it resumes or looks for, where it checkpoints, who holds its slot. */
export interface CallPlan {
  provider: ImageProvider;
  /** The request as the provider gets it (a gallery image's own seed, or the gallery's count for one call). */
  request: FluxRequest;
  resume?: ProviderCheckpoint | undefined;
  lookup?: PredictionLookup | undefined;
  checkpoint: (cp: ProviderCheckpoint) => Promise<void>;
  /** The holder of the provider's concurrency slot: the job, or one image of a gallery. */
  holder: string;
  signal: AbortSignal | undefined;
  handBack: AbortSignal;
  imageSlot: () => Promise<void>;
}

/**
 * One call to a provider on a job's behalf, shared by one-image jobs and galleries: the webhook and its completion
 * notifier, stored reference images put back into the request, progress for the status message, the provider's
 * concurrency slot (`{ retryInMs }` when none came free in time), and the worker's hand-back (rejects with HandBack).
 */
export async function callProvider<T>(
  deps: StepDeps,
  ctx: Ctx,
  plan: CallPlan,
  make: (request: FluxRequest, options: GenerateOptions) => Promise<T>,
): Promise<{ value: T } | { retryInMs: number }> {
  const { data, job } = ctx;
  const { provider, signal } = plan;
  const webhookUrl = deps.webhookUrl?.(data.jobId, provider.name);
  const completion = webhookUrl ? deps.completion?.(data.jobId, provider.name) : undefined;
  const call = async () => {
    // A stored image prompt (a reference in the job) is put back right before the provider call, never into the job.
    const request = deps.inputs ? await deps.inputs.resolve(plan.request) : plan.request;
    return make(request, {
      ...(signal ? { signal } : {}),
      ...(plan.resume ? { resume: plan.resume } : {}),
      ...(plan.lookup ? { lookup: plan.lookup } : {}),
      ...(webhookUrl ? { webhookUrl } : {}),
      ...(completion ? { completion } : {}),
      checkpoint: plan.checkpoint,
      imageSlot: plan.imageSlot,
      onProgress: (p) =>
        deps.onStage?.(job, {
          stage: 'generating',
          provider: provider.name,
          ...(p.queuePosition === undefined ? {} : { queuePosition: p.queuePosition }),
          ...(p.fraction === undefined ? {} : { fraction: p.fraction }),
        }),
    });
  };
  const limit = deps.limits?.[provider.name];
  if (deps.limiter && limit) return unlessHandedBack(deps.limiter.withSlot(provider.name, plan.holder, limit, 5000, call), plan.handBack);
  return { value: await unlessHandedBack(call(), plan.handBack) };
}
