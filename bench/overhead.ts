/**
 * End-to-end overhead over the provider's own latency (issue 6; target: under 5 %).
 *
 *   npx tsx bench/overhead.ts [jobs=300] [--latency=2000] [--concurrency=20] [--redis=redis://127.0.0.1:6379]
 *
 * The Replicate fake runs in its own process and takes exactly `--latency` ms per prediction (answered through
 * `Prefer: wait`, as Replicate does). This process runs what ROLE=all runs for one job: GenerationService.submit
 * (admission Lua → BullMQ) → GenerationWorker → the real ReplicateProvider over HTTP → download and decode →
 * delivery → record and quota release. Each job is timed from the submit call to the moment the delivery port
 * receives its image; overhead = that time minus the provider latency, as a share of the provider latency.
 * `--concurrency` jobs are kept in flight (each finished job is replaced at once). Prints JSON: p50/p99/max.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../src/core/ports.js';
import { ReplicateProvider } from '../src/core/providers/replicate/replicate-provider.js';
import { parseFluxRequest } from '../src/core/request.js';
import { startReplicateFakeProcess } from './child-fake.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? 300);
const LATENCY_MS = Number(flag('latency') ?? 2000);
const CONCURRENCY = Number(flag('concurrency') ?? 20);
/** One untimed wave first: the fake draws (and caches) its first image, Lua scripts load, connections warm up. */
const WARMUP = CONCURRENCY;
const logger = pino({ level: 'silent' });

/** Notes when each job's image reaches the platform port. */
class TimedDelivery implements DeliveryPort {
  readonly at = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();
  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    this.at.set(d.jobId, performance.now());
    this.waiters.get(d.jobId)?.();
    return { platform: d.target.platform, messageId: `m-${d.jobId}`, channelId: d.target.channelId };
  }
  async notifyFailure(job: { jobId: string }): Promise<void> {
    throw new Error(`job ${job.jobId} failed`);
  }
  delivered(jobId: string): Promise<void> {
    if (this.at.has(jobId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(jobId, resolve));
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const prefix = `{bench-overhead-${randomUUID().slice(0, 6)}}`;
const fake = await startReplicateFakeProcess(LATENCY_MS);
const core = new FluxbotCore({
  redisUrl: REDIS,
  logger,
  prefix,
  quotas: { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 },
});
await core.ready();
const delivery = new TimedDelivery();
const provider = new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, allowPrivateDownloads: true });
// Default polling settings, default worker options except the concurrency: what a deployment runs.
await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: Math.max(CONCURRENCY, 50) }).start();
const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn, overhead bench' });
if (!parsed.ok) throw parsed.error;
const request = parsed.request;

let next = 0;
const totals: number[] = [];
async function one(i: number): Promise<void> {
  const t0 = performance.now();
  const result = await core.service.submit(request, { platform: 'discord', guildId: `g${i % 10}`, userId: `u${i}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `o${i}` });
  if (result.status !== 'queued') throw new Error(`job ${i} not queued: ${result.status}`);
  await delivery.delivered(result.jobId);
  if (i >= WARMUP) totals.push(delivery.at.get(result.jobId)! - t0);
}
async function lane(): Promise<void> {
  while (next < JOBS + WARMUP) await one(next++);
}
await Promise.all(Array.from({ length: WARMUP }, () => one(next++)));
const started = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, lane));
const wallSecs = (performance.now() - started) / 1000;

totals.sort((a, b) => a - b);
const overhead = totals.map((t) => t - LATENCY_MS);
const share = (ms: number) => `${Math.round((ms / LATENCY_MS) * 1000) / 10}%`;
const round = (ms: number) => Math.round(ms * 10) / 10;
const result = {
  jobs: totals.length,
  warmupJobs: WARMUP,
  concurrency: CONCURRENCY,
  providerLatencyMs: LATENCY_MS,
  endToEndMs: { p50: round(pct(totals, 50)), p99: round(pct(totals, 99)), max: round(pct(totals, 100)) },
  overheadMs: { min: round(overhead[0]!), p50: round(pct(overhead, 50)), p99: round(pct(overhead, 99)), max: round(pct(overhead, 100)) },
  /** Jobs whose overhead passed 5 % of the provider latency. */
  overTarget: overhead.filter((o) => o >= LATENCY_MS * 0.05).length,
  overheadShare: { p50: share(pct(overhead, 50)), p99: share(pct(overhead, 99)) },
  targetShare: '5%',
  pass: pct(overhead, 50) / LATENCY_MS < 0.05 && pct(overhead, 99) / LATENCY_MS < 0.05,
  wallSecs: round(wallSecs),
};
await core.queue.obliterate({ force: true }).catch(() => undefined);
await core.close(1000);
fake.stop();
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
