/**
 * One worker process of the cluster load bench (bench/cluster-load.ts): the real core and GenerationWorker with the
 * offline preview provider at PREVIEW_LATENCY_MS, delivering to the bench's HTTP sink (SinkDelivery). Configured by
 * environment (bench-only code; the app reads env in config.ts only):
 *
 *   REDIS_URL or REDIS_CLUSTER_NODES, PREFIX, SINK_URL, CONCURRENCY (50), PREVIEW_LATENCY_MS (2000)
 *
 * Talks to its parent over IPC: sends `{ ready: true }` once the worker runs; answers `'report'` with the queue waits
 * the worker measured (its own `PipelineMetrics.queueWait`, what /metrics exports) and its outcome counts; exits
 * after `'stop'` once the core is closed.
 */
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { noMetrics, type PipelineMetrics } from '../src/core/metrics.js';
import { PreviewProvider } from '../src/core/providers/preview/preview-provider.js';
import { parseRedisNodes } from '../src/core/redis-connection.js';
import { SinkDelivery } from '../test/fakes/sink-delivery.js';

const env = process.env;
const queueWaits: number[] = [];
const outcomes = { delivered: 0, failed: 0 };
const metrics: PipelineMetrics = {
  ...noMetrics,
  queueWait: (ms) => void queueWaits.push(ms),
  finished: (outcome) => void outcomes[outcome]++,
};
const core = new FluxbotCore({
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  ...(env.REDIS_CLUSTER_NODES ? { redis: { clusterNodes: parseRedisNodes(env.REDIS_CLUSTER_NODES) } } : {}),
  logger: pino({ level: env.BENCH_LOG_LEVEL ?? 'silent' }),
  prefix: env.PREFIX!,
  metrics,
  quotas: { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 },
});
await core.ready();
const worker = core.createWorker({
  providers: [new PreviewProvider({ latencyMs: Number(env.PREVIEW_LATENCY_MS ?? 2000) })],
  deliveries: { discord: new SinkDelivery(env.SINK_URL!) },
  concurrency: Number(env.CONCURRENCY ?? 50),
});
await worker.start();
process.send!({ ready: true });

process.on('message', (message) => {
  if (message === 'report') process.send!({ queueWaits, outcomes, cpuMs: cpuMs() });
  if (message === 'stop') {
    core
      .close(5000)
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  }
});

function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}
