import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
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
});
