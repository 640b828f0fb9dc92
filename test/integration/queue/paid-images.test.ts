import { afterEach, describe, expect, it } from 'vitest';
import { runQuotaCommand } from '../../../src/commands/flux-admin.js';
import { runHistoryCommand } from '../../../src/commands/flux-history.js';
import type { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey, type DeliveryTarget, type Requester } from '../../../src/core/ports.js';
import { reconcileQuotas } from '../../../src/core/queue/reconciler.js';
import { GenerationService, SubmitExpired } from '../../../src/core/queue/generation-service.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, makeCore, person, silentLogger, target } from '../../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

const view = (p: Requester) => core.admin.userView(userKey(p), guildKey(p));

/** A worker on a scripted provider (counts what was paid for) and an in-memory platform. */
async function start(): Promise<{ provider: ScriptedProvider; delivery: MemoryDelivery }> {
  const provider = new ScriptedProvider('replicate');
  const delivery = new MemoryDelivery();
  await core.createWorker({ providers: [provider], deliveries: { discord: delivery } }).start();
  return { provider, delivery };
}

describe('an image that exists is charged and reaches its person', () => {
  it('a channel that refuses the image for good: the person gets it privately, charged, and asking again is charged again', async () => {
    core = await makeCore();
    const { provider, delivery } = await start();
    delivery.refusingChannels.add('c1');
    const alice = person('alice');

    await core.service.submit(fluxRequest({ seed: 1 }), alice, target, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(delivery.privately).toHaveLength(1);
    expect(delivery.delivered).toHaveLength(0);
    expect(delivery.failures).toHaveLength(0); // no "no image" notice
    expect(delivery.recorded[0]).toMatchObject({ via: 'private' });
    await expect.poll(async () => (await view(alice)).inFlight).toBe(0);
    expect((await view(alice)).usedToday).toBe(1); // never refunded

    await core.service.submit(fluxRequest({ seed: 2 }), alice, target, { dedupeKey: 'i-2' });
    await delivery.until(() => delivery.recorded.length === 2);
    expect((await view(alice)).usedToday).toBe(2);
    expect(provider.calls).toHaveLength(2); // paid twice, charged twice, seen twice
    const history = await core.history.list(alice);
    expect(history.map((e) => e.record.via)).toEqual(['private', 'private']);
    expect(await core.stash.get(history[0]!.record.jobId)).toBeNull(); // delivered: no image left behind
  });

  it('nowhere to deliver: the image is kept for the person, charged, and /flux-quota and /flux-history hand it over', async () => {
    core = await makeCore();
    const { provider, delivery } = await start();
    delivery.refusingChannels.add('c1');
    delivery.unreachable.add('bob');
    const bob = person('bob');

    const submitted = await core.service.submit(fluxRequest({ seed: 7, prompt: 'a kept lighthouse' }), bob, target, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(delivery.recorded[0]).toMatchObject({ via: 'kept', messageId: `kept:${submitted.status === 'queued' ? submitted.jobId : ''}` });
    expect(delivery.failures).toHaveLength(0);
    await expect.poll(async () => (await view(bob)).inFlight).toBe(0);
    expect((await view(bob)).usedToday).toBe(1);
    expect(provider.calls).toHaveLength(1);

    const quota = await runQuotaCommand(core.admin, bob, undefined, core.history);
    expect(quota.text).toContain('1 image is kept for you');
    expect(quota.text).toContain('/flux-history');
    const history = await runHistoryCommand(core.history, bob, () => 'somewhere');
    expect(history.files).toHaveLength(1);
    expect(history.files[0]).toMatchObject({ filename: 'flux-7.png', contentType: 'image/png' });
    expect(history.files[0]!.bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(history.text).toContain('a kept lighthouse');
    expect(history.text).toContain('kept for you until');
    // Kept for days, not the stash's one day.
    const ttl = await core.redis.ttl(core.stash.key(history.files[0]!.jobId));
    expect(ttl).toBeGreaterThan(6 * 86_400);
  });

  it('a cancel that comes after the image exists (waiting for a delivery retry) is too late: the image is delivered and charged', async () => {
    core = await makeCore();
    const { provider, delivery } = await start();
    delivery.failNext(1); // a platform hiccup: BullMQ retries the delivery after its backoff
    const erin = person('erin');
    const submitted = await core.service.submit(fluxRequest(), erin, target, { dedupeKey: 'i-1' });
    if (submitted.status !== 'queued') throw new Error('not queued');
    await expect.poll(async () => {
      const job = await core.queue.getJob(submitted.jobId);
      return job?.data.stored !== undefined && (await job?.getState()) === 'delayed';
    }, { timeout: 10_000 }).toBe(true);

    expect(await core.service.cancel(submitted.jobId, erin)).toEqual({ status: 'finished' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(provider.calls).toHaveLength(1);
    await expect.poll(async () => (await view(erin)).inFlight).toBe(0);
    expect((await view(erin)).usedToday).toBe(1);
  });

  it('a job whose reservation was refunded before it started never reaches a provider', async () => {
    core = await makeCore();
    const { provider, delivery } = await start();
    const carol = person('carol');
    let postStatus!: () => void;
    const posted = new Promise<void>((resolve) => (postStatus = resolve));
    // The adapter's status post hangs (rate limits); meanwhile a reconciler with no age margin refunds the reservation.
    const submitting = core.service.submit(fluxRequest(), carol, async (): Promise<DeliveryTarget> => {
      await posted;
      return target;
    }, { dedupeKey: 'i-1' });
    await expect.poll(async () => (await core.quotas.pendingReservations()).length).toBe(1);
    await reconcileQuotas(core.queue, core.quotas, silentLogger, 0);
    expect((await view(carol)).usedToday).toBe(0);
    postStatus();
    expect(await submitting).toMatchObject({ status: 'queued' });

    await delivery.until(() => delivery.failures.length === 1);
    expect(provider.calls).toHaveLength(0); // it would have run free, past the daily and in-flight limits
    expect(delivery.failures[0]!.error.userMessage).toContain('nothing was charged');
    expect(await view(carol)).toMatchObject({ usedToday: 0, inFlight: 0 });
  });

  it('the reconciler leaves a reservation alone while its submission can still complete, and the submission gives up first', async () => {
    let now = Date.UTC(2026, 11, 2, 12);
    core = await makeCore({ clock: () => now });
    const dave = person('dave');
    await core.quotas.admit({ jobId: 'jslow', dedupeKey: 'd1', userKey: userKey(dave), guildKey: guildKey(dave) });
    now += 90_000; // a status post stuck 90 s behind Slack's rate limits
    await reconcileQuotas(core.queue, core.quotas, silentLogger);
    expect(await core.quotas.pendingReservations()).toEqual(['jslow']);

    // A submission past its deadline refunds itself and queues nothing.
    const quick = await makeCore();
    try {
      const service = new GenerationService({
        queue: quick.queue, quotas: quick.quotas, records: quick.records, cancels: quick.cancels, logger: silentLogger, submitDeadlineMs: 50,
      });
      const erin = person('erin');
      const slow = service.submit(fluxRequest(), erin, () => new Promise<DeliveryTarget>((resolve) => setTimeout(() => resolve(target), 300)), { dedupeKey: 'e1' });
      await expect(slow).rejects.toBeInstanceOf(SubmitExpired);
      expect(await quick.admin.userView(userKey(erin), guildKey(erin))).toMatchObject({ usedToday: 0, inFlight: 0 });
      expect(await quick.queue.getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0 });
    } finally {
      await quick.close(500);
      await dropPrefix(quick.prefix);
    }
  });
});
