/**
 * A worker process for crash and shutdown tests: the real core and the real Replicate client against the Replicate
 * fake, delivering to a SinkServer. Configured by environment (test-only code; the app reads env in config.ts only).
 */
import { pino } from 'pino';
import { FluxbotCore } from '../../src/core/core.js';
import { ReplicateProvider } from '../../src/core/providers/replicate/replicate-provider.js';
import { DEFAULT_RETRY_POLICY } from '../../src/core/queue/retry-policy.js';
import { SinkDelivery } from '../fakes/sink-delivery.js';

const env = process.env;
const logger = pino({ level: env.TEST_LOG_LEVEL ?? 'silent' });
const core = new FluxbotCore({
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  logger,
  prefix: env.PREFIX!,
  quotas: { dailyPerUser: 100, concurrentPerUser: 20, dailyPerGuild: 1000, concurrentPerGuild: 100 },
});
await core.ready();
const provider = new ReplicateProvider({
  baseUrl: env.REPLICATE_URL!,
  token: env.REPLICATE_TOKEN!,
  pollIntervalMs: Number(env.POLL_MS ?? 50),
  preferWaitSeconds: 1,
  ...(env.REQUEST_TIMEOUT_MS ? { requestTimeoutMs: Number(env.REQUEST_TIMEOUT_MS) } : {}),
  allowPrivateDownloads: true,
});
const worker = core.createWorker({
  providers: [provider],
  ...(env.RETRY_BASE_MS ? { policy: { ...DEFAULT_RETRY_POLICY, baseBackoffMs: Number(env.RETRY_BASE_MS), attemptsPerProvider: Number(env.RETRY_ATTEMPTS ?? 2) } } : {}),
  deliveries: { discord: new SinkDelivery(env.SINK_URL!) },
  lockDurationMs: Number(env.LOCK_MS ?? 1500),
  stalledIntervalMs: Number(env.STALLED_MS ?? 500),
  ...(env.WORKER_ID ? { workerId: env.WORKER_ID } : {}),
});
await worker.start();
// What it took back from dead predecessors of its WORKER_ID, and what BullMQ calls it: for the crash tests.
process.stdout.write(`reclaimed ${JSON.stringify({ ...worker.reclaimed, name: worker.worker.opts.name ?? '' })}\n`);
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  core
    .close(Number(env.SHUTDOWN_MS ?? 30_000))
    .then(() => process.exit(0))
    .catch(() => process.exit(1));
});
