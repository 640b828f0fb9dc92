import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * A restarted worker takes back at once the jobs its dead predecessor held, instead of waiting for their locks to
 * expire (JOB_LOCK_MS) and for a stalled check to notice (up to JOB_LOCK_MS again).
 *
 * Every worker process has an identity (WORKER_ID: the host or container name unless set) that its replacement has
 * too, and a name of its own, `<identity>/<random>`: BullMQ gives that name to the worker's blocking connection
 * (CLIENT SETNAME, renewed on every reconnect) and writes it into each job it takes. At start, before taking any job,
 * a worker registers `name → BullMQ worker id` (the prefix of every lock token it will hold) in one hash. A process
 * starting later with the same identity reads the names registered under it; a predecessor whose connection is gone
 * from Redis's client list is dead (the kernel closes a killed process's sockets at once), so the locks whose token it
 * issued are deleted and their jobs marked stalled, in one script. The worker's own first stalled check, which BullMQ
 * runs as it starts, then moves them to the wait list like any stalled job (counted in `stalledCounter`, so the
 * re-run resumes from the job's checkpoint or looks for an unrecorded prediction first).
 *
 * A live worker never loses a job this way: its lock is deleted only when its token came from a registered
 * predecessor of the same identity AND that predecessor has no connection to Redis. A machine that lost power keeps
 * its connections in the client list until Redis's TCP keepalive drops them, so its jobs come back by lock expiry, as
 * before. When Redis refuses CLIENT LIST (some hosted Redis), nothing is reclaimed. Steady state costs nothing: one
 * write when a worker starts, one when it stops.
 */

/** Deletes the locks issued by dead predecessors and marks their jobs stalled; forgets the predecessors. */
const RECLAIM_LUA = `
-- KEYS[1] active list, KEYS[2] stalled set, KEYS[3] stalled-check key, KEYS[4] the worker registry hash
-- ARGV[1] job key prefix; ARGV[2..]: name, BullMQ worker id of each dead predecessor
local prefixes = {}
for i = 2, #ARGV, 2 do
  redis.call('HDEL', KEYS[4], ARGV[i])
  table.insert(prefixes, ARGV[i + 1] .. ':')
end
local reclaimed = {}
local active = redis.call('LRANGE', KEYS[1], 0, -1)
for _, jobId in ipairs(active) do
  local lockKey = ARGV[1] .. jobId .. ':lock'
  local token = redis.call('GET', lockKey)
  if token then
    for _, p in ipairs(prefixes) do
      if string.sub(token, 1, #p) == p then
        redis.call('DEL', lockKey)
        redis.call('SADD', KEYS[2], jobId)
        table.insert(reclaimed, jobId)
        break
      end
    end
  end
end
-- The next stalled check (this worker's first, right after) runs at once instead of after the interval.
if #reclaimed > 0 then redis.call('DEL', KEYS[3]) end
return reclaimed
`;

/** The BullMQ worker's side: its key names, its id (the prefix of its lock tokens) and its name. */
export interface ReclaimingWorker {
  readonly id: string;
  toKey(type: string): string;
}

export interface ReclaimResult {
  /** Jobs whose dead predecessor's locks were deleted: stalled now, they run again at this worker's first check. */
  reclaimed: string[];
  /** Predecessors found dead (and forgotten). */
  dead: string[];
  /** Predecessors of the same identity that are still connected: left alone. */
  alive: string[];
  /** Predecessors left alone because Redis refused CLIENT LIST: their jobs wait for their locks. */
  unchecked: string[];
}

/** A worker's name: its identity, then a part that differs on every start. */
export function workerName(identity: string): string {
  return `${identity}/${randomUUID()}`;
}

export class WorkerReclaim {
  readonly name: string;

  constructor(
    private readonly redis: Redis | Cluster,
    /** The registry hash (a key under the bot's prefix, for its cluster hash tag). */
    private readonly registryKey: string,
    readonly identity: string,
    name?: string,
  ) {
    this.name = name ?? workerName(identity);
  }

  /**
   * Reclaims the jobs of this identity's dead predecessors, then registers this worker. Call once the worker's
   * connections are up and before it takes any job; its stalled check then moves the reclaimed jobs to the wait list.
   */
  async start(worker: ReclaimingWorker): Promise<ReclaimResult> {
    const registered = await this.redis.hgetall(this.registryKey);
    const predecessors = Object.entries(registered).filter(([name]) => name !== this.name && name.startsWith(`${this.identity}/`));
    let result: ReclaimResult = { reclaimed: [], dead: [], alive: [], unchecked: [] };
    if (predecessors.length > 0) {
      const connected = await connectedNames(this.redis);
      // Unknown (CLIENT LIST refused): nothing is reclaimed; the jobs come back when their locks expire.
      if (!connected) result = { ...result, unchecked: predecessors.map(([name]) => name) };
      else {
        const dead = predecessors.filter(([name]) => !connected.some((c) => c.endsWith(`:w:${name}`)));
        const alive = predecessors.filter((p) => !dead.includes(p)).map(([name]) => name);
        const reclaimed = dead.length
          ? ((await this.redis.eval(
              RECLAIM_LUA,
              4,
              worker.toKey('active'),
              worker.toKey('stalled'),
              worker.toKey('stalled-check'),
              this.registryKey,
              worker.toKey(''),
              ...dead.flat(),
            )) as string[])
          : [];
        result = { reclaimed, dead: dead.map(([name]) => name), alive, unchecked: [] };
      }
    }
    await this.redis.hset(this.registryKey, this.name, worker.id);
    return result;
  }

  /** Forgets this worker (a clean stop: it holds no job any more). */
  async stop(): Promise<void> {
    await this.redis.hdel(this.registryKey, this.name);
  }
}

/**
 * The names of the connections Redis has open, or undefined when it refuses to say. On a Redis Cluster, those of
 * every master (a worker's blocking connection may be on any).
 */
async function connectedNames(redis: Redis | Cluster): Promise<string[] | undefined> {
  try {
    const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis as Redis];
    const lists = await Promise.all(nodes.map((n) => n.client('LIST') as Promise<string>));
    return lists.flatMap((list) =>
      list
        .split('\n')
        .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name !== ''),
    );
  } catch {
    return undefined;
  }
}
