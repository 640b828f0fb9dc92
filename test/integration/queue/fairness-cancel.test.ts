import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { QUEUE_NAME } from '../../../src/core/queue/generation-queue.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../../helpers/core.js';

const req = (prompt: string) => fluxRequest({ prompt });

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('fairness', () => {
  it('one person with 10 queued, five people with 1 each: the five start before the first person’s tenth', async () => {
    core = await makeCore();
    for (let i = 1; i <= 10; i++) await core.service.submit(req(`alice-${i}`), person('alice'), target, { dedupeKey: `a${i}` });
    for (const u of ['bob', 'carol', 'dave', 'erin', 'frank']) await core.service.submit(req(u), person(u), target, { dedupeKey: u });

    const provider = new ScriptedProvider('preview');
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 1 }).start();
    await delivery.until(() => delivery.recorded.length === 15, 30_000);

    const order = provider.calls.map((c) => c.request.prompt);
    const tenth = order.indexOf('alice-10');
    for (const u of ['bob', 'carol', 'dave', 'erin', 'frank']) expect(order.indexOf(u)).toBeLessThan(tenth);
    // Stronger: everyone's first image comes before anyone's second.
    expect(order.slice(0, 6).sort()).toEqual(['alice-1', 'bob', 'carol', 'dave', 'erin', 'frank']);
  });

  it('each submit answers how many jobs will run before it, and they then start in that order', async () => {
    core = await makeCore();
    const submits: Array<[string, string]> = [
      ['alice', 'alice-1'],
      ['alice', 'alice-2'],
      ['alice', 'alice-3'],
      ['bob', 'bob-1'],
      ['carol', 'carol-1'],
      ['bob', 'bob-2'],
    ];
    const ahead: Record<string, number> = {};
    for (const [who, prompt] of submits) {
      const r = await core.service.submit(req(prompt), person(who), target, { dedupeKey: prompt });
      if (r.status !== 'queued') throw new Error(`not queued: ${r.status}`);
      ahead[prompt] = r.position;
    }
    // Priority = the person's in-flight position; equal priorities keep their order of arrival.
    expect(ahead).toEqual({ 'alice-1': 0, 'alice-2': 1, 'alice-3': 2, 'bob-1': 1, 'carol-1': 2, 'bob-2': 4 });

    const provider = new ScriptedProvider('preview');
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 1 }).start();
    await delivery.until(() => delivery.recorded.length === submits.length, 30_000);
    const order = provider.calls.map((c) => c.request.prompt);
    expect(order).toEqual(['alice-1', 'bob-1', 'carol-1', 'alice-2', 'bob-2', 'alice-3']);
    // Answered before the later submits existed, each count is exactly the jobs started before it among the earlier ones.
    for (const [, prompt] of submits) {
      const earlier = submits.slice(0, submits.findIndex(([, p]) => p === prompt)).map(([, p]) => p);
      expect(order.slice(0, order.indexOf(prompt)).filter((p) => earlier.includes(p))).toHaveLength(ahead[prompt]!);
    }
  });
});

describe('cancel', () => {
  it('a queued job is removed at once and refunded', async () => {
    core = await makeCore();
    const alice = person('alice');
    const r = await core.service.submit(req('x'), alice, target, { dedupeKey: 'i' });
    if (r.status !== 'queued') throw new Error('not queued');
    expect(await core.service.cancel(r.jobId, person('mallory'))).toEqual({ status: 'not_owner' });
    expect(await core.service.cancel(r.jobId, alice)).toEqual({ status: 'canceled' });
    expect(await core.queue.getJob(r.jobId)).toBeUndefined();
    const view = await core.admin.userView(userKey(alice), guildKey(alice));
    expect([view.usedToday, view.inFlight]).toEqual([0, 0]);
    expect(await core.service.cancel('jnope', alice)).toEqual({ status: 'not_found' });
  });

  it('a running job is canceled on whichever worker holds it, refunded, and the person is told', async () => {
    core = await makeCore();
    const provider = new ScriptedProvider('replicate', [{ hangMs: 20_000 }]);
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery } }).start();
    const alice = person('alice');
    const r = await core.service.submit(req('x'), alice, target, { dedupeKey: 'i' });
    if (r.status !== 'queued') throw new Error('not queued');
    await expect.poll(() => provider.calls.length).toBe(1);

    expect(await core.service.cancel(r.jobId, alice)).toEqual({ status: 'canceling' });
    await delivery.until(() => delivery.failures.length === 1);
    expect(delivery.failures[0]!.error.code).toBe('canceled');
    expect(delivery.delivered).toHaveLength(0);
    await expect.poll(async () => (await core.queue.getJob(r.jobId))?.getState()).toBe('failed');
    const view = await core.admin.userView(userKey(alice), guildKey(alice));
    expect([view.usedToday, view.inFlight]).toEqual([0, 0]);
    expect(await core.service.cancel(r.jobId, alice)).toEqual({ status: 'finished' });
  });

  it('a job canceled while it waits for a provider slot ends canceled and refunded, never reaching the provider', async () => {
    core = await makeCore();
    // One generation at a time toward the provider: the first holds the slot, the second waits for it (active).
    const provider = new ScriptedProvider('replicate', [{ hangMs: 30_000 }]);
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 2, limits: { replicate: { concurrency: 1, rate: 1000 } } }).start();
    const first = await core.service.submit(req('holder'), person('alice'), target, { dedupeKey: 'holder' });
    await expect.poll(() => provider.calls.length).toBe(1);
    const bob = person('bob');
    const waiting = await core.service.submit(req('waiter'), bob, target, { dedupeKey: 'waiter' });
    if (waiting.status !== 'queued' || first.status !== 'queued') throw new Error('not queued');
    await expect.poll(async () => (await core.queue.getJob(waiting.jobId))?.getState()).toBe('active');

    expect(await core.service.cancel(waiting.jobId, bob)).toEqual({ status: 'canceling' });
    await delivery.until(() => delivery.failures.length === 1, 15_000);
    expect(delivery.failures[0]!.error.code).toBe('canceled');
    expect(provider.calls.map((c) => c.request.prompt)).toEqual(['holder']);
    await expect.poll(async () => (await core.queue.getJob(waiting.jobId))?.getState()).toBe('failed');
    const view = await core.admin.userView(userKey(bob), guildKey(bob));
    expect([view.usedToday, view.inFlight]).toEqual([0, 0]);
  }, 30_000);

  it('a cancel that finds the job locked by a worker that then dies is honoured when the stalled job runs again', async () => {
    core = await makeCore();
    const alice = person('alice');
    const r = await core.service.submit(req('orphan'), alice, target, { dedupeKey: 'orphan' });
    if (r.status !== 'queued') throw new Error('not queued');
    // A worker takes the job and dies at once (manual fetch, lock never renewed, no cancel listener: a killed process).
    const dead = new Worker(QUEUE_NAME, null, { connection: core.connect({ maxRetriesPerRequest: null }), prefix: core.prefix, lockDuration: 1000 });
    const taken = await dead.getNextJob('dead-worker-token');
    expect(taken?.id).toBe(r.jobId);
    await dead.close(true);
    // Locked: it cannot be removed, and the broadcast reaches no one.
    expect(await core.service.cancel(r.jobId, alice)).toEqual({ status: 'canceling' });

    const provider = new ScriptedProvider('replicate');
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, stalledIntervalMs: 300, lockDurationMs: 1000 }).start();
    await delivery.until(() => delivery.failures.length === 1, 15_000);
    expect(delivery.failures[0]!.error.code).toBe('canceled');
    expect(provider.calls).toHaveLength(0);
    expect(delivery.delivered).toHaveLength(0);
    const view = await core.admin.userView(userKey(alice), guildKey(alice));
    expect([view.usedToday, view.inFlight]).toEqual([0, 0]);
  }, 30_000);
});
