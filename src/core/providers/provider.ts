import type { ProviderName } from '../models.js';
import type { FluxRequest } from '../request.js';

/**
 * Where a provider's generation stands, saved by the worker in the job (`job.updateData`) as soon as it exists, so
 * a worker that replaces a crashed one resumes the same prediction instead of paying for a new one.
 */
export interface ProviderCheckpoint {
  provider: ProviderName;
  /** The provider's prediction / request / task id. */
  id: string;
  /** For providers whose status lives at a URL of their choosing (BFL's `polling_url`). */
  pollUrl?: string | undefined;
  /** The provider-side model identifier the prediction was created with (fal needs it to build status URLs). */
  modelId?: string | undefined;
}

export interface ProviderProgress {
  /** `queued` with a position, `running` with an optional 0..1 fraction. */
  state: 'queued' | 'running';
  queuePosition?: number;
  fraction?: number;
}

export interface GenerateOptions {
  /** Aborting cancels the generation at the provider (where it can be canceled) and rejects with GenerationCanceled. */
  signal?: AbortSignal;
  /** Called once the provider has assigned an id; the caller persists it. Awaited before polling continues. */
  checkpoint?: (checkpoint: ProviderCheckpoint) => Promise<void> | void;
  /** A checkpoint saved by an earlier attempt: poll it instead of creating a new prediction. */
  resume?: ProviderCheckpoint;
  /**
   * An earlier run of this job may have created a prediction that was never checkpointed (it crashed during the create,
   * or the create's answer was lost): before creating, a provider that can list its predictions looks for that one
   * and resumes it, so it is not paid for twice. Given only when this is not the job's first run (the look costs a
   * request); providers that cannot look ignore it (see the README's provider notes).
   */
  lookup?: PredictionLookup;
  /** Provider-side progress (queue position, percent), for status messages. */
  onProgress?: (progress: ProviderProgress) => void;
  /**
   * Awaited right before the output image is downloaded (or drawn): resolves when the worker may hold one more image
   * in memory. Many generations can wait on a provider at once cheaply; holding their images all at once cannot.
   */
  imageSlot?: () => Promise<void>;
  /** Webhook URL the provider should call on completion (only when `PUBLIC_URL` is set). */
  webhookUrl?: string;
  /**
   * Given with `webhookUrl`: the pause between two status checks, which ends early when the provider's webhook for
   * the prediction arrives. Without it providers sleep their poll interval.
   */
  completion?: CompletionNotifier;
}

/** Where to look for a prediction an earlier run created but never checkpointed. */
export interface PredictionLookup {
  /** No earlier run can have created it before this moment (ms since the epoch): the job's submission. */
  since: number;
}

/** What a provider's webhook reported, handed to the provider waiting on that prediction. */
export interface CompletionNotice {
  /** The provider's own payload when it is trusted as is (a signed Replicate prediction); else only a wake-up. */
  payload?: unknown;
}

/**
 * The wait between status polls when a webhook is expected. Resolves with a notice as soon as the webhook for `id`
 * has arrived (also when it arrived before the call), else with undefined after a fallback interval of at least
 * `pollIntervalMs` (usually much longer: a lost webhook is the rare case). Rejects with GenerationCanceled on abort.
 */
export interface CompletionNotifier {
  waitForCompletion(id: string, pollIntervalMs: number, signal?: AbortSignal): Promise<CompletionNotice | undefined>;
}

/** A finished image, downloaded at once (provider URLs expire) and verified to decode. */
export interface GeneratedImage {
  bytes: Buffer;
  /** `image/png`, `image/jpeg` or `image/webp`. */
  contentType: string;
  format: 'png' | 'jpg' | 'webp';
  width: number;
  height: number;
  /** The seed actually used (providers may report it; else the requested one). */
  seed: number;
  provider: ProviderName;
  /** The provider's prediction id. */
  predictionId: string;
  /** The provider flagged the output as possibly NSFW. */
  nsfw: boolean;
  /** Milliseconds from the call (or resume) to the downloaded image. */
  ms: number;
  /**
   * What the provider says this image cost, in US dollars, when it says (BFL reports credits for FLUX.2). Absent: the
   * bot prices the image from its price table.
   */
  costUsd?: number;
}

/** One FLUX API. Implementations never read the environment; they receive their settings in constructor options. */
export interface ImageProvider {
  readonly name: ProviderName;
  /** Throws UnsupportedByProvider when this provider cannot serve the request's model or one of its fields. */
  generate(request: FluxRequest, options?: GenerateOptions): Promise<GeneratedImage>;
  /**
   * Throws UnsupportedByProvider, without any I/O, when `generate` would refuse the request's model or one of its
   * fields (reference images included). Lets a wrapper refuse before it fetches anything on the provider's behalf.
   */
  check?(request: FluxRequest): void;
  /**
   * Whether this provider makes a gallery's `request.count` images in one call for this request (fal's `num_images`
   * on the endpoints that have it). Absent or false: the worker makes a gallery one call per image.
   */
  makesMany?(request: FluxRequest): boolean;
  /**
   * Makes `request.count` images in one call (only when `makesMany(request)`), in order, with one checkpoint for the
   * call: a resumed call yields the same images. Fewer images than asked is an error (GenerationFailed).
   */
  generateMany?(request: FluxRequest, options?: GenerateOptions): Promise<GeneratedImage[]>;
}
