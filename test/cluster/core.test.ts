import { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { QUEUE_NAME } from '../../src/core/queue/generation-queue.js';
import { ProviderLimiter } from '../../src/core/queue/provider-limiter.js';
import { reconcileQuotas } from '../../src/core/queue/reconciler.js';
import { QuotaKeys } from '../../src/core/quotas/keys.js';
import { SpreadKeys } from '../../src/core/key-space.js';
import { MemoryDelivery } from '../fakes/memory-delivery.js';
import { ScriptedProvider } from '../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, makeCore, person, silentLogger, target } from '../helpers/core.js';
import { RedisCluster } from '../helpers/redis-cluster.js';

/** The core's services that the platform flows do not reach on their own, on a real Redis Cluster. */

let cluster: RedisCluster;
let core: FluxbotCore;
beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix, core.target);
});

const onCluster = () => makeCore({ redis: { clusterNodes: cluster.nodes.slice(2, 3) } });
const view = (user: string) => core.admin.userView(`discord:g1:${user}`, 'discord:g1');

describe('quota reconciler on a cluster', () => {
  it('counts a completed job whose release was lost as delivered, refunds one whose job is gone, and recounts a drifted counter', async () => {
    core = await onCluster();
    expect(await core.quotas.admit({ jobId: 'jdone', dedupeKey: 'd1', userKey: 'discord:g1:alice', guildKey: 'discord:g1' })).toMatchObject({ status: 'accepted' });
    await core.queue.add('generate', {} as never, { jobId: 'jdone', priority: 1 });
    // A bare BullMQ worker on a Cluster connection of this core completes it without releasing (a crash's leftover).
    const plain = new Worker(QUEUE_NAME, async () => 'done', { connection: core.connect({ maxRetriesPerRequest: null }), prefix: core.prefix });
    await expect.poll(async () => (await core.queue.getJob('jdone'))?.getState(), { timeout: 10_000 }).toBe('completed');
    await plain.close();
    expect(await core.quotas.admit({ jobId: 'jgone', dedupeKey: 'd2', userKey: 'discord:g1:bob', guildKey: 'discord:g1' })).toMatchObject({ status: 'accepted' });
    // carol's in-flight counter drifted (nothing of hers is in flight).
    await core.quotas.admit({ jobId: 'jc', dedupeKey: 'd3', userKey: 'discord:g1:carol', guildKey: 'discord:g1' });
    await core.quotas.release('jc', 'refunded');
    await core.redis.set(new QuotaKeys(core.prefix).inflight('user', 'discord:g1:carol'), 7);
    expect((await view('carol')).inFlight).toBe(7);

    const result = await reconcileQuotas(core.queue, core.quotas, silentLogger, 0);
    expect(result.released).toBe(1); // bob's refund; alice's completed job was settled as delivered before
    expect(result.repaired).toBeGreaterThanOrEqual(1);
    expect(await core.quotas.pendingReservations()).toEqual([]);
    expect(await view('alice')).toMatchObject({ usedToday: 1, inFlight: 0 });
    expect(await view('bob')).toMatchObject({ usedToday: 0, inFlight: 0 });
    expect((await view('carol')).inFlight).toBe(0);
    expect(await core.quotas.release('jdone', 'refunded')).toBe(false); // released exactly once
  });
});

describe('provider limiter on a cluster', () => {
  it('holds the concurrency limit across two connections (as two worker processes would)', async () => {
    core = await onCluster();
    const [a, b] = [new ProviderLimiter(core.connect({ maxRetriesPerRequest: null }), core.prefix), new ProviderLimiter(core.connect({ maxRetriesPerRequest: null }), core.prefix)];
    const limit = { concurrency: 1, rate: 100 };
    expect((await a.tryAcquire('replicate', 'job-1', limit)).acquired).toBe(true);
    expect(await b.tryAcquire('replicate', 'job-2', limit)).toEqual({ acquired: false, retryInMs: 250 });
    const held = await b.withSlot('replicate', 'job-3', { concurrency: 2, rate: 100 }, 1000, async () => 'ran');
    expect(held).toEqual({ value: 'ran' });
  });
});

describe('key layout on a cluster', () => {
  it('after 200 jobs, the per-job and per-message keys are spread over every master; the queue and quotas sit in one slot', { timeout: 120_000 }, async () => {
    core = await makeCore({ redis: { clusterNodes: cluster.nodes.slice(2, 3) }, quotas: { dailyPerUser: 1000, concurrentPerUser: 1000, dailyPerGuild: 10_000, concurrentPerGuild: 10_000 } });
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new ScriptedProvider('replicate')], deliveries: { discord: delivery }, concurrency: 50 }).start();
    for (let n = 0; n < 200; n++) {
      const submitted = await core.service.submit(fluxRequest({ seed: n }), person(`u${n % 20}`), target, { dedupeKey: `spread-${n}` });
      expect(submitted.status).toBe('queued');
    }
    await delivery.until(() => delivery.recorded.length === 200, 90_000);

    // Each master's own keys, read from that node alone.
    const masters = core.redis instanceof Cluster ? core.redis.nodes('master') : [];
    expect(masters).toHaveLength(3);
    const spread = new SpreadKeys(core.prefix);
    const perMaster = await Promise.all(
      masters.map(async (node) => {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', spread.pattern, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        const queueKeys = (await node.scan('0', 'MATCH', `${core.prefix}*`, 'COUNT', 10_000))[1];
        return { records: keys.filter((k) => k.startsWith(`${spread.name}:r:`)).length, spread: keys.length, queueKeys: queueKeys.length };
      }),
    );
    // 200 records (one per image) and the people's histories, over all three masters.
    expect(perMaster.reduce((sum, m) => sum + m.records, 0)).toBe(200);
    for (const m of perMaster) expect(m.records).toBeGreaterThan(200 / 3 / 2);
    // The queue and the quota keys: all on the one master of the prefix's slot.
    expect(perMaster.filter((m) => m.queueKeys > 0)).toHaveLength(1);
  });
});
