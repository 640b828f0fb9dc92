import { GenerationCanceled, GenerationFailed, FluxError, toFluxError } from '../errors.js';
import { noMetrics } from '../metrics.js';
import type { GeneratedImage, ImageProvider, ProviderCheckpoint } from '../providers/provider.js';
import { providersFor } from '../providers/routing.js';
import { gallerySeed, imageCount, type FluxRequest } from '../request.js';
import { costOfImage, fitted, storedImage } from './made-image.js';
import type { GalleryPart, GenerationJobData, StoredImage } from './job-data.js';
import { delay, fail, onProviderError, ShortGallery } from './job-endings.js';
import { callProvider } from './provider-call.js';
import { HandBack, type StepContext as Ctx, type StepDeps } from './step-context.js';

/*
 * A gallery: `request.count` images of one request, made together and delivered as one message. Each image is
 * checkpointed on its own in `data.parts[i]`: its prediction while it runs (one call per image), then the image itself
 * under its own stash key. A provider that makes several images in one call (fal's `num_images`) makes the missing
 * ones in one call, checkpointed once in `data.checkpoint`. A re-run after a crash, a retry or a failover makes only
 * the images still missing, so none is paid for twice. When the rest cannot be made (the providers refuse for good,
 * or the person cancels) the images already made are delivered and charged, and the rest given back.
 */

/** Where image `index` of a gallery is stashed: the first where a one-image job's image is, the others beside it. */
export function partStashId(jobId: string, index: number): string {
  return index === 0 ? jobId : `${jobId}.${index}`;
}

export function isGallery(data: Pick<GenerationJobData, 'request'>): boolean {
  return imageCount(data.request) > 1;
}

/** The gallery's images already stored (paid for), in order. */
export function storedParts(data: Pick<GenerationJobData, 'parts'>): number {
  return (data.parts ?? []).filter((p) => p.stored !== undefined).length;
}

/** Whether every image the job asked for exists: a cancel can no longer stop anything (they are paid for). */
export function allImagesExist(data: GenerationJobData): boolean {
  if (!isGallery(data)) return data.stored !== undefined;
  return storedParts(data) === imageCount(data.request);
}


/** The request of one image of a gallery: its own seed, no count. */
function imageRequest(request: FluxRequest, index: number): FluxRequest {
  const { count: _count, ...one } = request;
  return { ...one, seed: gallerySeed(request, index) };
}

/** The request of one call that makes the images at `missing` (consecutive seeds from the first one's). */
function batchRequest(request: FluxRequest, missing: readonly number[]): FluxRequest {
  return { ...request, count: missing.length, seed: gallerySeed(request, missing[0]!) };
}

function setPart(ctx: Ctx, index: number, part: GalleryPart): void {
  const parts = [...(ctx.data.parts ?? [])];
  parts[index] = part;
  ctx.data = { ...ctx.data, parts };
}

/**
 * The gallery's images: those stored by earlier runs, read back, and the missing ones made now. Returns them in order
 * (fewer than asked when the rest could not be made: `ctx.data.shortfall` then says why), and whether an earlier run
 * stored any (it may have posted them: the delivery looks before posting again).
 */
export async function galleryImages(
  deps: StepDeps,
  ctx: Ctx,
  signal: AbortSignal | undefined,
  handBack: AbortSignal,
  imageSlot: () => Promise<void>,
  again: boolean,
): Promise<{ images: GeneratedImage[]; storedBefore: boolean }> {
  const n = imageCount(ctx.data.request);
  normalize(ctx, n);
  const images: Array<GeneratedImage | undefined> = new Array<GeneratedImage | undefined>(n).fill(undefined);
  const storedBefore = storedParts(ctx.data) > 0;
  if (storedBefore) {
    await imageSlot();
    const parts = ctx.data.parts!;
    for (let i = 0; i < n; i++) {
      const stored = parts[i]?.stored;
      if (!stored) continue;
      const bytes = await deps.stash.get(partStashId(ctx.data.jobId, i));
      // Gone from the stash (it expired): made again, as a one-image job's would be.
      if (bytes) images[i] = { ...stored, bytes, ms: stored.generationMs };
      else setPart(ctx, i, {});
    }
  }
  if (images.every((image) => image !== undefined)) {
    deps.onStage?.(ctx.job, { stage: 'delivering' });
    return { images: images as GeneratedImage[], storedBefore };
  }
  try {
    // A cancel left as a flag (the worker that held the job died) ends it here; the images made are delivered.
    if (again && (await deps.cancels?.isRequested(`${ctx.job.id}`))) await onProviderError(deps, ctx, new GenerationCanceled(), false);
    await makeMissing(deps, ctx, signal, handBack, imageSlot, images);
  } catch (err) {
    if (!(err instanceof ShortGallery)) throw err;
    ctx.log.info({ made: images.filter(Boolean).length, asked: n, code: err.error.code }, 'gallery ends short; delivering the images made');
    ctx.data = { ...ctx.data, shortfall: { code: err.error.code, message: err.error.userMessage } };
    await ctx.job.updateData(ctx.data);
  }
  return { images: images.filter((image): image is GeneratedImage => image !== undefined), storedBefore };
}

/**
 * One entry per image; a failed image's checkpoint, parked in `data.checkpoint` for the retry policy (which reads and
 * keeps or drops it there), goes back to its image.
 */
function normalize(ctx: Ctx, n: number): void {
  const parts: GalleryPart[] = Array.from({ length: n }, (_, i) => ctx.data.parts?.[i] ?? {});
  const parked = ctx.data.checkpoint;
  if (parked?.part !== undefined) {
    const { checkpoint: _parked, ...rest } = ctx.data;
    ctx.data = rest;
    const { part, ...checkpoint } = parked;
    if (part < n && !parts[part]!.stored) parts[part] = { ...parts[part], checkpoint: { ...checkpoint, part } };
  }
  ctx.data = { ...ctx.data, parts };
}

async function makeMissing(
  deps: StepDeps,
  ctx: Ctx,
  signal: AbortSignal | undefined,
  handBack: AbortSignal,
  imageSlot: () => Promise<void>,
  images: Array<GeneratedImage | undefined>,
): Promise<void> {
  const { job } = ctx;
  const provider = providersFor(deps, ctx.data.request)[ctx.data.providerIndex];
  if (!provider) return fail(deps, ctx, new FluxError('unavailable', 'no provider left', 'No image service is available right now.', false));
  const missing = images.flatMap((image, i) => (image === undefined ? [i] : []));
  const ranBefore = ctx.data.providerFailures > 0 || job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
  // The job's writes go one after another, each with the job's data as it is when it is sent: the images' checkpoints
  // and stores come concurrently, and an older write landing last would lose a newer image's.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = (write: () => Promise<unknown>): Promise<void> => {
    const next = chain.then(write);
    chain = next.catch(() => undefined);
    return next.then(() => undefined);
  };
  // Images made are stored at once, each with its own stash key, in one atomic write with the job's data that says so.
  const store = async (made: ReadonlyArray<{ index: number; image: GeneratedImage }>, before?: () => void) => {
    for (const { index, image } of made) {
      (deps.metrics ?? noMetrics).generation(image.provider, ctx.data.request.model, image.ms);
      images[index] = image;
      setPart(ctx, index, { stored: storedImage(image, costOfImage(deps, ctx.data, image)) });
    }
    before?.();
    const progress = images.every(Boolean) ? deps.claimStage?.(job, { stage: 'delivering' }) : undefined;
    const entries = made.map(({ index, image }) => ({ stashId: partStashId(ctx.data.jobId, index), bytes: image.bytes }));
    await serial(() => deps.writes.storeImages(job, ctx.data, entries, progress));
  };

  if (missing.length > 1 && provider.makesMany?.(batchRequest(ctx.data.request, missing)) && provider.generateMany) {
    return makeInOneCall(deps, ctx, provider, missing, { signal, handBack, imageSlot, ranBefore, store });
  }
  const resumed = new Set<number>();

  const outcomes = await Promise.allSettled(
    missing.map(async (index) => {
      const own = ctx.data.parts?.[index]?.checkpoint;
      const resume = own?.provider === provider.name ? own : undefined;
      if (resume) resumed.add(index);
      const checkpoint = async (cp: ProviderCheckpoint) => {
        setPart(ctx, index, { checkpoint: { ...cp, at: Date.now(), part: index } });
        await serial(() => job.updateData(ctx.data));
        ctx.log.info({ provider: cp.provider, predictionId: cp.id, image: index + 1 }, 'prediction checkpointed');
      };
      const plan = {
        provider,
        request: imageRequest(ctx.data.request, index),
        resume,
        lookup: !resume && ranBefore ? { since: ctx.data.submittedAt } : undefined,
        checkpoint,
        holder: `${ctx.data.jobId}.${index}`,
        signal,
        handBack,
        imageSlot,
      };
      const slot = await callProvider(deps, ctx, plan, (request, options) => provider.generate(request, options).then((made) => fitted(ctx.data, made)));
      if ('retryInMs' in slot) return slot.retryInMs;
      await store([{ index, image: slot.value }]);
      return undefined;
    }),
  );
  await chain;
  // Every image settled (those made are stored): what the others ran into decides what the job does next.
  if (outcomes.some((o) => o.status === 'rejected' && o.reason instanceof HandBack)) return delay(ctx, 0, {});
  const failedAt = outcomes.findIndex((o) => o.status === 'rejected');
  if (failedAt >= 0) {
    const index = missing[failedAt]!;
    const reason = (outcomes[failedAt] as PromiseRejectedResult).reason;
    const own = ctx.data.parts?.[index]?.checkpoint;
    // The failed image's checkpoint stands in `checkpoint` for the retry policy, which keeps or drops it there.
    if (own) {
      setPart(ctx, index, {});
      ctx.data = { ...ctx.data, checkpoint: own };
    }
    return onProviderError(deps, ctx, signal?.aborted ? new GenerationCanceled() : toFluxError(reason), resumed.has(index));
  }
  const waits = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value !== undefined ? [o.value] : []));
  if (waits.length > 0) return signal?.aborted ? onProviderError(deps, ctx, new GenerationCanceled(), false) : delay(ctx, Math.min(...waits), {});
}

/** The missing images in one call (fal's `num_images`), its prediction checkpointed once in `data.checkpoint`. */
async function makeInOneCall(
  deps: StepDeps,
  ctx: Ctx,
  provider: ImageProvider,
  missing: readonly number[],
  run: {
    signal: AbortSignal | undefined;
    handBack: AbortSignal;
    imageSlot: () => Promise<void>;
    ranBefore: boolean;
    store: (made: ReadonlyArray<{ index: number; image: GeneratedImage }>, before?: () => void) => Promise<void>;
  },
): Promise<void> {
  const { job } = ctx;
  const own = ctx.data.checkpoint;
  const resume = own?.provider === provider.name && own.part === undefined ? own : undefined;
  const checkpoint = async (cp: ProviderCheckpoint) => {
    ctx.data = { ...ctx.data, checkpoint: { ...cp, at: Date.now() } };
    await job.updateData(ctx.data);
    ctx.log.info({ provider: cp.provider, predictionId: cp.id, images: missing.length }, 'prediction checkpointed');
  };
  const plan = {
    provider,
    request: batchRequest(ctx.data.request, missing),
    resume,
    lookup: !resume && run.ranBefore ? { since: ctx.data.submittedAt } : undefined,
    checkpoint,
    holder: `${ctx.data.jobId}`,
    signal: run.signal,
    handBack: run.handBack,
    imageSlot: run.imageSlot,
  };
  let made: GeneratedImage[];
  try {
    const slot = await callProvider(deps, ctx, plan, async (request, options) => {
      const images = await provider.generateMany!(request, options);
      if (images.length < missing.length) throw new GenerationFailed(provider.name, `the call made ${images.length} of ${missing.length} images`);
      return Promise.all(images.slice(0, missing.length).map((image) => fitted(ctx.data, image)));
    });
    if ('retryInMs' in slot) return run.signal?.aborted ? onProviderError(deps, ctx, new GenerationCanceled(), false) : delay(ctx, slot.retryInMs, {});
    made = slot.value;
  } catch (err) {
    if (err instanceof HandBack) return delay(ctx, 0, {});
    return onProviderError(deps, ctx, run.signal?.aborted ? new GenerationCanceled() : toFluxError(err), resume !== undefined);
  }
  // The call's images and the end of its checkpoint in one write: a crash leaves the call to resume or all its images.
  await run.store(
    made.map((image, i) => ({ index: missing[i]!, image })),
    () => {
      const { checkpoint: _done, ...rest } = ctx.data;
      ctx.data = rest;
    },
  );
}

/** What a job made, as its delivery, record and result tell it: one image's, or a gallery's (its first's, costs summed). */
export interface MadeSummary {
  provider: StoredImage['provider'] | 'unknown';
  seed: number;
  format?: StoredImage['format'];
  costMicros?: number;
  generationMs: number;
  /** A gallery: how many images were made (and delivered). */
  images?: number;
}

export function madeSummary(data: GenerationJobData): MadeSummary {
  if (!isGallery(data)) {
    const stored = data.stored;
    return {
      provider: stored?.provider ?? 'unknown',
      seed: stored?.seed ?? data.request.seed,
      ...(stored ? { format: stored.format } : {}),
      ...(stored?.costMicros === undefined ? {} : { costMicros: stored.costMicros }),
      generationMs: stored?.generationMs ?? 0,
    };
  }
  const made = (data.parts ?? []).flatMap((part) => (part.stored ? [part.stored] : []));
  const first = made[0];
  const costs = made.map((stored) => stored.costMicros);
  return {
    provider: first?.provider ?? 'unknown',
    seed: data.request.seed,
    ...(first ? { format: first.format } : {}),
    ...(costs.length > 0 && costs.every((c) => c !== undefined) ? { costMicros: costs.reduce((a, b) => a! + b!, 0) } : {}),
    generationMs: Math.max(0, ...made.map((stored) => stored.generationMs)),
    images: made.length,
  };
}
