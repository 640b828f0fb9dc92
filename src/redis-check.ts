import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { searchPath } from './config.js';
import { createRedisClient, describeRedisTarget, isClusterTarget, masterNodes, type RedisNode, type RedisTarget } from './core/redis-connection.js';

/**
 * Finding Redis before anything else connects to it. Without this, a missing Redis shows up as ioredis and BullMQ
 * reconnect stack traces for minutes; here it is one probe, then either a private redis-server (first run, playground
 * only, `REDIS_URL` only) or one line that names the setting (`REDIS_URL`, or `REDIS_CLUSTER_NODES` for a Redis
 * Cluster) and how to get Redis. Used by the bot (`run()` in main.ts) and the CLI.
 */

/** How to get Redis, for the one-line message. */
export const GET_REDIS_HINT =
  'start one with `docker compose up -d redis`, or install Redis with your package manager (apt install redis-server, brew install redis) and run `redis-server`, or set REDIS_URL (in .env) to a Redis that runs';

export type RedisProbe = { ok: true } | { ok: false; reason: string };

/**
 * One PING over a connection that never retries: answers within about `timeoutMs`, never logs. A cluster must answer
 * on every master and say `cluster_state:ok`. `target` is a REDIS_URL or the whole target (cluster nodes, password).
 */
export async function probeRedis(target: string | RedisTarget, timeoutMs = 2000): Promise<RedisProbe> {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const client = createRedisClient(t, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, noReconnect: true });
  let lastError: Error | undefined;
  client.on('error', (err: Error & { lastNodeError?: Error }) => void (lastError = err.lastNodeError ?? err));
  client.on('node error', (err: Error) => void (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<RedisProbe>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: 'no answer' }), timeoutMs + 500);
  });
  const attempt = client
    .connect()
    .then(() => Promise.all(masterNodes(client).map((node) => node.ping())))
    .then(async (pongs): Promise<RedisProbe> => {
      const other = pongs.find((p) => p !== 'PONG');
      if (pongs.length === 0) return { ok: false, reason: 'no master node answered' };
      if (other !== undefined) return { ok: false, reason: `answered ${other}` };
      if (!isClusterTarget(t)) return { ok: true };
      const info = await masterNodes(client)[0]!.cluster('INFO');
      return /cluster_state:ok/.test(info) ? { ok: true } : { ok: false, reason: 'the cluster is not ok (cluster_state:fail)' };
    })
    .catch((err: unknown): RedisProbe => ({ ok: false, reason: describe(lastError ?? err, t) }));
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

function describe(err: unknown, target: RedisTarget): string {
  const e = err as { code?: string; message?: string; lastNodeError?: Error };
  if (e.lastNodeError) return describe(e.lastNodeError, target);
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'unknown host';
  if (e.code === 'ETIMEDOUT') return 'no answer';
  const message = String(e.message ?? err);
  if (/NOAUTH/.test(message)) return `it wants a password: put it in ${isClusterTarget(target) ? 'REDIS_PASSWORD' : 'REDIS_URL (or REDIS_PASSWORD)'}`;
  if (/cluster support disabled/i.test(message)) return 'these nodes are not in cluster mode (cluster-enabled no): use REDIS_URL for a single Redis';
  // A cluster client reports refused or silent nodes only as closed connections.
  if (isClusterTarget(target) && /None of startup nodes is available|Connection is closed|Failed to refresh slots cache/i.test(message)) return 'no node answered';
  if (/WRONGPASS|invalid password|invalid username/i.test(message)) return 'the password was refused';
  return message.split('\n')[0]!.slice(0, 120);
}

/** The URL with any password blanked, for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

/** How to fix a Redis Cluster that does not answer, for the one-line message. */
export const CLUSTER_HINT =
  'check that the nodes run and form one cluster (redis-cli --cluster check host:port), or unset REDIS_CLUSTER_NODES to use the single Redis at REDIS_URL';

/** The one line printed when there is no Redis: what was tried, the setting's name, how to get one. */
export function missingRedisMessage(target: string | RedisTarget, reason: string): string {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  if (isClusterTarget(t)) return `fluxbot: no Redis Cluster answered at ${describeRedisTarget(t).replace(/^cluster /, '')} (REDIS_CLUSTER_NODES; ${reason}): ${CLUSTER_HINT}.`;
  return `fluxbot: no Redis at ${safeRedisUrl(t.url)} (REDIS_URL; ${reason}): ${GET_REDIS_HINT}.`;
}

/** The Redis settings `ensureRedis` reads (the rest of the config may be there too). */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly RedisNode[] | undefined;
  REDIS_USERNAME?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_TLS?: boolean | undefined;
  DISCORD_TOKEN?: string | undefined;
  SLACK_BOT_TOKEN?: string | undefined;
}

/**
 * Whether a private Redis may be started for this URL: playground mode (no Discord or Slack token, so nobody's
 * production data is at stake) and a plain loopback URL (no password, database 0), which is where one would listen.
 * Never for a Redis Cluster (REDIS_CLUSTER_NODES) nor with REDIS_PASSWORD or REDIS_TLS set: those name a real Redis.
 */
export function mayStartPrivateRedis(config: RedisSettings): boolean {
  if (config.DISCORD_TOKEN || config.SLACK_BOT_TOKEN) return false;
  if (config.REDIS_CLUSTER_NODES?.length || config.REDIS_PASSWORD || config.REDIS_TLS) return false;
  let u: URL;
  try {
    u = new URL(config.REDIS_URL);
  } catch {
    return false;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  return u.protocol === 'redis:' && loopback && !u.username && !u.password && (u.pathname === '' || u.pathname === '/' || u.pathname === '/0');
}

/** The absolute path of an executable on PATH, or undefined. */
export function onPath(name: string, path = searchPath()): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A redis-server this process started; `stop()` shuts it down cleanly (its AOF is flushed). */
export interface PrivateRedis {
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on the URL's loopback port with its data in `dir` (AOF on, noeviction, as in production) and
 * waits until it answers. Its own process group, so a Ctrl-C in the terminal reaches fluxbot only, which stops it after
 * the jobs are handed back (and on any process.exit). A fluxbot killed outright leaves it running: the next start finds
 * it answering and uses it.
 */
export async function startPrivateRedis(url: string, dir: string, binary = 'redis-server', timeoutMs = 10_000): Promise<PrivateRedis> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  const host = u.hostname === '[::1]' ? '::1' : u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
  mkdirSync(dir, { recursive: true });
  const logfile = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', host, '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'];
  const child: ChildProcess = spawn(binary, [...args, '--save', '', '--logfile', logfile], { stdio: 'ignore', detached: true });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let spawnError: Error | undefined;
  child.once('error', (err) => void (spawnError = err));
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const started = Date.now();
  for (;;) {
    if ((await probeRedis(url, 500)).ok) return { port, dir, stop };
    if (spawnError || child.exitCode !== null || Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`redis-server did not start${spawnError ? ` (${spawnError.message})` : ''}: ${lastLogLine(logfile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return lines.at(-1)?.replace(/^\d+:[A-Z] [^*#-]*[*#-] /, '') ?? 'no log';
  } catch {
    return 'no log';
  }
}

/** What to do about Redis at start: go on, go on with a private one (stop it at exit), or stop with this message. */
export type RedisPlan = { kind: 'ready' } | { kind: 'private'; redis: PrivateRedis } | { kind: 'missing'; message: string };

/**
 * Probes the Redis the settings name (REDIS_CLUSTER_NODES when set, else REDIS_URL); when nothing answers at REDIS_URL
 * and a private Redis is allowed (playground mode, loopback URL, redis-server on PATH), starts one with its data in
 * `dataDir`; otherwise returns the one-line message.
 */
export async function ensureRedis(config: RedisSettings, dataDir = join(process.cwd(), 'data', 'redis')): Promise<RedisPlan> {
  const target: RedisTarget = {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    username: config.REDIS_USERNAME,
    password: config.REDIS_PASSWORD,
    tls: config.REDIS_TLS,
  };
  const probe = await probeRedis(target);
  if (probe.ok) return { kind: 'ready' };
  const binary = mayStartPrivateRedis(config) && probe.reason === 'connection refused' ? onPath('redis-server') : undefined;
  if (!binary) return { kind: 'missing', message: missingRedisMessage(target, probe.reason) };
  try {
    return { kind: 'private', redis: await startPrivateRedis(config.REDIS_URL, dataDir, binary) };
  } catch (err) {
    return { kind: 'missing', message: missingRedisMessage(config.REDIS_URL, `${probe.reason}; ${(err as Error).message}`) };
  }
}
