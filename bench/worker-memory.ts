/**
 * Peak memory of ONE worker process holding 500 generations in flight (issue 6; target: under 300 MB RSS).
 *
 *   npx tsx bench/worker-memory.ts [jobs=500] [--latency=10000] [--format=webp|png] [--image-kb=N] [--redis=…]
 *
 * Three processes: this one (submits the jobs, samples the worker's /proc/<pid>/status), the Replicate fake (its own
 * process, every prediction takes `--latency` ms, answered through `Prefer: wait` as Replicate does), and the worker:
 * wired as `ROLE=worker` wires it in src/main.ts (config → providers from the registry → core with Prometheus
 * metrics → worker with WORKER_CONCURRENCY=jobs, PROVIDER_CONCURRENCY=jobs), delivering to a port that counts and
 * drops the image (a platform upload is outside this process's memory question). Prints JSON: RSS before, while
 * all jobs are in flight (max of the samples), and the process's high-water mark (VmHWM, which also covers the
 * completion burst: every download, decode and delivery of the 500 images in the same second).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { FluxbotCore } from '../src/core/core.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../src/core/ports.js';
import { createProviders } from '../src/core/providers/registry.js';
import { parseFluxRequest } from '../src/core/request.js';
import { Metrics } from '../src/http/metrics.js';
import sharp from 'sharp';
import { ReplicateFake } from '../test/fakes/replicate-fake.js';
import { startReplicateFakeProcess } from './child-fake.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? 500);
const LATENCY_MS = Number(flag('latency') ?? 10_000);
/** `--image-kb=N`: the fake serves photo-like PNGs of about N KB instead of its flat-colour ones (a few KB). */
const IMAGE_KB = Number(flag('image-kb') ?? 0);
/** `--format=webp|png`: what the jobs ask for (webp is the bot's default). */
const FORMAT = flag('format') ?? 'webp';
const logger = pino({ level: 'silent' });
const QUOTAS = { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 };

/** Counts deliveries and drops the bytes; tells the parent on stdout. */
class CountingDelivery implements DeliveryPort {
  private n = 0;
  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    this.n++;
    process.stdout.write(`delivered ${this.n}\n`);
    return { platform: d.target.platform, messageId: `m${this.n}`, channelId: d.target.channelId };
  }
  async notifyFailure(job: { jobId: string }): Promise<void> {
    process.stdout.write(`failed ${job.jobId}\n`);
  }
}

/** The worker process: the same wiring as ROLE=worker in src/main.ts. */
async function child(): Promise<void> {
  const [prefix, baseUrl, token, concurrency] = args.slice(1);
  const config = loadConfig({
    ROLE: 'worker',
    REDIS_URL: REDIS,
    PROVIDERS: 'replicate',
    REPLICATE_API_URL: baseUrl!,
    REPLICATE_API_TOKEN: token!,
    ALLOW_PRIVATE_URLS: 'true',
    WORKER_CONCURRENCY: concurrency!,
    PROVIDER_CONCURRENCY: concurrency!,
    PROVIDER_RATE_PER_MINUTE: '100000',
    ...(process.env.IMAGE_CONCURRENCY ? { IMAGE_CONCURRENCY: process.env.IMAGE_CONCURRENCY } : {}),
  });
  const metrics = new Metrics();
  const core = new FluxbotCore({ metrics, redisUrl: config.REDIS_URL, prefix: prefix!, logger, quotas: QUOTAS });
  await core.ready();
  const providers = createProviders(config);
  const limits = Object.fromEntries(providers.map((p) => [p.name, { concurrency: config.PROVIDER_CONCURRENCY, rate: config.PROVIDER_RATE_PER_MINUTE, windowMs: 60_000 }]));
  const worker = core.createWorker({ providers, deliveries: { discord: new CountingDelivery() }, concurrency: config.WORKER_CONCURRENCY, imageConcurrency: config.IMAGE_CONCURRENCY, limits });
  await worker.start();
  metrics.watchQueue(core.queue);
  process.stdout.write('ready\n');
  process.stdin.on('end', () => void core.close(1000).then(() => process.exit(0)));
  process.stdin.resume();
}

interface ProcMemory {
  rssMb: number;
  hwmMb: number;
}

async function procMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb('VmRSS') / 102.4) / 10, hwmMb: Math.round(kb('VmHWM') / 102.4) / 10 };
}

async function parent(): Promise<void> {
  const prefix = `{bench-mem-${randomUUID().slice(0, 6)}}`;
  const fake = await startFake();
  const worker = spawn(process.execPath, ['--import', 'tsx', 'bench/worker-memory.ts', '--child', prefix, fake.baseUrl, fake.token, String(JOBS), `--redis=${REDIS}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let delivered = 0;
  let failed = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let buffer = '';
  worker.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') ready();
      else if (line.startsWith('delivered')) delivered++;
      else if (line.startsWith('failed')) failed++;
    }
  });
  await isReady;
  // Let the worker settle (module loading, connections) before the baseline.
  await new Promise((r) => setTimeout(r, 2000));
  const before = await procMemory(worker.pid!);

  const core = new FluxbotCore({ redisUrl: REDIS, logger, prefix, quotas: QUOTAS });
  await core.ready();
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn, memory bench', output_format: FORMAT });
  if (!parsed.ok) throw parsed.error;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: JOBS }, (_, i) =>
      core.service.submit(parsed.request, { platform: 'discord', guildId: `g${i % 20}`, userId: `u${i}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `mem-${i}` }),
    ),
  );

  // Sample while the jobs are in flight: from submission until the first image is delivered.
  let inFlightPeak = before;
  let maxActive = 0;
  let allActiveAtMs: number | undefined;
  while (delivered + failed === 0 && performance.now() - t0 < LATENCY_MS * 3) {
    const [mem, counts] = await Promise.all([procMemory(worker.pid!), core.queue.getJobCounts('active')]);
    if (mem.rssMb > inFlightPeak.rssMb) inFlightPeak = mem;
    maxActive = Math.max(maxActive, counts.active ?? 0);
    if (allActiveAtMs === undefined && (counts.active ?? 0) >= JOBS) allActiveAtMs = Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  while (delivered + failed < JOBS && performance.now() - t0 < LATENCY_MS * 6 + 60_000) await new Promise((r) => setTimeout(r, 100));
  const after = await procMemory(worker.pid!);

  worker.stdin!.end();
  await new Promise((r) => worker.once('exit', r));
  fake.stop();
  await core.queue.obliterate({ force: true }).catch(() => undefined);
  await core.close(1000);
  const result = {
    jobs: JOBS,
    providerLatencyMs: LATENCY_MS,
    format: FORMAT,
    imageBytes: fake.imageBytes ?? 'flat-colour image from the fake (a few KB)',
    allJobsActiveAfterMs: allActiveAtMs ?? null,
    maxActiveSeen: maxActive,
    delivered,
    failed,
    workerRssBeforeMb: before.rssMb,
    workerRssPeakWhileInFlightMb: inFlightPeak.rssMb,
    workerRssAfterMb: after.rssMb,
    workerPeakRssVmHWMMb: after.hwmMb,
    targetMb: 300,
    pass: after.hwmMb < 300,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/**
 * The fake with photo-sized outputs: each image the fake draws is swapped for a noisy 1024×1024 PNG of about
 * `IMAGE_KB` (FLUX PNGs are 1–2 MB; its WebPs a few hundred KB), so downloads and decodes carry realistic bytes.
 */
async function heavyFake(): Promise<void> {
  const fake = await ReplicateFake.start({ latencyMs: LATENCY_MS });
  const side = 1024;
  // Noise with `bits` of entropy per channel compresses to roughly bits/8 of the raw size.
  const bits = Math.max(1, Math.min(8, Math.round((IMAGE_KB * 1024 * 8) / (side * side * 3))));
  const raw = Buffer.alloc(side * side * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(Math.random() * 2 ** bits) << (8 - bits);
  const source = sharp(raw, { raw: { width: side, height: side, channels: 3 } });
  const heavy: Record<string, Buffer> = {
    'image/png': await source.clone().png({ compressionLevel: 6 }).toBuffer(),
    'image/webp': await source.clone().webp({ quality: 90 }).toBuffer(),
  };
  const files = (fake as unknown as { files: Map<string, { bytes: Buffer; contentType: string }> }).files;
  const set = files.set.bind(files);
  files.set = (name, file) => set(name, { ...file, bytes: heavy[file.contentType] ?? file.bytes });
  const imageBytes = heavy[FORMAT === 'png' ? 'image/png' : 'image/webp']!.length;
  process.stdout.write(`${JSON.stringify({ baseUrl: fake.baseUrl, token: fake.token, imageBytes })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

async function startFake(): Promise<{ baseUrl: string; token: string; imageBytes?: number; stop: () => void }> {
  if (IMAGE_KB <= 0) return startReplicateFakeProcess(LATENCY_MS);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/worker-memory.ts', '--fake', `--latency=${LATENCY_MS}`, `--image-kb=${IMAGE_KB}`, `--format=${FORMAT}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve(String(d))));
  return { ...(JSON.parse(line) as { baseUrl: string; token: string; imageBytes: number }), stop: () => proc.kill() };
}

if (args[0] === '--child') await child();
else if (args[0] === '--fake') await heavyFake();
else await parent();
