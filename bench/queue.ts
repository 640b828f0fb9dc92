/**
 * Queue benchmarks (issue 3): submit latency under 200 concurrent submits, pipeline throughput against raw BullMQ on
 * the same Redis in the same run, Redis commands per job and CPU milliseconds per job.
 *
 *   npm run bench:queue [-- jobs] [--runs=N] [--warmup=N] [--redis=redis://host:port] [--only=submit|raw|pipeline]
 *
 * Defaults: 3000 jobs, 1 run, 300 warm-up jobs, Redis on 127.0.0.1:6379 (a private redis-server gives exact command
 * counts: the server's counter also counts other clients). `--only` runs one part (for profiling with --cpu-prof).
 *
 * The pipeline is the real one: admission Lua → BullMQ → worker → the real Replicate client against the local
 * Replicate fake (in its own process) answering at once with a small image → an in-memory delivery. Raw BullMQ and
 * the pipeline are measured the same way: jobs submitted in batches of 100, processed at the same worker
 * concurrency, after the same number of untimed warm-up jobs (so both are measured warm). Prints JSON.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { ReplicateProvider } from '../src/core/providers/replicate/replicate-provider.js';
import { parseFluxRequest } from '../src/core/request.js';
import { MemoryDelivery } from '../test/fakes/memory-delivery.js';
import { dropPrefix } from '../test/helpers/core.js';
import { startReplicateFakeProcess } from './child-fake.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const REDIS_URL = new URL(REDIS);
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? 3000);
const RUNS = Number(flag('runs') ?? 1);
const WARMUP = Number(flag('warmup') ?? 300);
const ONLY = flag('only');
const CONCURRENCY = 50;
const BATCH = 100;
const logger = pino({ level: 'silent' });

/**
 * Commands this process sends (round trips; a Lua script is one), counted on every ioredis connection, BullMQ's
 * included. The server's own counter (INFO) also counts the commands a script runs, and other clients' commands.
 */
let sent = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...a: Parameters<Redis['sendCommand']>) {
  sent++;
  return sendCommand.apply(this, a);
};

interface Throughput {
  jobsPerSec: number;
  /** Round trips this process made per job. */
  roundTripsPerJob: number;
  /** Commands Redis executed per job (Lua scripts' inner commands included; other clients' too on a shared Redis). */
  redisCommandsPerJob: number;
  cpuMsPerJob: number;
  /** CPU ms per job of the Redis server (INFO used_cpu_*; on a shared Redis other clients' work too). */
  redisCpuMsPerJob: number;
  /** CPU ms per job of the provider fake's process (pipeline only). */
  fakeCpuMsPerJob?: number;
  /** Share of the machine's CPU time (all cores) that was busy while this part ran (/proc/stat). */
  machineBusy: string;
}

function pct(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1]);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
}

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 100 Hz here). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy and total jiffies of all cores together (/proc/stat's first line). */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - (cpu[4] ?? 0), total };
}

/**
 * Times `work` (which handles `jobs` jobs): wall clock, this process's CPU, round trips and server commands; and the
 * CPU of the Redis server, of the fake's process (`fakePid`) and of the whole machine, to show where the cores went.
 */
async function measure(redis: Redis, jobs: number, work: () => Promise<void>, fakePid?: number): Promise<Throughput> {
  const cmd0 = await commandsProcessed(redis);
  const redisCpu0 = await redisCpuMs(redis);
  const fake0 = fakePid === undefined ? 0 : processCpuMs(fakePid);
  const machine0 = machineJiffies();
  const sent0 = sent;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineJiffies();
  const fake1 = fakePid === undefined ? 0 : processCpuMs(fakePid);
  const trips = sent - sent0;
  const cmds = (await commandsProcessed(redis)) - cmd0 - 2; // minus the two INFOs above
  const redisCpu = (await redisCpuMs(redis)) - redisCpu0;
  const round = (n: number, d: number) => Math.round(n * d) / d;
  return {
    jobsPerSec: Math.round(jobs / secs),
    roundTripsPerJob: round(trips / jobs, 10),
    redisCommandsPerJob: round(cmds / jobs, 10),
    cpuMsPerJob: round((cpu.user + cpu.system) / 1000 / jobs, 100),
    redisCpuMsPerJob: round(redisCpu / jobs, 100),
    ...(fakePid === undefined ? {} : { fakeCpuMsPerJob: round((fake1 - fake0) / jobs, 100) }),
    machineBusy: `${Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100)}%`,
  };
}

/** Submits `count` jobs from `from` on, `BATCH` in flight at a time. */
async function inBatches(from: number, count: number, add: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = from; i < from + count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, from + count - i) }, (_, k) => add(i + k)));
  }
}

function request() {
  const r = parseFluxRequest({ prompt: 'bench', aspect_ratio: 'custom', width: 256, height: 256, output_format: 'png' });
  if (!r.ok) throw r.error;
  return r.request;
}

function newCore(prefix: string) {
  return new FluxbotCore({
    redisUrl: REDIS,
    logger,
    prefix,
    quotas: { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 },
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
  await dropPrefix(prefix, REDIS);
  return { p50: pct(times, 50), p99: pct(times, 99), max: pct(times, 100), n: times.length };
}

/** Raw BullMQ: no-op jobs (priority set, as ours have), added in batches and processed at the same concurrency. */
async function rawBullmq(redis: Redis): Promise<Throughput> {
  const prefix = `{bench-raw-${randomUUID().slice(0, 6)}}`;
  const connection = { host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let target = WARMUP;
  let reached!: () => void;
  let finished = new Promise<void>((r) => (reached = r));
  const worker = new Worker('raw', async () => undefined, { connection, prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done === target) reached();
  });
  const add = (i: number) => queue.add('noop', { i }, { priority: 1, removeOnComplete: true });
  await worker.waitUntilReady();
  await inBatches(0, WARMUP, add);
  if (WARMUP > 0) await finished;
  target = WARMUP + JOBS;
  finished = new Promise<void>((r) => (reached = r));
  const result = await measure(redis, JOBS, async () => {
    await inBatches(WARMUP, JOBS, add);
    await finished;
  });
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await dropPrefix(prefix, REDIS);
  return result;
}

/** The whole pipeline: submit (admission) → worker → Replicate client → fake → in-memory delivery. */
async function pipeline(redis: Redis): Promise<Throughput> {
  const prefix = `{bench-pipe-${randomUUID().slice(0, 6)}}`;
  // The provider fake runs in its own process: the CPU measured here is the bot's and the worker's only.
  const fake = await startReplicateFakeProcess(0);
  const core = newCore(prefix);
  await core.ready();
  const delivery = new MemoryDelivery();
  const provider = new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, allowPrivateDownloads: true, pollIntervalMs: 50 });
  const worker = core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: CONCURRENCY, progressIntervalMs: 1000 });
  const req = request();
  const submit = (i: number) =>
    core.service.submit(req, { platform: 'discord', guildId: `g${i % 50}`, userId: `u${i}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `p${i}` });
  await worker.start();
  await inBatches(0, WARMUP, submit);
  await delivery.until(() => delivery.recorded.length === WARMUP, 600_000);
  const result = await measure(redis, JOBS, async () => {
    await inBatches(WARMUP, JOBS, submit);
    await delivery.until(() => delivery.recorded.length === WARMUP + JOBS, 600_000);
  }, fake.child.pid);
  if (delivery.failures.length > 0) throw new Error(`${delivery.failures.length} jobs failed`);
  await core.close(1000);
  fake.stop();
  await dropPrefix(prefix, REDIS);
  return result;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const redis = new Redis(REDIS);
if (ONLY !== undefined) {
  const part = ONLY === 'pipeline' ? await pipeline(redis) : ONLY === 'raw' ? await rawBullmq(redis) : await submitLatency();
  process.stdout.write(`${JSON.stringify(part)}\n`);
} else {
  const submit = await submitLatency();
  const runs: Array<{ raw: Throughput; pipeline: Throughput; pipelineVsRaw: string }> = [];
  for (let r = 0; r < RUNS; r++) {
    const raw = await rawBullmq(redis);
    const pipe = await pipeline(redis);
    runs.push({ raw, pipeline: pipe, pipelineVsRaw: `${Math.round((pipe.jobsPerSec / raw.jobsPerSec) * 1000) / 10}%` });
  }
  const ratios = runs.map((r) => r.pipeline.jobsPerSec / r.raw.jobsPerSec);
  const result = {
    jobs: JOBS,
    warmupJobs: WARMUP,
    workerConcurrency: CONCURRENCY,
    redis: REDIS,
    submitLatencyMs: submit,
    runs,
    medianPipelineVsRaw: `${Math.round(median(ratios) * 1000) / 10}%`,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
redis.disconnect();
