import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { isInputReference } from '../../../src/core/images/input-store.js';
import type { JobRecord } from '../../../src/core/jobs/job-records.js';
import { guildKey, userKey, type Requester } from '../../../src/core/ports.js';
import { makeImage } from '../../fakes/fake-server.js';
import { dropPrefix, fluxRequest, makeCore, person } from '../../helpers/core.js';

/**
 * The actions on a delivered image (ImageActions, wired on the core) against real Redis and the real queue: what
 * Vary and Edit submit (the image as `images[0]`, on which model), who is charged, and what is refused as a value.
 * No worker runs: submitted jobs stay in the queue to be read.
 */

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

const alice = person('alice');
const bob = person('bob');
const stranger = person('eve', 'g2');
const ref = { platform: 'discord' as const, messageId: 'm1' };

/** Saves the record of an image alice got in thread t1, as the worker would after delivering it. */
async function recordImage(c: FluxbotCore, request = fluxRequest({ prompt: 'a paper boat', seed: 7 }), overrides: Partial<JobRecord> = {}): Promise<JobRecord> {
  const record: JobRecord = {
    jobId: 'jorig',
    request,
    requester: alice,
    target: { platform: 'discord', channelId: 'c1', statusMessageId: 's1', extra: { statusChannelId: 'c1' } },
    platform: 'discord',
    messageId: ref.messageId,
    channelId: 'c1',
    threadId: 't1',
    provider: 'preview',
    seed: request.seed,
    createdAt: Date.now(),
    ...overrides,
  };
  const entry = c.records.entry(record);
  await c.redis.set(entry.key, entry.value, 'EX', entry.ttlSeconds);
  return record;
}

const used = async (who: Requester) => (await core.admin.userView(userKey(who), guildKey(who))).usedToday;

async function onlyJob() {
  const jobs = await core.queue.getJobs(['waiting', 'prioritized']);
  expect(jobs).toHaveLength(1);
  return jobs[0]!.data;
}

describe('image actions', () => {
  it('Vary: the image as images[0], the same prompt, a new seed, on FLUX_EDIT_MODEL when its model takes no images; charged to who clicked, in the image’s thread', async () => {
    core = await makeCore({ editModel: 'flux-kontext-pro' });
    await recordImage(core);
    const png = await makeImage(96, 64);
    const result = await core.actions.vary(ref, bob, { dedupeKey: 'discord:interaction:1', image: async () => png, jobId: 'jorig' });
    expect(result.status).toBe('queued');
    const data = await onlyJob();
    expect(data.request.model).toBe('flux-kontext-pro');
    expect(data.request.prompt).toBe('a paper boat');
    expect(data.request.seed).not.toBe(7);
    expect(data.request.images).toHaveLength(1);
    expect(isInputReference(data.request.images![0])).toBe(true);
    // The stored reference holds the clicked image's bytes, and the edit follows its shape.
    const resolved = await core.inputs.resolve(data.request);
    expect(resolved.images![0]).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(data.inputSizes).toEqual([[96, 64]]);
    expect(data.requester).toEqual(bob);
    expect(data.target).toMatchObject({ channelId: 'c1', threadId: 't1' });
    expect(data.target.statusMessageId).toBeUndefined();
    expect(await used(bob)).toBe(1);
    expect(await used(alice)).toBe(0);
  });

  it('Vary stays on the image’s own model when it takes images', async () => {
    core = await makeCore();
    await recordImage(core, fluxRequest({ prompt: 'a fox', model: 'flux-2-dev', aspect_ratio: '1:1' }));
    await core.actions.vary(ref, bob, { dedupeKey: 'k', image: async () => makeImage(80, 80) });
    expect((await onlyJob()).request.model).toBe('flux-2-dev');
  });

  it('Edit: the person’s prompt on the edit model by default, or on a model they name among those that edit', async () => {
    core = await makeCore();
    await recordImage(core);
    const image = async () => makeImage(80, 80);
    expect((await core.actions.edit(ref, bob, { dedupeKey: 'e1', image, prompt: 'make it night' })).status).toBe('queued');
    const first = await onlyJob();
    expect(first.request).toMatchObject({ prompt: 'make it night', model: 'flux-2-pro' });
    expect(first.request.images).toHaveLength(1);

    const refused = await core.actions.edit(ref, bob, { dedupeKey: 'e2', image, prompt: 'make it night', model: 'flux-schnell' });
    expect(refused).toEqual({ status: 'invalid', message: expect.stringContaining('flux-schnell does not edit images') });
    expect((await core.actions.edit(ref, bob, { dedupeKey: 'e3', image, prompt: 'make it night', model: 'flux-kontext-max' })).status).toBe('queued');
    expect(await used(bob)).toBe(2);
  });

  it('refuses as values, with nothing charged or queued: another server’s image, a stale job id, no image, a banned person', async () => {
    core = await makeCore();
    await recordImage(core);
    const image = async () => makeImage(80, 80);
    expect(await core.actions.vary(ref, stranger, { dedupeKey: 'a', image })).toEqual({ status: 'other_guild' });
    expect(await core.actions.reroll(ref, stranger, { dedupeKey: 'b' })).toEqual({ status: 'other_guild' });
    expect(await core.actions.vary(ref, bob, { dedupeKey: 'c', image, jobId: 'jother' })).toEqual({ status: 'not_found' });
    expect(await core.actions.vary({ platform: 'discord', messageId: 'nope' }, bob, { dedupeKey: 'd', image })).toEqual({ status: 'not_found' });
    expect(await core.actions.vary(ref, bob, { dedupeKey: 'e', image: async () => undefined })).toEqual({ status: 'no_image' });
    await core.admin.ban(userKey(alice), userKey(bob), 'spam');
    expect(await core.actions.vary(ref, bob, { dedupeKey: 'f', image })).toMatchObject({ status: 'refused', reason: 'banned' });
    expect(await core.actions.edit(ref, bob, { dedupeKey: 'g', image, prompt: 'x' })).toMatchObject({ status: 'refused', reason: 'banned' });
    expect(await core.queue.getJobs(['waiting', 'prioritized'])).toEqual([]);
    expect(await used(bob)).toBe(0);
  });

  it('the same click twice is charged once', async () => {
    core = await makeCore();
    await recordImage(core);
    const image = async () => makeImage(80, 80);
    const first = await core.actions.vary(ref, bob, { dedupeKey: 'discord:interaction:9', image });
    const again = await core.actions.vary(ref, bob, { dedupeKey: 'discord:interaction:9', image });
    expect(first.status).toBe('queued');
    expect(again).toMatchObject({ status: 'duplicate' });
    expect(await used(bob)).toBe(1);
  });

  it('Delete: the requester or someone who may manage messages; the record is forgotten afterwards', async () => {
    core = await makeCore();
    await recordImage(core);
    expect(await core.actions.delete(ref, bob, { canManage: false })).toEqual({ status: 'not_allowed' });
    expect(await core.actions.delete(ref, stranger, { canManage: true })).toEqual({ status: 'other_guild' });
    expect(await core.actions.delete(ref, bob, { canManage: true })).toEqual({ status: 'allowed', channelId: 't1', messageId: 'm1' });
    expect(await core.actions.delete(ref, alice, { canManage: false })).toEqual({ status: 'allowed', channelId: 't1', messageId: 'm1' });
    await core.actions.forget(ref);
    expect(await core.actions.delete(ref, alice, { canManage: false })).toEqual({ status: 'not_found' });
  });

  it('Cancel: the requester or an admin of the same server; refunded', async () => {
    core = await makeCore();
    const queued = await core.service.submit(fluxRequest(), alice, { platform: 'discord', channelId: 'c1' }, { dedupeKey: 'q' });
    if (queued.status !== 'queued') throw new Error(queued.status);
    expect(await core.actions.cancel(queued.jobId, stranger, { admin: true })).toEqual({ status: 'other_guild' });
    expect(await core.actions.cancel(queued.jobId, bob, { admin: false })).toEqual({ status: 'not_owner' });
    expect(await core.actions.cancel(queued.jobId, bob, { admin: true })).toEqual({ status: 'canceled' });
    expect(await used(alice)).toBe(0);
    expect(await core.actions.cancel(queued.jobId, alice, { admin: false })).toEqual({ status: 'not_found' });
  });
});
