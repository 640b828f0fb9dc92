/**
 * What the pipeline reports about itself. The core calls this port; src/http/metrics.ts implements it with
 * prom-client. Every method is cheap and synchronous; a no-op default keeps the core free of the metrics library.
 */
export interface PipelineMetrics {
  /** A job started: time it waited in the queue. */
  queueWait(ms: number): void;
  /** A provider returned an image. */
  generation(provider: string, model: string, ms: number): void;
  /** A platform accepted the image. */
  delivery(platform: string, ms: number): void;
  /** A provider call failed, by error code (rate_limited, unavailable, moderated, ...). */
  providerError(provider: string, code: string): void;
  /** A submission was refused, by reason. */
  refusal(reason: string): void;
  /** A reroll was queued. */
  reroll(): void;
  /** A job ended: delivered, or failed (refunded). */
  finished(outcome: 'delivered' | 'failed'): void;
  /** A delivered image's cost was settled (US dollars), once per image. */
  spend(provider: string, model: string, usd: number): void;
}

export const noMetrics: PipelineMetrics = {
  queueWait: () => undefined,
  generation: () => undefined,
  delivery: () => undefined,
  providerError: () => undefined,
  refusal: () => undefined,
  reroll: () => undefined,
  finished: () => undefined,
  spend: () => undefined,
};
