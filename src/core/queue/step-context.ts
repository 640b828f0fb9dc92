import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { InputImageStore } from '../images/input-store.js';
import type { PriceTable } from '../prices.js';
import type { ImageStash } from '../jobs/image-stash.js';
import type { JobRecordStore } from '../jobs/job-records.js';
import type { PipelineMetrics } from '../metrics.js';
import type { DeliveryPort, Platform } from '../ports.js';
import type { CompletionNotifier, ImageProvider } from '../providers/provider.js';
import type { ProviderRoute } from '../providers/routing.js';
import type { AdmissionGate } from './admission.js';
import type { ImageSlots } from './image-slots.js';
import type { GenerationJobData, GenerationJobResult } from './job-data.js';
import type { ProviderLimit, ProviderLimiter } from './provider-limiter.js';
import type { RetryPolicy } from './retry-policy.js';
import type { StepWrites } from './step-writes.js';
import type { CancelBus } from './cancel-bus.js';

/* What the steps of one generation job share: their dependencies, the job's context, and the hand-back signal. */

export interface StepDeps {
  /** Bounds the images this worker holds in memory at once (see ImageSlots). */
  imageSlots?: ImageSlots;
  /** Where pipeline measurements go (Prometheus in the app). */
  metrics?: PipelineMetrics;
  providers: readonly ImageProvider[];
  /** A job's failover list for its request (PROVIDER_ROUTING); absent: `providers` as listed. */
  route?: ProviderRoute;
  deliveries: Partial<Record<Platform, DeliveryPort>>;
  quotas: AdmissionGate;
  records: JobRecordStore;
  stash: ImageStash;
  /** The price table: what an image costs when its provider does not say (settled against the job's estimate). */
  prices?: Pick<PriceTable, 'settled'>;
  /** Puts stored image prompts (requests carry only their reference) back into the request for the provider. */
  inputs?: Pick<InputImageStore, 'resolve'>;
  logger: Logger;
  limiter?: ProviderLimiter;
  limits?: Partial<Record<string, ProviderLimit>>;
  policy?: RetryPolicy;
  /** Webhook URL for a job's provider call (set when PUBLIC_URL is configured). */
  webhookUrl?: (jobId: string, provider: string) => string | undefined;
  /** With a webhook URL: the wait between polls that a webhook for the prediction ends early. */
  completion?: (jobId: string, provider: string) => CompletionNotifier | undefined;
  /** The worker's batched per-job writes (image + checkpoint; delivered + record + release). */
  writes: StepWrites;
  /** Cancels left as a flag (the job was locked when the person canceled): read when a job runs again. */
  cancels?: Pick<CancelBus, 'isRequested'>;
  /** Called with stage changes for status messages; throttled by the caller. */
  onStage?: (job: Job<GenerationJobData>, progress: JobProgress) => void;
  /**
   * Like onStage, for progress written together with a checkpoint: returns the progress to write when the throttle
   * lets it through (and counts it as sent), undefined when there is nothing to send.
   */
  claimStage?: (job: Job<GenerationJobData>, progress: JobProgress) => JobProgress | undefined;
}

export interface JobProgress {
  stage: 'generating' | 'delivering';
  provider?: string;
  queuePosition?: number;
  fraction?: number;
}

/** Thrown to hand a job back (shutdown deadline passed): the job goes back to the queue and resumes elsewhere. */
export class HandBack extends Error {
  constructor() {
    super('worker shutting down; job handed back');
  }
}

/**
 * `work`, or a HandBack rejection as soon as `handBack` aborts. Not `Promise.race` with a worker-wide promise: a
 * promise that never settles keeps every race's reaction, and with it every job's result (its image), for the
 * worker's lifetime. The listener here is removed as soon as the work settles.
 */
export function unlessHandedBack<T>(work: Promise<T>, handBack: AbortSignal): Promise<T> {
  if (handBack.aborted) return Promise.reject(new HandBack());
  return new Promise<T>((resolve, reject) => {
    const onHandBack = () => reject(new HandBack());
    handBack.addEventListener('abort', onHandBack, { once: true });
    work.then(
      (value) => {
        handBack.removeEventListener('abort', onHandBack);
        resolve(value);
      },
      (err: unknown) => {
        handBack.removeEventListener('abort', onHandBack);
        reject(err);
      },
    );
  });
}

export type StepContext = { job: Job<GenerationJobData, GenerationJobResult>; token: string | undefined; data: GenerationJobData; log: Logger };
