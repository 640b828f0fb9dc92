import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { userKey, guildKey } from '../../../src/core/ports.js';
import { GenerationFailed } from '../../../src/core/errors.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../../helpers/core.js';

const request = (input: Record<string, unknown> = {}) => fluxRequest({ prompt: 'a lighthouse at dawn', ...input });

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('generation pipeline (admission → worker → provider → delivery)', () => {
  it('delivers the image, records it for rerolls and counts the quota once', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    const worker = core.createWorker({ providers: [new PreviewProvider()], deliveries: { discord: delivery } });
    await worker.start();

    const alice = person('alice');
    const result = await core.service.submit(request({ seed: 5 }), alice, target, { dedupeKey: 'i-1' });
    expect(result).toMatchObject({ status: 'queued', userPosition: 1 });
    await delivery.until(() => delivery.recorded.length === 1);

    const d = delivery.delivered[0]!;
    expect(d.image.format).toBe('png');
    expect([d.image.width, d.image.height]).toEqual([1024, 1024]);
    expect(d.image.seed).toBe(5);
    expect(d.requester).toEqual(alice);

    const record = await core.records.find('discord', d.message.messageId);
    expect(record).toMatchObject({ seed: 5, provider: 'preview', channelId: 'c1', threadId: d.message.threadId });
    await expect.poll(async () => (await core.admin.userView(userKey(alice), guildKey(alice))).inFlight).toBe(0);
    const view = await core.admin.userView(userKey(alice), guildKey(alice));
    expect(view.usedToday).toBe(1);
  });

  it('rerolls a delivered image with a new seed in the same thread, charged to the person who reacted', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new PreviewProvider()], deliveries: { discord: delivery } }).start();
    const alice = person('alice');
    const bob = person('bob');
    await core.service.submit(request({ seed: 5, aspect_ratio: '16:9' }), alice, target, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    const first = delivery.delivered[0]!.message;

    const reroll = await core.service.reroll({ platform: 'discord', messageId: first.messageId }, bob, { dedupeKey: 'r-1' });
    expect(reroll.status).toBe('queued');
    await delivery.until(() => delivery.recorded.length === 2);
    const second = delivery.delivered[1]!;
    expect(second.request.seed).not.toBe(5);
    expect(second.request).toMatchObject({ prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', width: 1344, height: 768 });
    expect(second.target.threadId).toBe(first.threadId);
    expect(second.requester).toEqual(bob);
    expect(second.rerollOf).toBe(first.messageId);

    // The rerolled image can be rerolled again: it has its own record.
    expect(await core.records.find('discord', second.message.messageId)).toMatchObject({ rerollOf: first.messageId });
    expect((await core.admin.userView(userKey(bob), guildKey(bob))).usedToday).toBe(1);
    expect((await core.admin.userView(userKey(alice), guildKey(alice))).usedToday).toBe(1);
    expect(await core.service.reroll({ platform: 'discord', messageId: 'not-ours' }, bob, { dedupeKey: 'r-2' })).toEqual({ status: 'not_found' });
  });

  it('after a reroll failed (refunded), the same person may reroll that image again; a replay of the new one is charged once', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    // The original, then a reroll that fails for good, then the next try.
    const provider = new ScriptedProvider('preview', ['ok', new GenerationFailed('preview', 'the model could not make this one')]);
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery } }).start();
    const bob = person('bob');
    await core.service.submit(request(), person('alice'), target, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.delivered.length === 1);
    const image = delivery.delivered[0]!.message.messageId;
    // Discord's reaction key: the image and the person, the same for every reaction by bob on it.
    const key = `discord:reaction:${image}:bob`;

    const failing = await core.service.reroll({ platform: 'discord', messageId: image }, bob, { dedupeKey: key });
    expect(failing.status).toBe('queued');
    await delivery.until(() => delivery.failures.length === 1);
    await expect.poll(async () => (await core.admin.userView(userKey(bob), guildKey(bob))).usedToday).toBe(0);

    const retry = await core.service.reroll({ platform: 'discord', messageId: image }, bob, { dedupeKey: key });
    expect(retry.status).toBe('queued');
    // The same reaction event again (a gateway replay) while or after the retry runs: no second charge.
    expect(await core.service.reroll({ platform: 'discord', messageId: image }, bob, { dedupeKey: key })).toMatchObject({ status: 'duplicate' });
    await delivery.until(() => delivery.delivered.length === 2);
    expect(await core.service.reroll({ platform: 'discord', messageId: image }, bob, { dedupeKey: key })).toMatchObject({ status: 'duplicate' });
    expect((await core.admin.userView(userKey(bob), guildKey(bob))).usedToday).toBe(1);
    expect(provider.calls).toHaveLength(3);
  });

  it('re-encodes an image that exceeds the destination upload limit', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new PreviewProvider()], deliveries: { discord: delivery } }).start();
    await core.service.submit(request({ output_format: 'png' }), person('a'), { ...target, maxUploadBytes: 20_000 }, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    const img = delivery.delivered[0]!.image;
    expect(img.bytes.length).toBeLessThanOrEqual(20_000);
    expect(img.bytes.length).toBeGreaterThan(0);
  });

  it('charges a duplicate delivery of the same interaction once and answers the original job', async () => {
    core = await makeCore();
    const a = await core.service.submit(request(), person('a'), target, { dedupeKey: 'same' });
    const b = await core.service.submit(request(), person('a'), target, { dedupeKey: 'same' });
    expect(a.status).toBe('queued');
    expect(b).toEqual({ status: 'duplicate', jobId: (a as { jobId: string }).jobId });
    expect(await core.queue.count()).toBe(1);
  });

  it('builds the target only for admitted submissions, and refunds when building it fails', async () => {
    core = await makeCore({ quotas: { dailyPerUser: 1, concurrentPerUser: 5, dailyPerGuild: 100, concurrentPerGuild: 100 } });
    const alice = person('alice');
    let built = 0;
    const factory = async () => {
      built++;
      return { ...target, statusMessageId: `s${built}` };
    };
    expect(await core.service.submit(request(), alice, async () => Promise.reject(new Error('platform down')), { dedupeKey: 'x0' }).catch((e: Error) => e.message)).toBe(
      'platform down',
    );
    expect((await core.admin.userView(userKey(alice), guildKey(alice))).usedToday).toBe(0);
    const first = await core.service.submit(request(), alice, factory, { dedupeKey: 'x1' });
    expect(first.status).toBe('queued');
    expect((await core.queue.getJob((first as { jobId: string }).jobId))?.data.target.statusMessageId).toBe('s1');
    expect((await core.service.submit(request(), alice, factory, { dedupeKey: 'x1' })).status).toBe('duplicate');
    expect((await core.service.submit(request(), alice, factory, { dedupeKey: 'x2' })).status).toBe('refused');
    expect(built).toBe(1);
  });
});
