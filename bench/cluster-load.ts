/**
 * Load run (issue 14): N jobs through 4 worker processes, on a Redis Cluster started here and on the single Redis at
 * 127.0.0.1:6379, in the same session, with the same load.
 *
 *   npm run bench:cluster-load                         # 10 000 jobs, cluster then single Redis
 *   BENCH_JOBS=500 npm run bench:cluster-load          # a short iteration
 *   BENCH_MODES=single BENCH_JOBS=500 npm run bench:cluster-load
 *
 * Settings (env): BENCH_JOBS (10000), BENCH_MODES (`cluster,single`), BENCH_WORKERS (4), BENCH_CONCURRENCY (50 per
 * worker), BENCH_LATENCY_MS (2000: the preview provider's simulated generation time), BENCH_PEOPLE (1000),
 * BENCH_SERVERS (50), BENCH_REDIS (redis://127.0.0.1:6379, the single Redis).
 *
 * Per mode: a fresh prefix; BENCH_WORKERS child processes, each the real core + GenerationWorker with the preview
 * provider at BENCH_LATENCY_MS (bench/cluster-load-worker.ts), delivering over HTTP to a sink in this process that
 * counts posts per job id; this process admits every job through the real GenerationService (quotas raised so
 * nothing is refused; people and servers round-robin, so priorities and fairness work as in production), 100
 * submissions in flight at a time. Measured: wall time from the first submission to the last delivery, throughput,
 * submit latency, queue wait (the workers' own `queueWait` metric: job start − job.timestamp), end to end (submit
 * call → the sink receiving the image), loss and duplicates (every job must be posted exactly once, and no failure
 * notice), the quota counters (sum of the servers' and the people's images today = N, nothing in flight), the queue's
 * own counts (nothing failed, waiting or active), and each Redis node's INFO (commands and CPU). Nothing depends on
 * key names: everything is read through the core's services, BullMQ and INFO. Exits 1 on any loss, duplicate,
 * failure or quota mismatch.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { guildKey, userKey, type Requester } from '../src/core/ports.js';
import { parseFluxRequest } from '../src/core/request.js';
import type { RedisNode } from '../src/core/redis-connection.js';
import { dropPrefix } from '../test/helpers/core.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';

const env = process.env;
const JOBS = Number(env.BENCH_JOBS ?? 10_000);
const MODES = (env.BENCH_MODES ?? 'cluster,single').split(',').map((m) => m.trim()) as Array<'cluster' | 'single'>;
const WORKERS = Number(env.BENCH_WORKERS ?? 4);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 50);
const LATENCY_MS = Number(env.BENCH_LATENCY_MS ?? 2000);
const PEOPLE = Number(env.BENCH_PEOPLE ?? 1000);
const SERVERS = Number(env.BENCH_SERVERS ?? 50);
const SINGLE = env.BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const IN_FLIGHT = 100;
const logger = pino({ level: 'silent' });

/** The delivery side: counts each job's posts (any repeat is a duplicate) and failure notices, with arrival times. */
class Sink {
  readonly posts = new Map<string, number>();
  readonly firstAt = new Map<string, number>();
  readonly failures: Array<{ jobId: string; code: string }> = [];
  private next = 1;
  private waiter: (() => void) | undefined;
  private target = Infinity;
  private readonly server: Server = createServer((req, res) => {
    void body(req).then((b) => {
      const data = JSON.parse(b || '{}') as { jobId?: string; code?: string };
      if (req.url === '/deliver' || req.url === '/private') {
        const jobId = data.jobId!;
        const n = (this.posts.get(jobId) ?? 0) + 1;
        this.posts.set(jobId, n);
        if (n === 1) this.firstAt.set(jobId, performance.now());
        if (this.posts.size >= this.target) this.waiter?.();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: `m${this.next++}` }));
        return;
      }
      if (req.url === '/fail') this.failures.push({ jobId: data.jobId!, code: data.code! });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });

  async listen(): Promise<string> {
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `n` distinct jobs were posted (or rejects after `timeoutMs`). */
  until(n: number, timeoutMs: number): Promise<void> {
    if (this.posts.size >= n) return Promise.resolve();
    this.target = n;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.posts.size} of ${n} jobs delivered after ${timeoutMs} ms`)), timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

interface WorkerReport {
  queueWaits: number[];
  outcomes: { delivered: number; failed: number };
  cpuMs: number;
}

/** Starts one worker process (tsx) and waits for it to say it runs. */
async function startWorker(extraEnv: Record<string, string>): Promise<ChildProcess> {
  const child = fork('bench/cluster-load-worker.ts', [], {
    execArgv: ['--import', 'tsx'],
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}) before it was ready`)));
  });
  return child;
}

function ask(child: ChildProcess): Promise<WorkerReport> {
  const answer = once(child, 'message') as Promise<[WorkerReport]>;
  child.send('report');
  return answer.then(([r]) => r);
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process, in ms (Linux /proc; 100 Hz clock ticks). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - (cpu[4] ?? 0), total };
}

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

interface NodeStats {
  commands: number;
  cpuMs: number;
  role: string;
}

/** INFO of one node over its own short-lived connection (a cluster's replicas included). */
async function nodeStats(node: RedisNode): Promise<NodeStats> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info();
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '0';
    return {
      commands: Number(field('total_commands_processed')),
      cpuMs: (Number(field('used_cpu_sys')) + Number(field('used_cpu_user'))) * 1000,
      role: field('role'),
    };
  } finally {
    client.disconnect();
  }
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const secs = (ms: number) => Math.round(ms / 10) / 100;

interface ModeResult {
  mode: string;
  jobs: number;
  wallS: number;
  jobsPerSec: number;
  /** Deliveries per second between the 10 % and 90 % marks (ramp-up and tail left out). */
  steadyJobsPerSec: number;
  submitMs: { p50: number; p99: number; allAdmittedS: number };
  queueWaitS: { p50: number; p99: number; max: number; n: number };
  endToEndS: { p50: number; p99: number; max: number };
  delivered: number;
  missing: number;
  duplicates: number;
  failures: number;
  quota: { serversUsed: number; peopleUsed: number; inFlight: number; ok: boolean };
  queueCounts: Record<string, number>;
  redis: {
    nodes: Array<{ port: number; role: string; commands: number; cpuMs: number }>;
    /** Commands the masters executed per job (a replica's are the masters' writes, replicated). */
    masterCommandsPerJob: number;
    replicaCommandsPerJob: number;
    masterCpuMsPerJob: number;
    replicaCpuMsPerJob: number;
    backgroundOpsPerSec: number;
  };
  /** What the slots allow at most (workers × concurrency / latency), jobs/s. */
  ceilingJobsPerSec: number;
  workersCpuMsPerJob: number;
  submitterCpuMsPerJob: number;
  machineBusy: string;
  loadAverage: { start: number; mean: number; max: number };
}

async function runMode(mode: 'cluster' | 'single'): Promise<ModeResult> {
  const cluster = mode === 'cluster' ? await RedisCluster.start() : undefined;
  const singleUrl = new URL(SINGLE);
  const nodes: RedisNode[] = cluster ? cluster.nodes : [{ host: singleUrl.hostname, port: Number(singleUrl.port || 6379) }];
  const target = cluster ? { redisUrl: 'redis://unused', redis: { clusterNodes: cluster.nodes } } : { redisUrl: SINGLE };
  const prefix = `{bench-load-${randomUUID().slice(0, 8)}}`;
  const sink = new Sink();
  const sinkUrl = await sink.listen();
  const workers: ChildProcess[] = [];
  const core = new FluxbotCore({
    ...target,
    logger,
    prefix,
    quotas: { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 },
  });
  try {
    await core.ready();
    const workerEnv = {
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.setting } : { REDIS_URL: SINGLE }),
      PREFIX: prefix,
      SINK_URL: sinkUrl,
      CONCURRENCY: String(CONCURRENCY),
      PREVIEW_LATENCY_MS: String(LATENCY_MS),
    };
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startWorker(workerEnv)))));

    // Other clients' commands on the server(s) meanwhile (the shared Redis serves other test runs): 3 s sample.
    const bg0 = await Promise.all(nodes.map(nodeStats));
    await new Promise((r) => setTimeout(r, 3000));
    const bg1 = await Promise.all(nodes.map(nodeStats));
    const backgroundOpsPerSec = Math.round(bg1.reduce((s, n, i) => s + n.commands - bg0[i]!.commands - 1, 0) / 3);

    const parsed = parseFluxRequest({ prompt: 'cluster load bench', aspect_ratio: 'custom', width: 256, height: 256, output_format: 'png' });
    if (!parsed.ok) throw parsed.error;
    const request = parsed.request;
    const people: Requester[] = Array.from({ length: PEOPLE }, (_, i) => ({ platform: 'discord', guildId: `g${i % SERVERS}`, userId: `u${i}` }));

    const loads: number[] = [];
    const loadTimer = setInterval(() => loads.push(loadAverage()), 5000);
    const load0 = loadAverage();
    const stats0 = await Promise.all(nodes.map(nodeStats));
    const workerCpu0 = workers.map((w) => processCpuMs(w.pid!));
    const machine0 = machineJiffies();
    const cpu0 = process.cpuUsage();
    const submittedAt = new Map<string, number>();
    const submitTimes: number[] = [];
    const t0 = performance.now();
    let refused = 0;
    for (let i = 0; i < JOBS; i += IN_FLIGHT) {
      await Promise.all(
        Array.from({ length: Math.min(IN_FLIGHT, JOBS - i) }, async (_, k) => {
          const n = i + k;
          const started = performance.now();
          const r = await core.service.submit(request, people[n % PEOPLE]!, { platform: 'discord', channelId: `c${n % SERVERS}` }, { dedupeKey: `load-${n}` });
          submitTimes.push(performance.now() - started);
          if (r.status === 'queued') submittedAt.set(r.jobId, started);
          else refused++;
        }),
      );
    }
    const admittedAt = performance.now();
    if (refused > 0) throw new Error(`${refused} submissions were not queued`);
    // Generous deadline: 20 times the ideal time at full concurrency, plus a minute.
    const ideal = (JOBS / (WORKERS * CONCURRENCY)) * LATENCY_MS;
    await sink.until(JOBS, ideal * 20 + 60_000);
    const tEnd = Math.max(...sink.firstAt.values());
    const cpu = process.cpuUsage(cpu0);
    const machine1 = machineJiffies();
    const workerCpu1 = workers.map((w) => processCpuMs(w.pid!));
    const stats1 = await Promise.all(nodes.map(nodeStats));
    clearInterval(loadTimer);
    // Let any late repeat or failure notice arrive before counting.
    await new Promise((r) => setTimeout(r, 2000));

    const reports = await Promise.all(workers.map(ask));
    const queueWaits = reports.flatMap((r) => r.queueWaits).sort((a, b) => a - b);
    const e2e = [...submittedAt].map(([id, at]) => (sink.firstAt.get(id) ?? NaN) - at).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const missing = [...submittedAt.keys()].filter((id) => !sink.posts.has(id)).length;
    const unknown = [...sink.posts.keys()].filter((id) => !submittedAt.has(id)).length;
    const duplicates = [...sink.posts.values()].filter((n) => n > 1).length + unknown;
    const arrivals = [...sink.firstAt.values()].sort((a, b) => a - b);
    const a10 = arrivals[Math.floor(arrivals.length * 0.1)]!;
    const a90 = arrivals[Math.floor(arrivals.length * 0.9)]!;

    // Quotas, through the admin service: every image charged once, nothing left reserved.
    const servers = [...new Set(people.map((p) => guildKey(p)))];
    const serverSnaps = await Promise.all(servers.map((key) => core.admin.show({ kind: 'guild', key })));
    const personSnaps: Array<{ usedToday: number; inFlight: number }> = [];
    for (let i = 0; i < people.length; i += 100) {
      personSnaps.push(...(await Promise.all(people.slice(i, i + 100).map((p) => core.admin.show({ kind: 'user', key: userKey(p) })))));
    }
    const serversUsed = serverSnaps.reduce((s, q) => s + q.usedToday, 0);
    const peopleUsed = personSnaps.reduce((s, q) => s + q.usedToday, 0);
    const inFlight = [...serverSnaps, ...personSnaps].reduce((s, q) => s + q.inFlight, 0);
    const queueCounts = await core.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');

    const wall = tEnd - t0;
    const nodeRows = nodes.map((n, i) => ({
      port: n.port,
      role: stats1[i]!.role,
      commands: stats1[i]!.commands - stats0[i]!.commands - 1,
      cpuMs: Math.round(stats1[i]!.cpuMs - stats0[i]!.cpuMs),
    }));
    const perJob = (rows: typeof nodeRows, f: (n: (typeof nodeRows)[number]) => number, d: number) => Math.round((rows.reduce((s, n) => s + f(n), 0) / JOBS) * d) / d;
    const masters = nodeRows.filter((n) => n.role === 'master');
    const replicas = nodeRows.filter((n) => n.role !== 'master');
    const workersCpu = workerCpu1.reduce((s, c, i) => s + c - workerCpu0[i]!, 0);
    return {
      mode: cluster ? `cluster (3 masters + 3 replicas)` : `single ${SINGLE}`,
      jobs: JOBS,
      wallS: secs(wall),
      jobsPerSec: Math.round((JOBS / wall) * 1000 * 10) / 10,
      steadyJobsPerSec: Math.round(((arrivals.length * 0.8) / (a90 - a10)) * 1000 * 10) / 10,
      submitMs: {
        p50: Math.round(pct([...submitTimes].sort((a, b) => a - b), 50)),
        p99: Math.round(pct([...submitTimes].sort((a, b) => a - b), 99)),
        allAdmittedS: secs(admittedAt - t0),
      },
      queueWaitS: { p50: secs(pct(queueWaits, 50)), p99: secs(pct(queueWaits, 99)), max: secs(pct(queueWaits, 100)), n: queueWaits.length },
      endToEndS: { p50: secs(pct(e2e, 50)), p99: secs(pct(e2e, 99)), max: secs(pct(e2e, 100)) },
      delivered: sink.posts.size,
      missing,
      duplicates,
      failures: sink.failures.length + reports.reduce((s, r) => s + r.outcomes.failed, 0),
      quota: { serversUsed, peopleUsed, inFlight, ok: serversUsed === JOBS && peopleUsed === JOBS && inFlight === 0 },
      queueCounts,
      redis: {
        nodes: nodeRows,
        masterCommandsPerJob: perJob(masters, (n) => n.commands, 10),
        replicaCommandsPerJob: perJob(replicas, (n) => n.commands, 10),
        masterCpuMsPerJob: perJob(masters, (n) => n.cpuMs, 100),
        replicaCpuMsPerJob: perJob(replicas, (n) => n.cpuMs, 100),
        backgroundOpsPerSec,
      },
      ceilingJobsPerSec: (WORKERS * CONCURRENCY * 1000) / LATENCY_MS,
      workersCpuMsPerJob: Math.round((workersCpu / JOBS) * 100) / 100,
      submitterCpuMsPerJob: Math.round(((cpu.user + cpu.system) / 1000 / JOBS) * 100) / 100,
      machineBusy: `${Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100)}%`,
      loadAverage: {
        start: load0,
        mean: loads.length ? Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 10) / 10 : load0,
        max: Math.max(load0, ...loads),
      },
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
    await core.close(1000);
    await sink.close();
    if (cluster) await cluster.close();
    else await dropPrefix(prefix, SINGLE);
  }
}

function table(results: ModeResult[]): string {
  const rows: Array<[string, (r: ModeResult) => string | number]> = [
    ['jobs', (r) => r.jobs],
    ['wall time, s', (r) => r.wallS],
    ['throughput, jobs/s (ceiling)', (r) => `${r.jobsPerSec} (${r.ceilingJobsPerSec})`],
    ['steady throughput (10–90 %), jobs/s', (r) => r.steadyJobsPerSec],
    ['all admitted after, s', (r) => r.submitMs.allAdmittedS],
    ['submit p50 / p99, ms', (r) => `${r.submitMs.p50} / ${r.submitMs.p99}`],
    ['queue wait p50 / p99 / max, s', (r) => `${r.queueWaitS.p50} / ${r.queueWaitS.p99} / ${r.queueWaitS.max}`],
    ['end to end p50 / p99 / max, s', (r) => `${r.endToEndS.p50} / ${r.endToEndS.p99} / ${r.endToEndS.max}`],
    ['delivered / missing / duplicate / failed', (r) => `${r.delivered} / ${r.missing} / ${r.duplicates} / ${r.failures}`],
    ['quota: servers / people / in flight', (r) => `${r.quota.serversUsed} / ${r.quota.peopleUsed} / ${r.quota.inFlight}`],
    ['Redis commands per job, masters / replicas', (r) => `${r.redis.masterCommandsPerJob} / ${r.redis.replicaCommandsPerJob}`],
    ['Redis CPU ms per job, masters / replicas', (r) => `${r.redis.masterCpuMsPerJob} / ${r.redis.replicaCpuMsPerJob}`],
    ['Redis commands per node', (r) => r.redis.nodes.map((n) => `${n.role[0]}${n.port}:${n.commands}`).join(' ')],
    ['Redis CPU ms per node', (r) => r.redis.nodes.map((n) => `${n.role[0]}${n.port}:${n.cpuMs}`).join(' ')],
    ['commands/s before the run (idle workers, other clients)', (r) => r.redis.backgroundOpsPerSec],
    ['workers / submitter CPU ms per job', (r) => `${r.workersCpuMsPerJob} / ${r.submitterCpuMsPerJob}`],
    ['machine busy (2 cores)', (r) => r.machineBusy],
    ['load average start / mean / max', (r) => `${r.loadAverage.start} / ${r.loadAverage.mean} / ${r.loadAverage.max}`],
  ];
  const head = `| | ${results.map((r) => r.mode).join(' | ')} |\n|---|${results.map(() => '---').join('|')}|`;
  return [head, ...rows.map(([name, f]) => `| ${name} | ${results.map((r) => f(r)).join(' | ')} |`)].join('\n');
}

const results: ModeResult[] = [];
for (const mode of MODES) {
  process.stderr.write(`${mode}: ${JOBS} jobs, ${WORKERS} workers × ${CONCURRENCY}, preview at ${LATENCY_MS} ms…\n`);
  const r = await runMode(mode);
  process.stderr.write(`${JSON.stringify(r)}\n`);
  results.push(r);
}
process.stdout.write(`${table(results)}\n`);
const bad = results.filter((r) => r.missing > 0 || r.duplicates > 0 || r.failures > 0 || !r.quota.ok || r.queueWaitS.n !== r.jobs);
if (bad.length > 0) {
  process.stderr.write(`FAILED: ${bad.map((r) => `${r.mode}: ${r.missing} missing, ${r.duplicates} duplicate, ${r.failures} failed, quota ${JSON.stringify(r.quota)}, ${r.queueWaitS.n} queue waits`).join('; ')}\n`);
  process.exit(1);
}
