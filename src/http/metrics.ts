import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineMetrics } from '../core/metrics.js';
import type { GenerationQueue } from '../core/queue/generation-queue.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/**
 * Prometheus metrics (prom-client). Pipeline events come through the PipelineMetrics port; queue-wide numbers
 * (jobs by state, depth, workers) are read from Redis at scrape time, so every process reports the same totals.
 */
export class Metrics implements PipelineMetrics {
  readonly registry = new Registry();
  private readonly queueWaitH: Histogram;
  private readonly generationH: Histogram<'provider' | 'model'>;
  private readonly deliveryH: Histogram<'platform'>;
  private readonly providerErrors: Counter<'provider' | 'type'>;
  private readonly refusals: Counter<'reason'>;
  private readonly rerolls: Counter;
  private readonly finishedC: Counter<'outcome'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'fluxbot_process_' });
    this.queueWaitH = new Histogram({ name: 'fluxbot_queue_wait_seconds', help: 'Time jobs waited in the queue before a worker started them', buckets: LATENCY_BUCKETS, registers });
    this.generationH = new Histogram({ name: 'fluxbot_generation_seconds', help: 'Provider call to downloaded image', labelNames: ['provider', 'model'], buckets: LATENCY_BUCKETS, registers });
    this.deliveryH = new Histogram({ name: 'fluxbot_delivery_seconds', help: 'Posting the image to the platform', labelNames: ['platform'], buckets: LATENCY_BUCKETS, registers });
    this.providerErrors = new Counter({ name: 'fluxbot_provider_errors_total', help: 'Provider errors by type', labelNames: ['provider', 'type'], registers });
    this.refusals = new Counter({ name: 'fluxbot_quota_refusals_total', help: 'Submissions refused, by reason', labelNames: ['reason'], registers });
    this.rerolls = new Counter({ name: 'fluxbot_rerolls_total', help: 'Rerolls queued', registers });
    this.finishedC = new Counter({ name: 'fluxbot_jobs_finished_total', help: 'Jobs that ended, by outcome', labelNames: ['outcome'], registers });
  }

  /** Adds the queue-wide gauges, read from Redis at scrape time. */
  watchQueue(queue: GenerationQueue): this {
    const registers = [this.registry];
    new Gauge({
      name: 'fluxbot_jobs',
      help: 'Jobs in the queue by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'fluxbot_queue_depth',
      help: 'Jobs waiting to start (waiting, prioritized, delayed)',
      registers,
      async collect() {
        this.set(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed'));
      },
    });
    new Gauge({
      name: 'fluxbot_active_workers',
      help: 'Worker connections taking jobs',
      registers,
      async collect() {
        this.set(await queue.getWorkersCount());
      },
    });
    return this;
  }

  queueWait(ms: number): void {
    this.queueWaitH.observe(ms / 1000);
  }
  generation(provider: string, model: string, ms: number): void {
    this.generationH.observe({ provider, model }, ms / 1000);
  }
  delivery(platform: string, ms: number): void {
    this.deliveryH.observe({ platform }, ms / 1000);
  }
  providerError(provider: string, code: string): void {
    this.providerErrors.inc({ provider, type: code });
  }
  refusal(reason: string): void {
    this.refusals.inc({ reason });
  }
  reroll(): void {
    this.rerolls.inc();
  }
  finished(outcome: 'delivered' | 'failed'): void {
    this.finishedC.inc({ outcome });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
