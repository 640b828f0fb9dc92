import { PermissionFlagsBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

const subject = (harness: Harness, username: string) => {
  const r = { platform: 'discord' as const, guildId: harness.fake.guild.id, userId: harness.fake.user(username).id };
  return { user: userKey(r), guild: guildKey(r) };
};

describe('quotas and admin commands on Discord', () => {
  it('refuses a /flux over the daily quota privately, saying how many and when it resets, and enqueues nothing', async () => {
    h = await Harness.start({ provider: 'preview', quotas: { dailyPerUser: 1 } });
    h.flux({ prompt: 'first', aspect_ratio: '1:1' }, { user: 'alice' });
    await h.image(0);
    const refused = h.flux({ prompt: 'second', aspect_ratio: '1:1' }, { user: 'alice' });
    const text = await h.privateReply(refused);
    expect(text).toMatch(/^You have used all 1 of your images for today\. It resets <t:\d+:R>\.$/);
    const resetSec = Number(/<t:(\d+):R>/.exec(text)![1]);
    expect(resetSec * 1000).toBeGreaterThan(Date.now());
    expect(h.fake.originalResponse(refused.id)!.flags & 64).toBe(64);
    expect(await h.jobCount()).toBe(1);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    // The status message posted for the refused request was taken down again.
    await expect.poll(() => h!.fake.messages('general').filter((m) => m.content.includes('second'))).toEqual([]);

    const quota = h.fake.interaction({ name: 'flux-quota', user: 'alice' });
    const quotaText = await h.privateReply(quota);
    expect(quotaText).toContain('You have used 1 of 1 images today; 0 left.');
    expect(quotaText).toMatch(/Your quota resets <t:\d+:R>\./);
  });

  it('refuses /flux-admin to a member without Manage Server even when invoked directly, and changes nothing', async () => {
    h = await Harness.start({ provider: 'preview' });
    const before = await h.core.admin.show({ kind: 'user', key: subject(h, 'bob').user });
    const tries = [
      h.fake.interaction({ name: 'flux-admin', subcommand: 'grant', options: { amount: 50, user: 'bob' }, user: 'bob' }),
      h.fake.interaction({ name: 'flux-admin', subcommand: 'ban', options: { user: 'alice' }, user: 'bob' }),
      // Even with permissions that look powerful but are not Manage Server.
      h.fake.interaction({ name: 'flux-admin', subcommand: 'set', options: { daily: 1000 }, user: 'bob', permissions: PermissionFlagsBits.ManageMessages | PermissionFlagsBits.SendMessages }),
    ];
    for (const i of tries) expect(await h.privateReply(i)).toBe('Only server admins can manage image quotas.');
    expect(await h.core.admin.show({ kind: 'user', key: subject(h, 'bob').user })).toEqual(before);
    expect((await h.core.admin.show({ kind: 'user', key: subject(h, 'alice').user })).banned).toBeFalsy();
    expect((await h.core.admin.show({ kind: 'guild', key: subject(h, 'bob').guild })).daily.overridden).toBe(false);
  });

  it('lets a member with Manage Server grant, ban, unban, set and show', async () => {
    h = await Harness.start({ provider: 'preview' });
    const admin = async (subcommand: string, options: Record<string, string | number> = {}) =>
      h!.privateReply(h!.fake.interaction({ name: 'flux-admin', subcommand, options, user: 'mod' }));
    const bob = h.fake.user('bob').id;
    expect(await admin('grant', { amount: 5, user: 'bob' })).toBe(`Granted 5 extra images to <@${bob}> (now 5 extra).`);
    expect(await admin('ban', { user: 'bob', reason: 'spam' })).toBe(`<@${bob}> can no longer generate images here.`);
    const banned = h.flux({ prompt: 'anything', aspect_ratio: '1:1' }, { user: 'bob' });
    expect(await h.privateReply(banned)).toBe('You are not allowed to generate images on this server (spam).');
    expect(await admin('unban', { user: 'bob' })).toBe(`<@${bob}> can generate images again.`);
    expect(await admin('set', { daily: 3, concurrent: 1 })).toBe('Limits for this server: 3 per day, 1 at once.');
    const shown = await admin('show', { user: 'bob' });
    expect(shown).toContain(`Quota for <@${bob}>`);
    expect(shown).toContain('Granted extra images left: 5');
    expect(shown).toMatch(/Resets <t:\d+:R>/);
    expect(await h.jobCount()).toBe(0);
  });
});
