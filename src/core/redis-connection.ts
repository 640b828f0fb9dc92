import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

type NodeOptions = Omit<RedisOptions, 'replyMapping'>;

/**
 * The one place that decides how fluxbot reaches Redis: a single Redis (`REDIS_URL`) or a Redis Cluster
 * (`REDIS_CLUSTER_NODES`, through ioredis's `Cluster` client). Every connection of the program — BullMQ's queue,
 * workers and event readers, the quota scripts, job records, the image stash, cancel pub/sub, the provider limiter,
 * health checks, the CLI and the start-up probe — is made here, so both modes get the same credentials and TLS.
 *
 * Every key carries the prefix's hash tag (`{fluxbot}`), so on a cluster all of them live in one slot: Lua scripts,
 * MULTI and pipelines that touch several keys work unchanged. What cannot be sent to one node (a SCAN of the whole
 * keyspace) goes through `scanKeys`, which walks every master.
 */

/** One `host:port` of REDIS_CLUSTER_NODES. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is and how to log in: what the settings say (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_PASSWORD...). */
export interface RedisTarget {
  /** A single Redis (REDIS_URL); not used when `clusterNodes` is given. */
  url: string;
  /** A Redis Cluster's seed nodes (REDIS_CLUSTER_NODES): when given, every connection is a Cluster client. */
  clusterNodes?: readonly RedisNode[] | undefined;
  /** ACL user (REDIS_USERNAME); for REDIS_URL, one in the URL wins. */
  username?: string | undefined;
  /** REDIS_PASSWORD; for REDIS_URL, one in the URL wins. */
  password?: string | undefined;
  /** TLS toward every node (REDIS_TLS); `rediss://` in REDIS_URL turns it on too. */
  tls?: boolean | undefined;
}

/** A connection of either kind: both run the same commands (keys of one slot on a cluster). */
export type RedisClient = Redis | Cluster;

/** How a connection behaves while Redis (or a node of the cluster) is away. */
export interface ConnectionBehaviour {
  /** `null`: a command waits out an outage (BullMQ and workers); a number: it fails after that many retries. */
  maxRetriesPerRequest?: number | null;
  /** `false`: commands fail at once while disconnected (the bot answers "temporarily unavailable"). */
  enableOfflineQueue?: boolean;
  /** Connect on `connect()` or the first command, not at construction. */
  lazyConnect?: boolean;
  /** A one-shot connection: never reconnects, gives up after `connectTimeout`. */
  noReconnect?: boolean;
  connectTimeout?: number;
}

/**
 * Failover on a cluster: a command whose node dropped is retried every `FAILOVER_RETRY_MS` until a replica has taken
 * over (Redis's `cluster-node-timeout`, 15 s by default, plus the election), up to `maxRedirections` tries. A
 * connection that waits out outages gets room for a whole failover; a fail-fast one gives up within a couple of seconds.
 */
const FAILOVER_RETRY_MS = 250;
const WAITING_REDIRECTIONS = 160; // about 40 s
const FAIL_FAST_REDIRECTIONS = 8; // about 2 s

/** Parses REDIS_CLUSTER_NODES (`host:port,host:port`); throws an Error naming the first bad entry. */
export function parseRedisNodes(value: string): RedisNode[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one node as host:port');
  return entries.map((entry) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`"${entry}" is not host:port (e.g. 10.0.0.5:6379)`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

export function isClusterTarget(target: RedisTarget): boolean {
  return (target.clusterNodes?.length ?? 0) > 0;
}

/** What a message or log line may show of the target: the URL without its password, or the cluster's seed nodes. */
export function describeRedisTarget(target: RedisTarget): string {
  if (isClusterTarget(target)) return `cluster ${target.clusterNodes!.map(nodeKey).join(',')}`;
  try {
    const u = new URL(target.url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

function nodeKey(n: RedisNode): string {
  return n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;
}

/** The login and TLS options every node connection gets (only the ones set, so a URL's own are not overridden). */
function credentials(target: RedisTarget): Pick<NodeOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
}

/** Opens a connection to the target with the given behaviour. The caller owns it (`quit()` it when done). */
export function createRedisClient(target: RedisTarget, behaviour: ConnectionBehaviour = {}): RedisClient {
  const { maxRetriesPerRequest, enableOfflineQueue, lazyConnect, noReconnect, connectTimeout } = behaviour;
  const nodeOptions: NodeOptions = {
    ...credentials(target),
    ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
    ...(connectTimeout !== undefined ? { connectTimeout } : {}),
  };
  if (!isClusterTarget(target)) {
    return new Redis(target.url, {
      ...nodeOptions,
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(lazyConnect ? { lazyConnect } : {}),
      ...(noReconnect ? { retryStrategy: () => null } : {}),
    });
  }
  const waits = maxRetriesPerRequest === null;
  const options: Omit<ClusterOptions, 'redisOptions'> & { redisOptions: NodeOptions } = {
    redisOptions: nodeOptions,
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(lazyConnect ? { lazyConnect } : {}),
    ...(noReconnect ? { clusterRetryStrategy: () => null } : {}),
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: FAILOVER_RETRY_MS,
    maxRedirections: noReconnect ? 2 : waits ? WAITING_REDIRECTIONS : FAIL_FAST_REDIRECTIONS,
    // No `slotsRefreshInterval`: a failed command or a MOVED refreshes the slots anyway, and ioredis re-arms that
    // timer when `quit()` lands during a refresh, which keeps the process alive after everything closed.

    // With TLS the nodes' certificates name hosts: connect by the name given (as managed clusters expect).
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
  };
  return new Cluster(
    target.clusterNodes!.map((n) => ({ host: n.host, port: n.port })),
    options,
  );
}

/** The masters a command must reach to see every key: the cluster's master nodes, or the one Redis. */
export function masterNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Resolves once the connection is ready (a cluster knows its nodes only then); connects a lazy one. */
export async function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait') return client.connect();
  await new Promise<void>((resolve, reject) => {
    const ready = () => {
      client.off('end', ended);
      resolve();
    };
    const ended = () => {
      client.off('ready', ready);
      reject(new Error('Redis connection closed before it was ready'));
    };
    client.once('ready', ready);
    client.once('end', ended);
  });
}

/**
 * Every key matching `pattern`, in batches to `onKeys`: SCAN on each master in turn (on a cluster each node holds only
 * its own slots' keys). A key changed during the walk may be seen twice or not at all, as with SCAN itself.
 */
export async function scanKeys(client: RedisClient, pattern: string, onKeys: (keys: string[], node: Redis) => Promise<void>, count = 1000): Promise<void> {
  await whenReady(client);
  for (const node of masterNodes(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) await onKeys(keys, node);
    } while (cursor !== '0');
  }
}

/**
 * Whether Redis answers within `timeoutMs`, for readiness checks: PING on the one Redis, or on every master of the
 * cluster and the cluster saying its state is ok (a master that died answers nothing until its replica took over).
 */
export async function redisAnswers(client: RedisClient, timeoutMs = 2000): Promise<boolean> {
  const answers = async (): Promise<boolean> => {
    if (!(client instanceof Cluster)) return (await client.ping()) === 'PONG';
    const masters = client.nodes('master');
    if (masters.length === 0) return false;
    const pongs = await Promise.all(masters.map((m) => m.ping()));
    return pongs.every((p) => p === 'PONG') && /cluster_state:ok/.test(await masters[0]!.cluster('INFO'));
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([answers().catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
