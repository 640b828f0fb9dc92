import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisNode } from '../../src/core/redis-connection.js';
import { freePort } from './private-redis.js';

const run = promisify(execFile);

/** One redis-server of the cluster. */
interface ClusterProcess {
  port: number;
  process: ChildProcess;
}

export interface RedisClusterOptions {
  /** Masters (each gets one replica). Default 3. */
  masters?: number;
  /** Redis's `cluster-node-timeout`: how long a master may be silent before its replica takes over. Default 1500 ms. */
  nodeTimeoutMs?: number;
  /** Every node requires this password (`requirepass`, and `masterauth` for the replicas). */
  password?: string;
}

/**
 * A real Redis Cluster of the test's own, from the `redis-server` binary: 3 masters and 3 replicas on free loopback
 * ports, configuration and data in a temp dir (no persistence), joined with `redis-cli --cluster create`. `close()`
 * kills every process and removes the dir. Never touches the shared Redis on 6379.
 */
export class RedisCluster {
  private readonly processes = new Map<number, ClusterProcess>();

  private constructor(
    readonly dir: string,
    private readonly nodeTimeoutMs: number,
    readonly password: string | undefined,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const cluster = new RedisCluster(await mkdtemp(join(tmpdir(), 'fluxbot-cluster-')), options.nodeTimeoutMs ?? 1500, options.password);
    try {
      const ports: number[] = [];
      while (ports.length < masters * 2) {
        const port = await freePort();
        // The cluster bus listens on port + 10000: both must be free and distinct from the others'.
        if (port > 55_000 || ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue;
        ports.push(port);
      }
      await Promise.all(ports.map((port) => cluster.spawnNode(port)));
      const auth = cluster.password ? ['-a', cluster.password, '--no-auth-warning'] : [];
      await run('redis-cli', [...auth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
        timeout: 30_000,
      });
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** The seed nodes, as REDIS_CLUSTER_NODES would give them (every node; any subset works too). */
  get nodes(): RedisNode[] {
    return [...this.processes.keys()].map((port) => ({ host: '127.0.0.1', port }));
  }

  /** The REDIS_CLUSTER_NODES value for this cluster. */
  get setting(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** Ports of the nodes still running. */
  get livePorts(): number[] {
    return [...this.processes.values()].filter((p) => p.process.exitCode === null && p.process.signalCode === null).map((p) => p.port);
  }

  private async spawnNode(port: number): Promise<void> {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(this.dir, `nodes-${port}.conf`),
      '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--save', '',
      '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction',
      '--logfile', join(this.dir, `redis-${port}.log`),
      ...(this.password ? ['--requirepass', this.password, '--masterauth', this.password] : []),
    ];
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.processes.set(port, { port, process: proc });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (await this.answers(port)) return;
      if (proc.exitCode !== null) throw new Error(`redis-server (cluster node) exited (${proc.exitCode}) on port ${port}`);
      if (Date.now() > deadline) throw new Error(`redis-server (cluster node) on ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs one command on one node over a short-lived plain connection; undefined when the node does not answer. */
  async command(port: number, ...args: string[]): Promise<string | undefined> {
    const client = new Redis({ host: '127.0.0.1', port, ...(this.password ? { password: this.password } : {}), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return String(await client.call(args[0]!, ...args.slice(1)));
    } catch {
      return undefined;
    } finally {
      client.disconnect();
    }
  }

  private async answers(port: number): Promise<boolean> {
    return (await this.command(port, 'PING')) === 'PONG';
  }

  /**
   * Waits until every running node says `cluster_state:ok`, all agree on the masters, see every live replica as one,
   * and every replica's link to its master is up (synced: it can take over).
   */
  async waitUntilOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.settled()) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok (dir ${this.dir})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async settled(): Promise<boolean> {
    const live = this.livePorts;
    const infos = await Promise.all(live.map((port) => this.command(port, 'CLUSTER', 'INFO')));
    if (!infos.every((info) => info?.includes('cluster_state:ok'))) return false;
    const masters = await Promise.all(live.map((port) => this.mastersSeenBy(port)));
    if (!masters.every((m) => m !== undefined && m === masters[0])) return false;
    const replicas = live.length - masters[0]!.split(',').length;
    for (const port of live) {
      const view = parseNodes((await this.command(port, 'CLUSTER', 'NODES')) ?? '');
      if (view.filter((n) => !n.master && !n.failed && live.includes(n.port)).length !== replicas) return false;
    }
    const roles = await Promise.all(live.map((port) => this.command(port, 'INFO', 'replication')));
    return roles.every((r) => r !== undefined && (r.includes('role:master') || r.includes('master_link_status:up')));
  }

  /** The live masters with slots as one node sees them (sorted ports, joined), for agreement checks. */
  private async mastersSeenBy(port: number): Promise<string | undefined> {
    const nodes = await this.command(port, 'CLUSTER', 'NODES');
    if (nodes === undefined) return undefined;
    return parseNodes(nodes)
      .filter((n) => n.master && !n.failed && n.slots)
      .map((n) => n.port)
      .sort((a, b) => a - b)
      .join(',');
  }

  /** The port of the master that serves `key`'s slot (e.g. a prefix's `{hash tag}`). */
  async masterOf(key: string): Promise<number> {
    const port = this.livePorts[0]!;
    const slot = Number(await this.command(port, 'CLUSTER', 'KEYSLOT', key));
    const nodes = parseNodes((await this.command(port, 'CLUSTER', 'NODES')) ?? '');
    const owner = nodes.find((n) => n.master && !n.failed && n.ranges.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  }

  /** The ports of the nodes that are masters now (with slots). */
  async masters(): Promise<number[]> {
    const nodes = parseNodes((await this.command(this.livePorts[0]!, 'CLUSTER', 'NODES')) ?? '');
    return nodes.filter((n) => n.master && !n.failed && n.slots).map((n) => n.port);
  }

  /**
   * Kills a master outright (SIGKILL) and waits until its replica has been promoted: every remaining node counts the
   * replica as a master and says `cluster_state:ok`. Returns the promoted replica's port.
   */
  async killMaster(port: number, timeoutMs = 30_000): Promise<number> {
    const node = this.processes.get(port);
    if (!node) throw new Error(`no cluster node on ${port}`);
    const id = await this.command(port, 'CLUSTER', 'MYID');
    const replica = parseNodes((await this.command(port, 'CLUSTER', 'NODES')) ?? '').find((n) => !n.master && n.masterId === id);
    if (!id || !replica) throw new Error(`the node on ${port} is not a master with a replica`);
    const exited = once(node.process, 'exit');
    node.process.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(this.livePorts.map((p) => this.command(p, 'CLUSTER', 'NODES')));
      const promoted = views.every((v) => v !== undefined && parseNodes(v).some((n) => n.id === replica.id && n.master && n.slots));
      if (promoted) break;
      if (Date.now() > deadline) throw new Error(`the replica on ${replica.port} did not take over from the master on ${port} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.waitUntilOk(Math.max(1000, deadline - Date.now()));
    return replica.port;
  }

  /** Kills every node and removes the temp dir. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.processes.values()].map(async ({ process: proc }) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = once(proc, 'exit');
        proc.kill('SIGKILL');
        await exited;
      }),
    );
    this.processes.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}

interface NodeLine {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string | undefined;
  slots: boolean;
  ranges: Array<[number, number]>;
}

/** Parses CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`. */
function parseNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.trim().split(' ');
      const f = flags!.split(',');
      const ranges = slots
        .filter((s) => !s.startsWith('['))
        .map((s): [number, number] => {
          const [a, b] = s.split('-').map(Number);
          return [a!, b ?? a!];
        });
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':').pop()),
        master: f.includes('master'),
        failed: f.includes('fail') || f.includes('fail?'),
        masterId: master === '-' ? undefined : master,
        slots: ranges.length > 0,
        ranges,
      };
    });
}
