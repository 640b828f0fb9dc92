import { UnrecoverableError, type Job } from 'bullmq';
import { DeliveryRefused, FluxError, GenerationCanceled, toFluxError } from '../errors.js';
import { noMetrics } from '../metrics.js';
import { toUsd } from '../prices.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../ports.js';
import type { GeneratedImage, ProviderCheckpoint } from '../providers/provider.js';
import { providersFor } from '../providers/routing.js';
import type { GenerationJobData, GenerationJobResult } from './job-data.js';
import { delay, fail, onProviderError } from './job-endings.js';
import { galleryImages, isGallery, madeSummary } from './gallery-steps.js';
import { costOfImage, fitted, storedImage } from './made-image.js';
import { callProvider } from './provider-call.js';
import { HandBack, type StepContext as Ctx, type StepDeps } from './step-context.js';

export type { JobProgress, StepDeps } from './step-context.js';
export { HandBack, unlessHandedBack } from './step-context.js';
export { fail, finalizeFailure } from './job-endings.js';

/**
 * One job: provider → stored image → delivery, with a checkpoint in the job after each step so a re-run after a
 * crash resumes the same prediction and never posts twice.
 */
export async function runGenerationJob(
  deps: StepDeps,
  job: Job<GenerationJobData, GenerationJobResult>,
  token: string | undefined,
  signal: AbortSignal | undefined,
  handBack: AbortSignal,
): Promise<GenerationJobResult> {
  // The image slot is taken when the image is about to be held (download, or a stored image read back) and given
  // back when the job leaves this worker, however it leaves.
  let release: (() => void) | undefined;
  const imageSlot = async () => {
    if (!release && deps.imageSlots) release = await deps.imageSlots.acquire();
  };
  try {
    return await runJob(deps, job, token, signal, handBack, imageSlot);
  } finally {
    release?.();
  }
}

async function runJob(
  deps: StepDeps,
  job: Job<GenerationJobData, GenerationJobResult>,
  token: string | undefined,
  signal: AbortSignal | undefined,
  handBack: AbortSignal,
  imageSlot: () => Promise<void>,
): Promise<GenerationJobResult> {
  const ctx: Ctx = { job, token, data: job.data, log: deps.logger.child({ jobId: job.id }) };
  if (ctx.data.delivered) return finishDelivered(deps, ctx);
  const metrics = deps.metrics ?? noMetrics;
  const firstStart = !ctx.data.stored && !ctx.data.checkpoint && ctx.data.providerIndex === 0 && ctx.data.providerFailures === 0 && ctx.data.rateLimitWaits === 0;
  if (firstStart) metrics.queueWait(Math.max(0, Date.now() - job.timestamp));
  // A cancel that found the job locked is left as a flag besides the broadcast: the broadcast reaches no one when the
  // worker that held the job was killed, and the job then runs again here. A first start needs no look (a cancel
  // before it removes the job; one during it aborts the signal), so the common path pays no extra round trip.
  const again = !firstStart || job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
  // Once the image exists it is paid for: a late cancel no longer stops it from reaching its person.
  const gallery = isGallery(ctx.data);
  if (!gallery && again && !ctx.data.stored && (await deps.cancels?.isRequested(`${job.id}`))) return onProviderError(deps, ctx, new GenerationCanceled(), false);
  // A job reaches a provider only with its reservation. The first start claims it atomically; a job whose reservation
  // was refunded before it could start (the reconciler found no job while its submission hung) ends here, unpaid.
  if (firstStart && !(await deps.quotas.claim(ctx.data.jobId))) return endUnreserved(deps, ctx);

  let image: GeneratedImage | undefined;
  let images: GeneratedImage[] | undefined;
  // Stored by an earlier run, which may have got as far as posting it before it crashed or its delivery failed.
  let storedBefore = ctx.data.stored !== undefined;
  if (gallery) {
    ({ images, storedBefore } = await galleryImages(deps, ctx, signal, handBack, imageSlot, again));
    image = images[0];
  } else if (ctx.data.stored) {
    await imageSlot();
    const bytes = await deps.stash.get(ctx.data.jobId);
    if (bytes) image = { ...ctx.data.stored, bytes, ms: ctx.data.stored.generationMs };
    if (image) deps.onStage?.(job, { stage: 'delivering' });
  }
  // A new image is stored together with the 'delivering' stage (one round trip).
  if (!image) image = await generate(deps, ctx, signal, handBack, imageSlot);
  const made = madeSummary(ctx.data);

  const delivery = deps.deliveries[ctx.data.target.platform];
  if (!delivery) throw new UnrecoverableError(`no delivery configured for ${ctx.data.target.platform}`);
  const request: DeliveryRequest = {
    jobId: ctx.data.jobId,
    request: ctx.data.request,
    requester: ctx.data.requester,
    target: ctx.data.target,
    image,
    ...(images ? { images } : {}),
    ...(ctx.data.shortfall ? { shortfall: ctx.data.shortfall.message } : {}),
    model: ctx.data.request.model,
    generationMs: images ? made.generationMs : image.ms,
    ...(made.costMicros === undefined ? {} : { costMicros: made.costMicros }),
    ...(ctx.data.rerollOf === undefined ? {} : { rerollOf: ctx.data.rerollOf }),
    ...(storedBefore ? { redelivery: { since: ctx.data.submittedAt } } : {}),
  };
  const deliveryStarted = Date.now();
  let delivered: DeliveredMessage;
  try {
    delivered = await delivery.deliver(request);
  } catch (err) {
    // The image exists and is paid for: from here on the job never ends without it reaching its person.
    delivered = await deliverElsewhere(delivery, request, err, job.attemptsMade + 1 >= (job.opts.attempts ?? 1), ctx);
  }
  metrics.delivery(ctx.data.target.platform, Date.now() - deliveryStarted);
  // Checkpointed together with the record and the release, in one atomic call (finishDelivered).
  ctx.data = { ...ctx.data, delivered: { platform: delivered.platform, messageId: delivered.messageId, channelId: delivered.channelId, ...(delivered.threadId === undefined ? {} : { threadId: delivered.threadId }), ...(delivered.via === undefined ? {} : { via: delivered.via }), ...(delivered.followUp ? { followUp: true } : {}) } };
  return finishDelivered(deps, ctx);
}

/**
 * The target as a record keeps it for 30 days: without a platform's short-lived interaction token (dead after 15
 * minutes anyway, and a credential while it lives), nor what only goes with it (the application and the time it was
 * made: useless without the token, and bytes in every record).
 */
function withoutToken(target: GenerationJobData['target']): GenerationJobData['target'] {
  if (!target.extra?.interactionToken) return target;
  const { interactionToken: _token, applicationId: _application, interactionAt: _at, ...extra } = target.extra;
  return { ...target, extra };
}

/**
 * A job that failed for good (an unexpected error outlasted its attempts) after its image existed: the image is paid
 * for, so it is kept for the person and charged (as a delivery that found no channel), never refunded.
 */
export async function keepUndelivered(deps: StepDeps, job: Job<GenerationJobData, GenerationJobResult>): Promise<void> {
  const { data } = job;
  const ctx: Ctx = { job, token: undefined, data, log: deps.logger.child({ jobId: job.id }) };
  ctx.log.warn('job failed after its image existed; keeping the image for the person');
  ctx.data = { ...data, delivered: { platform: data.target.platform, messageId: `kept:${data.jobId}`, channelId: data.target.channelId, via: 'kept' } };
  await finishDelivered(deps, ctx);
}

/** Ends a job whose reservation is gone without generating: nothing was charged, so nothing is refunded. */
async function endUnreserved(deps: StepDeps, ctx: Ctx): Promise<never> {
  const error = new FluxError('canceled', 'job started without a reservation', 'This request expired before it could start; nothing was charged. Please ask again.', false);
  ctx.log.warn('job has no reservation (refunded before it started); not generating');
  ctx.data = { ...ctx.data, failure: { code: error.code, message: error.userMessage } };
  await ctx.job.updateData(ctx.data).catch(() => undefined);
  await deps.deliveries[ctx.data.target.platform]
    ?.notifyFailure({ jobId: ctx.data.jobId, requester: ctx.data.requester, target: ctx.data.target, request: ctx.data.request }, error)
    .catch((err: unknown) => ctx.log.warn({ err }, 'could not tell the person about the expired request'));
  throw new UnrecoverableError(error.userMessage);
}

/**
 * Where the image goes when posting it where it was asked for failed. A refusal for good (no access, archived, gone),
 * or a fault that outlasted the job's last delivery attempt, sends it to the person privately; when even that fails
 * for good (or on the last attempt), the image is kept for the person to fetch (`/flux-history`). Either way it is
 * charged: a member who removes the bot from their thread gets their image, not a refund. A fault that may pass,
 * with attempts left, is retried.
 */
async function deliverElsewhere(delivery: DeliveryPort, request: DeliveryRequest, err: unknown, lastAttempt: boolean, ctx: Ctx): Promise<DeliveredMessage> {
  const keep = (why: unknown): DeliveredMessage => {
    ctx.log.warn({ err: why }, 'the image could not be delivered anywhere; kept for the person to fetch');
    return { platform: request.target.platform, messageId: `kept:${request.jobId}`, channelId: request.target.channelId, via: 'kept' };
  };
  if (!(err instanceof DeliveryRefused) && !lastAttempt) throw err;
  ctx.log.info({ reason: err instanceof DeliveryRefused ? err.reason : 'delivery kept failing' }, 'the image could not be posted where asked; delivering it privately');
  if (!delivery.deliverPrivately) return keep(err);
  const refused = err instanceof DeliveryRefused ? err : new DeliveryRefused(request.target.platform, 'delivery kept failing', { cause: err });
  try {
    return { ...(await delivery.deliverPrivately(request, refused)), via: 'private' };
  } catch (privateErr) {
    if (privateErr instanceof DeliveryRefused || lastAttempt) return keep(privateErr);
    throw privateErr;
  }
}

async function finishDelivered(deps: StepDeps, ctx: Ctx): Promise<GenerationJobResult> {
  const { data } = ctx;
  const delivered = data.delivered!;
  const made = madeSummary(data);
  const cost = made.costMicros;
  // `delivered` in the job with the release (counted, its cost settled) in one atomic call, the reroll record and the
  // history entry beside it, then the stashed images dropped (a gallery's too; the first kept for the person when
  // nowhere took it): ordered so a re-run after a crash anywhere repeats them harmlessly (see step-writes.ts).
  let released = await deps.writes.finishDelivered(ctx.job, data, {
    jobId: data.jobId,
    request: data.request,
    requester: data.requester,
    target: withoutToken(data.target),
    platform: delivered.platform,
    messageId: delivered.messageId,
    channelId: delivered.channelId,
    ...(delivered.threadId === undefined ? {} : { threadId: delivered.threadId }),
    provider: made.provider,
    seed: made.seed,
    createdAt: Date.now(),
    ...(data.rerollOf === undefined ? {} : { rerollOf: data.rerollOf }),
    ...(delivered.via === undefined ? {} : { via: delivered.via }),
    ...(made.format ? { format: made.format } : {}),
    ...(cost === undefined ? {} : { costMicros: cost }),
    ...(data.inputSizes === undefined ? {} : { inputSizes: data.inputSizes }),
    ...(made.images === undefined ? {} : { images: made.images }),
  });
  // Not released by that call (already released on an earlier run, or not the expected reservation): the quota
  // store decides, exactly once, as before.
  if (!released) released = await deps.quotas.release(data.jobId, 'delivered', cost, made.images);
  // Counted by whichever call released the reservation, so the spend metric counts each image once.
  if (released && cost !== undefined && made.provider !== 'unknown') (deps.metrics ?? noMetrics).spend(made.provider, data.request.model, toUsd(cost));
  (deps.metrics ?? noMetrics).finished('delivered');
  await deps.deliveries[delivered.platform]
    ?.afterRecorded?.(delivered, {
      jobId: data.jobId,
      request: data.request,
      requester: data.requester,
      target: data.target,
      model: data.request.model,
      generationMs: made.generationMs,
      imageCount: made.images ?? 1,
      ...(data.rerollOf === undefined ? {} : { rerollOf: data.rerollOf }),
    })
    .catch((err: unknown) => ctx.log.warn({ err }, 'could not finish the delivered message'));
  ctx.log.info({ messageId: delivered.messageId, provider: made.provider, ...(made.images === undefined ? {} : { images: made.images }) }, 'job delivered');
  return {
    messageId: delivered.messageId,
    channelId: delivered.channelId,
    ...(delivered.threadId === undefined ? {} : { threadId: delivered.threadId }),
    provider: made.provider,
    seed: made.seed,
    generationMs: made.generationMs,
    ...(cost === undefined ? {} : { costMicros: cost }),
  };
}

async function generate(
  deps: StepDeps,
  ctx: Ctx,
  signal: AbortSignal | undefined,
  handBack: AbortSignal,
  imageSlot: () => Promise<void>,
): Promise<GeneratedImage> {
  const { job, data } = ctx;
  // `providerIndex` indexes the job's own failover order, the same on every worker (see routing.ts).
  const provider = providersFor(deps, data.request)[data.providerIndex];
  if (!provider) return fail(deps, ctx, new FluxError('unavailable', 'no provider left', 'No image service is available right now.', false));
  const resume = data.checkpoint?.provider === provider.name ? data.checkpoint : undefined;
  // A run before this one may have created a prediction it never checkpointed (it died during the create, or the
  // create's answer was lost and it failed): the provider looks for it before paying for another. A first run skips
  // the look, so the common path costs no extra request.
  const ranBefore = data.providerFailures > 0 || job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
  const lookup = !resume && ranBefore ? { since: data.submittedAt } : undefined;
  const checkpoint = async (cp: ProviderCheckpoint) => {
    ctx.data = { ...ctx.data, checkpoint: { ...cp, at: Date.now() } };
    await job.updateData(ctx.data);
    ctx.log.info({ provider: cp.provider, predictionId: cp.id }, 'prediction checkpointed');
  };
  // No 'generating' progress here: every run of a job begins with BullMQ's own 'active' event, which the feed already
  // reports as started (shown as generating); a progress write of the same state would cost a Redis round trip.
  let image: GeneratedImage;
  try {
    const plan = { provider, request: data.request, resume, lookup, checkpoint, holder: `${data.jobId}`, signal, handBack, imageSlot };
    const slot = await callProvider(deps, ctx, plan, (request, options) => provider.generate(request, options).then((made) => fitted(data, made)));
    // Canceled while it waited for a slot: end here rather than come back for one.
    if ('retryInMs' in slot) return signal?.aborted ? onProviderError(deps, ctx, new GenerationCanceled(), false) : delay(ctx, slot.retryInMs, {});
    image = slot.value;
  } catch (err) {
    if (err instanceof HandBack) return delay(ctx, 0, {});
    return onProviderError(deps, ctx, signal?.aborted ? new GenerationCanceled() : toFluxError(err), resume !== undefined);
  }

  (deps.metrics ?? noMetrics).generation(image.provider, data.request.model, image.ms);
  ctx.data = { ...ctx.data, stored: storedImage(image, costOfImage(deps, data, image)) };
  await deps.writes.storeImage(job, ctx.data, image.bytes, deps.claimStage?.(job, { stage: 'delivering' }));
  return image;
}
