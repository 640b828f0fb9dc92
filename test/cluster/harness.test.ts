import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, masterNodes, scanKeys, type RedisClient } from '../../src/core/redis-connection.js';
import { RedisCluster } from '../helpers/redis-cluster.js';

let cluster: RedisCluster;
let client: RedisClient;
beforeAll(async () => {
  cluster = await RedisCluster.start();
  client = createRedisClient({ url: 'redis://unused', clusterNodes: cluster.nodes.slice(0, 1) }, { maxRetriesPerRequest: null });
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.close();
});

describe('the test Redis Cluster', () => {
  it('has three masters with a replica each; a client seeded with one node reaches keys on every master', async () => {
    expect((await cluster.masters()).length).toBe(3);
    expect(cluster.livePorts.length).toBe(6);
    // Keys spread over the slots land on different masters; SCAN through scanKeys sees them all.
    const keys = Array.from({ length: 30 }, (_, i) => `harness-key-${i}`);
    for (const k of keys) await client.set(k, '1');
    const owners = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
    expect(owners.size).toBe(3);
    expect(masterNodes(client).length).toBe(3);
    const seen: string[] = [];
    await scanKeys(client, 'harness-key-*', async (batch) => void seen.push(...batch));
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('promotes the replica when a master is killed, and the client follows it', async () => {
    const key = '{harness}:failover';
    const master = await cluster.masterOf(key);
    // Replication is asynchronous: the write is made and WAITed for on the master's own connection, so the replica
    // holds it before the kill (a write acknowledged in the master's last instant may be lost with it otherwise).
    const node = masterNodes(client).find((n) => n.options.port === master)!;
    await node.set(key, 'before');
    expect(await node.call('WAIT', 1, 5000)).toBe(1);
    const promoted = await cluster.killMaster(master);
    expect(promoted).not.toBe(master);
    expect(await cluster.masterOf(key)).toBe(promoted);
    // Written before the kill, replicated, and writable on the new master.
    expect(await client.get(key)).toBe('before');
    await client.set(key, 'after');
    expect(await cluster.command(promoted, 'GET', key)).toBe('after');
    expect(cluster.livePorts.length).toBe(5);
  });
});
