/**
 * Queue benchmarks (issue 3): submit latency under 200 concurrent submits, pipeline throughput against raw BullMQ on
 * the same Redis in the same run, Redis commands per job and CPU milliseconds per job.
 *
 *   npm run bench:queue            (Redis on 127.0.0.1:6379; everything else is local)
 *
 * The pipeline is the real one: admission Lua → BullMQ → worker → the real Replicate client against the local
 * Replicate fake (in its own process) answering at once with a small image → an in-memory delivery. Prints JSON.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { ReplicateProvider } from '../src/core/providers/replicate/replicate-provider.js';
import { parseFluxRequest } from '../src/core/request.js';
import { MemoryDelivery } from '../test/fakes/memory-delivery.js';
import { dropPrefix } from '../test/helpers/core.js';
import { startReplicateFakeProcess } from './child-fake.js';

const REDIS = 'redis://127.0.0.1:6379';
const JOBS = Number(process.argv[2] ?? 1000);
const CONCURRENCY = 50;
const logger = pino({ level: 'silent' });

function pct(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

function request() {
  const r = parseFluxRequest({ prompt: 'bench', aspect_ratio: 'custom', width: 256, height: 256, output_format: 'png' });
  if (!r.ok) throw r.error;
  return r.request;
}

function newCore(prefix: string, perUser = 1_000_000) {
  return new FluxbotCore({
    redisUrl: REDIS,
    logger,
    prefix,
    quotas: { dailyPerUser: perUser, concurrentPerUser: perUser, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 },
  });
}

/** 200 people submit at the same moment; each submit is timed from call to answer. */
async function submitLatency(): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const prefix = `{bench-submit-${randomUUID().slice(0, 6)}}`;
  const core = newCore(prefix);
  await core.ready();
  const req = request();
  // warm the Lua script cache and connections
  await core.service.submit(req, { platform: 'discord', guildId: 'g', userId: 'warm' }, { platform: 'discord', channelId: 'c' }, { dedupeKey: 'warm' });
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const t = performance.now();
        const r = await core.service.submit(req, { platform: 'discord', guildId: `g${i % 20}`, userId: `u${round}-${i}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `d${round}-${i}` });
        times.push(performance.now() - t);
        if (r.status !== 'queued') throw new Error(`unexpected ${r.status}`);
      }),
    );
  }
  times.sort((a, b) => a - b);
  await core.close(100);
  await dropPrefix(prefix);
  return { p50: pct(times, 50), p99: pct(times, 99), max: pct(times, 100), n: times.length };
}

/** Raw BullMQ: no-op jobs added in batches of 100 in flight and processed at the same concurrency. */
async function rawBullmq(redis: Redis): Promise<{ jobsPerSec: number; commandsPerJob: number; cpuMsPerJob: number }> {
  const prefix = `{bench-raw-${randomUUID().slice(0, 6)}}`;
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker('raw', async () => undefined, { connection, prefix, concurrency: CONCURRENCY, autorun: false });
  worker.on('completed', () => {
    if (++done === JOBS) finish();
  });
  await worker.waitUntilReady();
  const cmd0 = await commandsProcessed(redis);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  void worker.run();
  for (let i = 0; i < JOBS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, JOBS - i) }, (_, k) => queue.add('noop', { i: i + k }, { priority: 1, removeOnComplete: true })));
  }
  await finished;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cmds = (await commandsProcessed(redis)) - cmd0;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await dropPrefix(prefix);
  return { jobsPerSec: Math.round(JOBS / secs), commandsPerJob: Math.round((cmds / JOBS) * 10) / 10, cpuMsPerJob: Math.round(((cpu.user + cpu.system) / 1000 / JOBS) * 100) / 100 };
}

/** The whole pipeline: submit (admission) → worker → Replicate client → fake → in-memory delivery. */
async function pipeline(redis: Redis): Promise<{ jobsPerSec: number; commandsPerJob: number; cpuMsPerJob: number }> {
  const prefix = `{bench-pipe-${randomUUID().slice(0, 6)}}`;
  // The provider fake runs in its own process: the CPU measured here is the bot's and the worker's only.
  const fake = await startReplicateFakeProcess(0);
  const core = newCore(prefix);
  await core.ready();
  const delivery = new MemoryDelivery();
  const provider = new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, allowPrivateDownloads: true, pollIntervalMs: 50 });
  const worker = core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: CONCURRENCY, progressIntervalMs: 1000 });
  const req = request();
  const cmd0 = await commandsProcessed(redis);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await worker.start();
  for (let i = 0; i < JOBS; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, JOBS - i) }, (_, k) =>
        core.service.submit(req, { platform: 'discord', guildId: `g${(i + k) % 50}`, userId: `u${i + k}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `p${i + k}` }),
      ),
    );
  }
  await delivery.until(() => delivery.recorded.length === JOBS, 600_000);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cmds = (await commandsProcessed(redis)) - cmd0;
  await core.close(1000);
  fake.stop();
  await dropPrefix(prefix);
  return {
    jobsPerSec: Math.round(JOBS / secs),
    commandsPerJob: Math.round((cmds / JOBS) * 10) / 10,
    cpuMsPerJob: Math.round(((cpu.user + cpu.system) / 1000 / JOBS) * 100) / 100,
  };
}

const redis = new Redis(REDIS);
const submit = await submitLatency();
const raw = await rawBullmq(redis);
const pipe = await pipeline(redis);
redis.disconnect();
const result = {
  jobs: JOBS,
  workerConcurrency: CONCURRENCY,
  submitLatencyMs: submit,
  rawBullmq: raw,
  pipeline: pipe,
  pipelineVsRaw: Math.round((pipe.jobsPerSec / raw.jobsPerSec) * 1000) / 10 + '%',
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
