import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { QUEUE_NAME } from '../../../src/core/queue/generation-queue.js';
import { reconcileQuotas } from '../../../src/core/queue/reconciler.js';
import { dropPrefix, makeCore, silentLogger } from '../../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

const usage = async (user: string) => (await core.admin.userView(`discord:g1:${user}`, 'discord:g1')).usedToday;

describe('quota reconciler (crash leftovers)', () => {
  it('counts a completed job whose release was lost as delivered, and refunds one whose job is gone', async () => {
    core = await makeCore();
    // alice's job completed, but the worker died before releasing its reservation.
    expect(await core.quotas.admit({ jobId: 'jdone', dedupeKey: 'd1', userKey: 'discord:g1:alice', guildKey: 'discord:g1' })).toMatchObject({ status: 'accepted' });
    await core.queue.add('generate', {} as never, { jobId: 'jdone', priority: 1 });
    const plain = new Worker(QUEUE_NAME, async () => 'done', { connection: { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null }, prefix: core.prefix });
    await expect.poll(async () => (await core.queue.getJob('jdone'))?.getState()).toBe('completed');
    await plain.close();
    // bob was admitted, but the bot died before adding his job.
    expect(await core.quotas.admit({ jobId: 'jgone', dedupeKey: 'd2', userKey: 'discord:g1:bob', guildKey: 'discord:g1' })).toMatchObject({ status: 'accepted' });

    await reconcileQuotas(core.queue, core.quotas, silentLogger, 0);
    expect(await core.quotas.pendingReservations()).toEqual([]);
    expect(await usage('alice')).toBe(1);
    expect(await usage('bob')).toBe(0);
    expect((await core.admin.userView('discord:g1:alice', 'discord:g1')).inFlight).toBe(0);
    expect(await core.quotas.release('jdone', 'refunded')).toBe(false); // released exactly once
  });

  it('leaves young reservations alone: their job may still be on its way into the queue', async () => {
    core = await makeCore();
    await core.quotas.admit({ jobId: 'jyoung', dedupeKey: 'd3', userKey: 'discord:g1:carol', guildKey: 'discord:g1' });
    await reconcileQuotas(core.queue, core.quotas, silentLogger, 60_000);
    expect(await core.quotas.pendingReservations()).toEqual(['jyoung']);
    expect(await usage('carol')).toBe(1);
  });
});
