import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueueStatsReader } from './queue-stats.js';
import type { PipelineMetrics } from '../core/metrics.js';
import type { GenerationQueue } from '../core/queue/generation-queue.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/**
 * Prometheus metrics (prom-client). Pipeline events come through the PipelineMetrics port; queue-wide numbers
 * (jobs by state, depth, workers) are read from Redis at scrape time, so every process reports the same totals;
 * default process metrics carry the one `fluxbot_` prefix too.
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
  private readonly spendC: Counter<'provider' | 'model'>;
  private queueRead: QueueStatsReader | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'fluxbot_' }); // fluxbot_process_cpu_seconds_total, …
    this.queueWaitH = new Histogram({ name: 'fluxbot_queue_wait_seconds', help: 'Time jobs waited in the queue before a worker started them', buckets: LATENCY_BUCKETS, registers });
    this.generationH = new Histogram({ name: 'fluxbot_generation_seconds', help: 'Provider call to downloaded image', labelNames: ['provider', 'model'], buckets: LATENCY_BUCKETS, registers });
    this.deliveryH = new Histogram({ name: 'fluxbot_delivery_seconds', help: 'Posting the image to the platform', labelNames: ['platform'], buckets: LATENCY_BUCKETS, registers });
    this.providerErrors = new Counter({ name: 'fluxbot_provider_errors_total', help: 'Provider errors by type', labelNames: ['provider', 'type'], registers });
    this.refusals = new Counter({ name: 'fluxbot_quota_refusals_total', help: 'Submissions refused, by reason', labelNames: ['reason'], registers });
    this.rerolls = new Counter({ name: 'fluxbot_rerolls_total', help: 'Rerolls queued', registers });
    this.finishedC = new Counter({ name: 'fluxbot_jobs_finished_total', help: 'Jobs that ended, by outcome', labelNames: ['outcome'], registers });
    this.spendC = new Counter({ name: 'fluxbot_spend_usd_total', help: 'What delivered images cost, US dollars, by provider and model', labelNames: ['provider', 'model'], registers });
  }

  /**
   * Adds the queue-wide gauges, read from Redis when scraped. The read waits at most `timeoutMs`: BullMQ's connection
   * holds commands through a Redis outage, and a scrape must still answer (within a second) with the process's own
   * numbers. Then the queue gauges are left out (no stale totals) and `fluxbot_queue_stats_up` is 0.
   */
  watchQueue(queue: GenerationQueue, options: { timeoutMs?: number } = {}): this {
    // Registered only while fresh: an unlabelled gauge that was reset would still show 0, a false "queue empty".
    const jobs = new Gauge({ name: 'fluxbot_jobs', help: 'Jobs in the queue by state', labelNames: ['state'], registers: [] });
    const depth = new Gauge({ name: 'fluxbot_queue_depth', help: 'Jobs waiting to start (waiting, prioritized, delayed)', registers: [] });
    const workers = new Gauge({ name: 'fluxbot_active_workers', help: 'Worker connections taking jobs', registers: [] });
    const up = new Gauge({ name: 'fluxbot_queue_stats_up', help: '1 when this scrape read the queue-wide numbers from Redis in time, else 0', registers: [this.registry] });
    this.queueRead = new QueueStatsReader(queue, options.timeoutMs ?? 500, (stats) => {
      up.set(stats ? 1 : 0);
      for (const [name, gauge] of [['fluxbot_jobs', jobs], ['fluxbot_queue_depth', depth], ['fluxbot_active_workers', workers]] as const) {
        const shown = this.registry.getSingleMetric(name) !== undefined;
        if (stats && !shown) this.registry.registerMetric(gauge);
        if (!stats && shown) this.registry.removeSingleMetric(name);
      }
      if (!stats) return;
      jobs.reset();
      for (const [state, n] of Object.entries(stats.counts)) jobs.set({ state }, n);
      depth.set(stats.depth);
      workers.set(stats.workers);
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
  spend(provider: string, model: string, usd: number): void {
    this.spendC.inc({ provider, model }, usd);
  }

  finished(outcome: 'delivered' | 'failed'): void {
    this.finishedC.inc({ outcome });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    await this.queueRead?.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
