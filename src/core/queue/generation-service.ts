import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PreparedRequest, ReferenceImages } from '../images/reference-images.js';
import type { JobRecordStore } from '../jobs/job-records.js';
import { guildKey, userKey, type DeliveryTarget, type Platform, type Requester } from '../ports.js';
import { imageCount, matchInputImage, withNewSeed, type FluxRequest } from '../request.js';
import { MAX_PRIORITY, type Admission, type AdmissionGate, type RefusalReason } from './admission.js';
import type { CancelBus } from './cancel-bus.js';
import type { GenerationQueue } from './generation-queue.js';
import { allImagesExist, storedParts } from './gallery-steps.js';
import type { GenerationJobData } from './job-data.js';
import { FluxError } from '../errors.js';
import { noMetrics, type PipelineMetrics } from '../metrics.js';
import type { Size } from '../prices.js';

export type SubmitResult =
  | { status: 'queued'; jobId: string; /** Jobs ahead of this one (0 = next). */ position: number; userPosition: number }
  | { status: 'duplicate'; jobId: string }
  | { status: 'refused'; reason: RefusalReason; limit?: number; used?: number; cost?: number; resetAt?: number; banReason?: string; asked?: number };

export type RerollResult = SubmitResult | { status: 'not_found' };

export type CancelResult =
  | { status: 'canceled' }
  | { status: 'canceling' }
  | { status: 'not_found' }
  | { status: 'not_owner' }
  | { status: 'finished' };

export interface SubmitOptions {
  /** Platform-prefixed id of the triggering delivery (interaction id, Slack trigger/event id): a retry of the same delivery is charged once. */
  dedupeKey: string;
  kind?: 'generate' | 'reroll';
  rerollOf?: string;
  /** Names of the request's images by position (file names of uploads), for messages about them. */
  imageNames?: ReadonlyArray<string | undefined>;
  /** Sizes of the request's input images where known without fetching them again (a reroll's, from its record). */
  inputSizes?: ReadonlyArray<Size | undefined>;
}

/**
 * How long a submission may take from admission to the job in the queue (the adapter's status post included). Past
 * it the submission refunds itself and gives up, so the reconciler (which waits twice as long) never refunds a
 * reservation whose job may still be added.
 */
export const SUBMIT_DEADLINE_MS = 5 * 60_000;

/** A submission that outlived SUBMIT_DEADLINE_MS: refunded, nothing queued. */
export class SubmitExpired extends FluxError {
  constructor(ms: number) {
    super('unavailable', `submission took over ${ms} ms; refunded`, 'Posting your request took too long, so it was dropped and nothing was charged. Please try again.', true);
  }
}

export interface GenerationServiceOptions {
  queue: GenerationQueue;
  quotas: AdmissionGate;
  records: JobRecordStore;
  cancels: CancelBus;
  logger: Logger;
  clock?: () => number;
  metrics?: PipelineMetrics;
  /** See SUBMIT_DEADLINE_MS (tests shorten it). */
  submitDeadlineMs?: number;
  /** Servers/workspaces that may use the bot (`discord:<id>`, `slack:<team>` or a bare id); absent or empty: all. */
  allowedGuilds?: readonly string[];
  /** Checks reference images before admission (the core's ReferenceImages); absent: images pass unchecked. */
  references?: Pick<ReferenceImages, 'prepare' | 'check'>;
  /**
   * What admission reserves for a job against the budgets, in micro-dollars, from the request and its input images'
   * sizes (undefined where unknown). Default: nothing (no money counted).
   */
  estimate?: (request: FluxRequest, inputSizes: ReadonlyArray<Size | undefined>) => number;
}

/**
 * The producer side of the pipeline, used by the platform adapters: admission and enqueue, rerolls from job records,
 * cancels. Expected outcomes (refused, duplicate, not found) are returned as values.
 */
export class GenerationService {
  private readonly clock: () => number;

  private readonly allowed: ReadonlySet<string> | undefined;

  constructor(private readonly options: GenerationServiceOptions) {
    this.clock = options.clock ?? Date.now;
    this.allowed = options.allowedGuilds?.length ? new Set(options.allowedGuilds) : undefined;
  }

  /** Whether the operator's allowlist lets this server/workspace use the bot. */
  allows(requester: Pick<Requester, 'platform' | 'guildId'>): boolean {
    return !this.allowed || this.allowed.has(guildKey(requester)) || this.allowed.has(requester.guildId);
  }

  /**
   * Admits and enqueues. `target` may be a function: it runs only once the submission is admitted, so an adapter
   * posts its status message (the thread anchor) only for accepted jobs; if it throws, the reservation is refunded.
   */
  async submit(request: FluxRequest, requester: Requester, target: DeliveryTarget | (() => Promise<DeliveryTarget>), opts: SubmitOptions): Promise<SubmitResult> {
    if (!this.allows(requester)) {
      (this.options.metrics ?? noMetrics).refusal('not_allowed');
      return { status: 'refused', reason: 'not_allowed' };
    }
    // Reference images are checked (inline ones stored, links fetched) before anything is reserved or queued: a bad
    // image is refused (InvalidInput naming it) with nothing charged.
    const prepared = await this.prepareImages(request, opts);
    // An edit's size follows its first image, now that the image is checked and its size known.
    request = matchInputImage(prepared.request, prepared.sizes[0]);
    const jobId = `j${randomUUID().replace(/-/g, '')}`;
    const inputSizes: ReadonlyArray<Size | undefined> = (request.images ?? []).map((_, i) => prepared.sizes[i] ?? opts.inputSizes?.[i] ?? undefined);
    // A gallery reserves all its images at once: n images of quota and n times the estimate of one.
    const images = imageCount(request);
    const costMicros = (this.options.estimate?.(request, inputSizes) ?? 0) * images;
    const admission: Admission = await this.options.quotas.admit({
      jobId,
      dedupeKey: opts.dedupeKey,
      userKey: userKey(requester),
      guildKey: guildKey(requester),
      // The admission also counts the jobs ahead in the queue: no second round trip for the position.
      queue: { wait: this.options.queue.toKey('wait'), prioritized: this.options.queue.toKey('prioritized') },
      costMicros,
      ...(images > 1 ? { images } : {}),
    });
    if (admission.status === 'refused') (this.options.metrics ?? noMetrics).refusal(admission.reason);
    if (admission.status !== 'accepted') return admission;

    // Real time, not the injectable clock: the deadline is about this process's own progress (a pause counts).
    const admittedAt = Date.now();
    const deadlineMs = this.options.submitDeadlineMs ?? SUBMIT_DEADLINE_MS;
    const refund = () => this.options.quotas.release(jobId, 'refunded').catch(() => false);
    let resolved: DeliveryTarget;
    try {
      resolved = typeof target === 'function' ? await withDeadline(target(), deadlineMs) : target;
    } catch (err) {
      await refund();
      throw err;
    }
    // Checked again after the wait: a process paused past the deadline must not add a job the reconciler may refund.
    if (Date.now() - admittedAt > deadlineMs) {
      await refund();
      throw new SubmitExpired(deadlineMs);
    }
    const data: GenerationJobData = {
      jobId,
      kind: opts.kind ?? 'generate',
      request,
      requester,
      target: resolved,
      submittedAt: this.clock(),
      providerIndex: 0,
      providerFailures: 0,
      rateLimitWaits: 0,
      ...(opts.rerollOf === undefined ? {} : { rerollOf: opts.rerollOf }),
      ...(admission.day === undefined ? {} : { admittedDay: admission.day }),
      ...(inputSizes.length === 0 ? {} : { inputSizes: inputSizes.map((s) => (s ? [s.width, s.height] : null)) }),
    };
    try {
      // Priority = the person's in-flight position: everyone's first job runs before anyone's second.
      await this.options.queue.add(data.kind, data, { jobId, priority: Math.min(admission.position, MAX_PRIORITY) });
    } catch (err) {
      await refund();
      throw err;
    }
    this.options.logger.info({ jobId, user: userKey(requester), model: request.model, kind: data.kind }, 'job queued');
    if (data.kind === 'reroll') (this.options.metrics ?? noMetrics).reroll();
    return { status: 'queued', jobId, position: admission.ahead ?? 0, userPosition: admission.position };
  }

  /**
   * Same params as the image posted as `messageId`, a new seed, charged to `requester`, delivered in the same thread.
   * `opts.target` adds to the recorded target (a function runs only once the reroll is admitted, like submit's).
   */
  async reroll(
    ref: { platform: Platform; messageId: string },
    requester: Requester,
    opts: { dedupeKey: string; target?: Partial<DeliveryTarget> | (() => Promise<Partial<DeliveryTarget>>) },
  ): Promise<RerollResult> {
    const record = await this.options.records.find(ref.platform, ref.messageId);
    if (!record) return { status: 'not_found' };
    const { statusMessageId: _previousStatus, ...previous } = record.target;
    const base: DeliveryTarget = {
      ...previous,
      channelId: record.channelId,
      ...(record.threadId === undefined ? {} : { threadId: record.threadId }),
    };
    const more = opts.target;
    const target = async (): Promise<DeliveryTarget> => ({ ...base, ...(typeof more === 'function' ? await more() : more) });
    const again = (dedupeKey: string) => this.submit(withNewSeed(record.request), requester, target, { dedupeKey, kind: 'reroll', rerollOf: ref.messageId });
    let result = await again(opts.dedupeKey);
    // A reroll key that is not an event id (Discord's reactions have none: image + person) would keep a person from
    // trying again for a day after their take failed (and was refunded). A duplicate whose job failed is therefore no
    // duplicate: the next try is keyed after it, so a replay of this very event is still charged once.
    for (let tries = 0; result.status === 'duplicate' && tries < 5 && (await this.failed(result.jobId)); tries++) {
      result = await again(`${opts.dedupeKey}:after:${result.jobId}`);
    }
    return result;
  }

  /**
   * The request with its images checked. A reroll reuses its original request: its stored images must still be there
   * (an expired one is a clear "attach it again"), its links are not fetched again (their sizes stay unknown).
   */
  private prepareImages(request: FluxRequest, opts: SubmitOptions): Promise<PreparedRequest> {
    const references = this.options.references;
    if (!references) return Promise.resolve({ request, sizes: [] });
    if (opts.kind === 'reroll') return references.check(request);
    return references.prepare(request, opts.imageNames ? { names: opts.imageNames } : {});
  }

  private async failed(jobId: string): Promise<boolean> {
    const job = await this.options.queue.getJob(jobId);
    return (await job?.getState()) === 'failed';
  }

  /** Cancels a queued job at once (refunded), or asks the worker running it to stop. Only the owner or an admin may. */
  async cancel(jobId: string, by: Requester | { admin: true }): Promise<CancelResult> {
    const job = await this.options.queue.getJob(jobId);
    if (!job) return { status: 'not_found' };
    if (!('admin' in by) && userKey(job.data.requester) !== userKey(by)) return { status: 'not_owner' };
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return { status: 'finished' };
    // The image exists (it waits for a delivery retry): it is paid for, so it is delivered and charged, not canceled.
    if (allImagesExist(job.data)) return { status: 'finished' };
    // Some of a gallery's images exist: those are paid for, so the job is not removed; told to stop, it delivers them
    // and gives back the rest (the flag is read when it runs again).
    if (storedParts(job.data) > 0) {
      await this.options.cancels.request(jobId);
      return { status: 'canceling' };
    }
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed' || state === 'waiting-children') {
      try {
        await job.remove();
        await this.options.quotas.release(jobId, 'refunded');
        return { status: 'canceled' };
      } catch {
        // Taken by a worker in the meantime (a locked job cannot be removed): cancel it there.
      }
    }
    await this.options.cancels.request(jobId);
    return { status: 'canceling' };
  }
}

/** `work`, or a SubmitExpired rejection once `ms` have passed (the work itself goes on; its result is dropped). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SubmitExpired(ms)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
