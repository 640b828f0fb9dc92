/**
 * Recovery after SIGKILL, and what the lock settings cost Redis in steady state (issue 14).
 *
 *   npx tsx bench/recovery.ts [--runs=3] [--only=recovery|load] [--configs=before,after,short]
 *                             [--restart-delay=1000] [--workers=4] [--jobs=100] [--window=30000] [--redis=…]
 *
 * Recovery (one run per config and repetition, on the Redis at `--redis`, default 127.0.0.1:6379): a real worker
 * process (test/helpers/worker-process.ts: the real core and Replicate client, against the Replicate fake) takes a
 * job, checkpoints its prediction and is SIGKILLed while it polls; `--restart-delay` ms later (a restart policy's
 * pause) a replacement process starts. Measured from the replacement's spawn: when the job ran again (the job's
 * `processedOn`, written when a worker takes it) and when its image was delivered; also from the kill. Each run
 * checks that one prediction was created and the image posted once.
 *
 * Load (on a private redis-server, so every command counted is ours): `--workers` worker processes, idle (no job)
 * and busy (`--jobs` generations running across them, their predictions lasting longer than the window, polled every
 * 10 s over HTTP, so nothing but BullMQ's own lock and stalled traffic touches Redis). Redis commands per second over
 * `--window` ms from INFO `total_commands_processed` (commands inside Lua scripts included), and the script calls
 * (EVALSHA/EVAL) per second from INFO commandstats.
 *
 * Configs: `before` = the old defaults (lock 30 s, stalled check every 30 s, no worker identity); `after` = the new
 * defaults (the same lock settings; the worker has a WORKER_ID, which its replacement shares); `short` = the
 * alternative of shorter settings alone (lock 10 s renewed every 5 s, stalled check every 5 s, no identity);
 * `lock10` = `JOB_LOCK_MS=10000` without an identity (main.ts uses the setting for both; not run by default).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { FluxbotCore } from '../src/core/core.js';
import { parseFluxRequest } from '../src/core/request.js';
import { ReplicateFake } from '../test/fakes/replicate-fake.js';
import { SinkServer } from '../test/fakes/sink-delivery.js';
import { kill, startChild } from '../test/helpers/child.js';
import { dropPrefix, makeCore, person, target, testPrefix } from '../test/helpers/core.js';
import { PrivateRedis } from '../test/helpers/private-redis.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const RUNS = Number(flag('runs') ?? 3);
const ONLY = flag('only');
const RESTART_DELAY_MS = Number(flag('restart-delay') ?? 1000);
const WORKERS = Number(flag('workers') ?? 4);
const JOBS = Number(flag('jobs') ?? 100);
const WINDOW_MS = Number(flag('window') ?? 30_000);
const WORKER = 'test/helpers/worker-process.ts';
const QUOTAS = { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 };

interface Settings {
  label: string;
  lockMs: number;
  stalledMs: number;
  /** WORKER_ID of the killed worker and of its replacement (none: no take-back). */
  workerId?: string;
}
const CONFIGS: Record<string, Settings> = {
  before: { label: 'before: lock 30 s, stalled check 30 s, no WORKER_ID', lockMs: 30_000, stalledMs: 30_000 },
  after: { label: 'after: lock 30 s, stalled check 30 s, same WORKER_ID', lockMs: 30_000, stalledMs: 30_000, workerId: 'bench-worker' },
  short: { label: 'alternative: lock 10 s, stalled check 5 s, no WORKER_ID', lockMs: 10_000, stalledMs: 5_000 },
  // What an operator gets from JOB_LOCK_MS=10000 (main.ts uses it for both).
  lock10: { label: 'JOB_LOCK_MS=10000: lock 10 s, stalled check 10 s, no WORKER_ID', lockMs: 10_000, stalledMs: 10_000 },
};
const configs = (flag('configs') ?? 'before,after,short').split(',').map((name) => {
  const c = CONFIGS[name];
  if (!c) throw new Error(`unknown config ${name}: one of ${Object.keys(CONFIGS).join(', ')}`);
  return [name, c] as const;
});

function workerEnv(s: Settings, prefix: string, replicate: ReplicateFake, sink: SinkServer, redisUrl: string, extra: Record<string, string> = {}) {
  return {
    REDIS_URL: redisUrl,
    PREFIX: prefix,
    REPLICATE_URL: replicate.baseUrl,
    REPLICATE_TOKEN: replicate.token,
    SINK_URL: sink.url,
    LOCK_MS: String(s.lockMs),
    STALLED_MS: String(s.stalledMs),
    ...(s.workerId ? { WORKER_ID: s.workerId } : {}),
    ...extra,
  };
}

async function submit(core: FluxbotCore, user = 'alice'): Promise<string> {
  const r = parseFluxRequest({ prompt: 'a lighthouse at dawn', output_format: 'png', aspect_ratio: '1:1' });
  if (!r.ok) throw r.error;
  const s = await core.service.submit(r.request, person(user), target, { dedupeKey: `i-${Math.random()}` });
  if (s.status !== 'queued') throw new Error(`not queued: ${s.status}`);
  return s.jobId;
}

interface Recovery {
  /** From the replacement's spawn to the job running again / its image delivered. */
  running: number;
  delivered: number;
  /** From the kill to the image delivered. */
  sinceKill: number;
  /** The replacement's start (spawn → ready), part of the above. */
  startup: number;
}

async function recoveryRun(s: Settings): Promise<Recovery> {
  const prefix = testPrefix('recovery');
  const core = await makeCore({ redisUrl: REDIS, prefix, quotas: QUOTAS });
  // The prediction is done before the replacement is up: what is measured is how long the job waits for a worker.
  const replicate = await ReplicateFake.start({ latencyMs: 2000 });
  const sink = await SinkServer.start();
  const children: ChildProcess[] = [];
  try {
    const env = workerEnv(s, prefix, replicate, sink, REDIS);
    children.push(await startChild(WORKER, env));
    const jobId = await submit(core);
    await replicate.waitFor((c) => c.method === 'GET' && c.path.includes('/predictions/'), 15_000);
    const killedAt = Date.now();
    await kill(children[0]!, 'SIGKILL');
    await sleep(RESTART_DELAY_MS);
    const spawnedAt = Date.now();
    children.push(await startChild(WORKER, env));
    const readyAt = Date.now();
    await sink.server.waitFor((c) => c.path === '/recorded', 180_000);
    const deliveredAt = Date.now();
    const job = await core.queue.getJob(jobId);
    if (replicate.created !== 1 || sink.deliveries(jobId).length !== 1) throw new Error(`created ${replicate.created}, posted ${sink.deliveries(jobId).length}`);
    return { running: (job?.processedOn ?? NaN) - spawnedAt, delivered: deliveredAt - spawnedAt, sinceKill: deliveredAt - killedAt, startup: readyAt - spawnedAt };
  } finally {
    for (const c of children) await kill(c, 'SIGKILL');
    await core.close(1000);
    await replicate.close();
    await sink.close();
    await dropPrefix(prefix, REDIS);
  }
}

interface Load {
  commandsPerSecond: number;
  scriptsPerSecond: number;
}

async function commandStats(redis: Redis): Promise<{ total: number; scripts: number }> {
  const stats = await redis.info('stats');
  const total = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1]);
  const commands = await redis.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(commands)?.[1] ?? 0);
  return { total, scripts: calls('evalsha') + calls('eval') };
}

async function loadRun(s: Settings, redisUrl: string, jobs: number): Promise<Load> {
  const prefix = testPrefix('load');
  const core = await makeCore({ redisUrl, prefix, quotas: QUOTAS });
  const replicate = await ReplicateFake.start({ latencyMs: 600_000 });
  const sink = await SinkServer.start();
  const children: ChildProcess[] = [];
  const probe = new Redis(redisUrl);
  try {
    for (let i = 0; i < WORKERS; i++) {
      // Each its own WORKER_ID (a fleet), when the config has identities.
      const env = workerEnv({ ...s, ...(s.workerId ? { workerId: `${s.workerId}-${i}` } : {}) }, prefix, replicate, sink, redisUrl, { POLL_MS: '10000' });
      children.push(await startChild(WORKER, env));
    }
    for (let i = 0; i < jobs; i++) await submit(core, `u${i}`);
    const deadline = Date.now() + 60_000;
    while ((await core.queue.getActiveCount()) < jobs) {
      if (Date.now() > deadline) throw new Error('jobs did not all start');
      await sleep(200);
    }
    // Settle: each job's start, create and checkpoint are done; the 'processing' progress comes at half the latency.
    await sleep(3000);
    const before = await commandStats(probe);
    await sleep(WINDOW_MS);
    const after = await commandStats(probe);
    // The probe's own INFO calls (two) are left in: negligible.
    const seconds = WINDOW_MS / 1000;
    return { commandsPerSecond: (after.total - before.total) / seconds, scriptsPerSecond: (after.scripts - before.scripts) / seconds };
  } finally {
    for (const c of children) await kill(c, 'SIGKILL');
    probe.disconnect();
    await core.close(1000);
    await replicate.close();
    await sink.close();
    await dropPrefix(prefix, redisUrl);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (ONLY !== 'load') {
  console.log(`Recovery after SIGKILL: ${RUNS} runs per config, replacement started ${RESTART_DELAY_MS} ms after the kill`);
  for (const [name, s] of configs) {
    const runs: Recovery[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await recoveryRun(s);
      runs.push(r);
      console.log(JSON.stringify({ config: name, run: i + 1, ...r }));
    }
    const pick = (k: keyof Recovery) => runs.map((r) => r[k]);
    console.log(
      `${s.label}: running again ${sec(median(pick('running')))} median, ${sec(Math.max(...pick('running')))} max; ` +
        `delivered ${sec(median(pick('delivered')))} median, ${sec(Math.max(...pick('delivered')))} max after the replacement's spawn ` +
        `(${sec(median(pick('sinceKill')))} median after the kill; the replacement's own start ${sec(median(pick('startup')))})`,
    );
  }
}

if (ONLY !== 'recovery') {
  const redis = await PrivateRedis.start();
  try {
    console.log(`Redis load: ${WORKERS} worker processes, idle and with ${JOBS} generations running, ${WINDOW_MS / 1000} s window, private redis-server`);
    for (const [name, s] of configs) {
      for (const jobs of [0, JOBS]) {
        const l = await loadRun(s, redis.url, jobs);
        console.log(JSON.stringify({ config: name, jobs, ...l }));
        console.log(`${s.label}, ${jobs ? `${jobs} running` : 'idle'}: ${l.commandsPerSecond.toFixed(1)} commands/s, ${l.scriptsPerSecond.toFixed(2)} script calls/s`);
      }
    }
  } finally {
    await redis.close();
  }
}
process.exit(0);
