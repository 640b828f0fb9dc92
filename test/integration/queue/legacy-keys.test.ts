import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { INPUT_REFERENCE_PREFIX } from '../../../src/core/images/input-store.js';
import { packRecord, unpackRecord, type JobRecord } from '../../../src/core/jobs/job-records.js';
import { userKey } from '../../../src/core/ports.js';
import { makeImage } from '../../fakes/fake-server.js';
import { dropPrefix, fluxRequest, makeCore, person } from '../../helpers/core.js';

/**
 * Keys written before the spread layout (issue 14: `{prefix}:record:…`, `:history:`, `:image:`, `:input:`) are still
 * found for their lifetime, so an upgrade loses no reroll, history entry, kept image or stored input.
 */
let core: FluxbotCore;
beforeEach(async () => {
  core = await makeCore();
});
afterEach(async () => {
  await core.close(100);
  await dropPrefix(core.prefix);
});

function record(messageId: string, extra: Partial<JobRecord> = {}): JobRecord {
  const who = person('u1');
  return {
    jobId: `j${messageId}`,
    request: fluxRequest({ seed: 9 }),
    requester: who,
    target: { platform: 'discord', channelId: 'c1', statusMessageId: 's1' },
    platform: 'discord',
    messageId,
    channelId: 'c1',
    provider: 'preview',
    seed: 9,
    createdAt: 1000,
    ...extra,
  };
}

describe('keys from before the spread layout', () => {
  it('a record stored whole under the old key is found, and removed from both layouts', async () => {
    const old = record('m-old');
    await core.redis.set(`${core.prefix}:record:discord:m-old`, JSON.stringify(old), 'EX', 3600);
    expect(await core.records.find('discord', 'm-old')).toEqual(old);
    await core.records.remove('discord', 'm-old');
    expect(await core.records.find('discord', 'm-old')).toBeUndefined();
  });

  it("a person's history merges both layouts, newest first, and finds kept images in the old stash", async () => {
    const who = person('u1');
    const kept = record('kept:jold', { jobId: 'jold', via: 'kept', createdAt: 1000 });
    await core.redis.set(`${core.prefix}:record:discord:kept:jold`, JSON.stringify(kept));
    await core.redis.zadd(`${core.prefix}:history:${userKey(who)}`, 1000, 'discord:kept:jold');
    await core.redis.set(`${core.prefix}:image:jold`, Buffer.from('old bytes'), 'EX', 3600);
    const fresh = record('m-new', { createdAt: 2000 });
    const entry = core.records.entry(fresh);
    await core.redis.set(entry.key, entry.value);
    await core.redis.zadd(core.history.key(userKey(who)), 2000, 'discord:m-new');

    const list = await core.history.list(who);
    expect(list.map((e) => e.record.messageId)).toEqual(['m-new', 'kept:jold']);
    expect(list[1]!.kept?.bytes.toString()).toBe('old bytes');
    expect(list[1]!.kept!.keptUntil).toBeGreaterThan(Date.now() + 3_500_000);
    expect((await core.stash.get('jold'))?.toString()).toBe('old bytes');
    await core.stash.delete('jold');
    expect(await core.stash.get('jold')).toBeNull();
  });

  it('an input image stored under the old key is still found, checked and resolved', async () => {
    const png = await makeImage(80, 80, 'png');
    const reference = await core.inputs.put(png, 'image/png', { width: 80, height: 80 });
    const hash = reference.slice(INPUT_REFERENCE_PREFIX.length);
    // Moved to where an older version kept it.
    await core.redis.rename(core.inputs.key(hash), `${core.prefix}:input:${hash}`);
    expect(await core.inputs.lookup(reference)).toEqual({ size: { width: 80, height: 80 } });
    const request = { ...fluxRequest({ model: 'flux-2-pro' }), images: [reference] };
    await expect(core.inputs.check(request)).resolves.toBeUndefined();
    expect((await core.inputs.resolve(request)).images![0]).toBe(`data:image/png;base64,${png.toString('base64')}`);
  });
});

describe('records as stored', () => {
  it('leave out what they repeat and come back whole', () => {
    const whole = record('m1', { target: { platform: 'discord', channelId: 'c1', threadId: 't1', extra: { statusChannelId: 'c1' } } });
    const stored = JSON.parse(packRecord(whole)) as Record<string, unknown>;
    expect(stored.seed).toBeUndefined();
    expect(stored.target).toEqual({ threadId: 't1', extra: { statusChannelId: 'c1' } });
    expect(stored.requester).toEqual({ guildId: 'g1', userId: 'u1' });
    expect(unpackRecord(stored)).toEqual(whole);
  });

  it('keep what differs: a seed other than the request’s, an image posted elsewhere than asked (a DM)', () => {
    const dm = record('dm1', { seed: 10, channelId: 'dm-u1', via: 'private' });
    const stored = JSON.parse(packRecord(dm)) as Record<string, unknown>;
    expect(stored.seed).toBe(10);
    expect((stored.target as Record<string, unknown>).channelId).toBe('c1');
    expect(unpackRecord(stored)).toEqual(dm);
  });
});
