import type { TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { rerollRefusedPublicText } from '../../../src/bots/discord/discord-text.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { Harness } from './harness.js';
import { rerollToldKey } from '../../../src/bots/discord/reroll-refusal.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** A first image by alice in #general. */
async function firstImage(harness: Harness) {
  harness.flux({ prompt: 'a paper boat', aspect_ratio: '3:2', seed: 7 }, { user: 'alice', channel: 'general' });
  return harness.image(0);
}

const seedOf = (m: { embeds: Array<{ fields?: Array<{ name: string; value: string }> }> }) => m.embeds[0]!.fields!.find((f) => f.name === 'Seed')!.value;

describe('reroll by reaction on Discord', () => {
  it('rerolls an uncached image with a new seed in the same thread, charged to the person who reacted', async () => {
    h = await Harness.start({ provider: 'preview' });
    const first = await firstImage(h);
    // The image was posted over REST by the worker: the gateway client has never seen it.
    const thread = h.adapter.gatewayClient!.channels.cache.get(first.channelId) as TextChannel | undefined;
    expect(thread?.messages.cache.has(first.id) ?? false).toBe(false);

    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    const second = await h.image(1);
    expect(second.channelId).toBe(first.channelId);
    expect(second.content).toContain(`<@${h.fake.user('bob').id}> rerolled`);
    expect(seedOf(second)).not.toBe('7');
    expect(second.embeds[0]!.fields!.find((f) => f.name === 'Size')!.value).toBe('1216×832');
    expect(second.embeds[0]!.description).toBe('a paper boat');
    expect(await h.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    // The reroll's status message is in the thread and ends done; the new image can be rerolled again.
    const status = h.fake.messages(first.channelId).find((m) => m.content.startsWith('🔄') && m.content.includes('rerolled'))!;
    await expect.poll(() => h!.fake.message(status.id)!.content).toContain('✅ Done');
    h.fake.reactionAdd({ messageId: second.id, userId: 'alice', emoji: '🔁' });
    const third = await h.image(2);
    expect(third.channelId).toBe(first.channelId);
    expect(await h.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });
  });

  it('rerolls a message the client has cached', async () => {
    h = await Harness.start({ provider: 'preview' });
    const first = await firstImage(h);
    const client = h.adapter.gatewayClient!;
    const thread = client.channels.cache.get(first.channelId) as TextChannel;
    const cached = await thread.messages.fetch(first.id);
    expect(cached.partial).toBe(false);
    expect(cached.author.id).toBe(h.fake.bot.id);

    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    const second = await h.image(1);
    expect(second.channelId).toBe(first.channelId);
    expect(await h.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('rerolls an image posted before a restart of the bot', async () => {
    h = await Harness.start({ provider: 'preview' });
    const first = await firstImage(h);
    await h.stopBot();
    await h.startBot(); // a new core, worker and adapter on the same Redis prefix
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    const second = await h.image(1);
    expect(second.channelId).toBe(first.channelId);
    expect(second.content).toContain('rerolled');
    expect(await h.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('ignores other emoji, other messages and the bot itself, and charges a replayed reaction once', async () => {
    h = await Harness.start({ provider: 'preview' });
    const first = await firstImage(h);
    const general = h.fake.channel('general');
    const someoneElse = h.fake.addMessage('general', { author: h.fake.user('alice'), content: 'nice!' });
    const botText = h.fake.addMessage('general', { author: h.fake.bot, content: 'a message of the bot that is no image' });
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob', emoji: '👍' });
    h.fake.reactionAdd({ messageId: someoneElse.id, userId: 'bob' });
    h.fake.reactionAdd({ messageId: botText.id, channelId: general.id, userId: 'bob' });
    // The bot's 🔄 on the first image came back on the gateway too (as on Discord) and was ignored.
    expect(h.fake.message(first.id)!.reactions[0]!.userIds.has(h.fake.bot.id)).toBe(true);

    // The same MESSAGE_REACTION_ADD twice (a replay), then a remove and re-add, and 🔁 as well: one reroll.
    const event = {
      user_id: h.fake.user('bob').id,
      channel_id: first.channelId,
      message_id: first.id,
      guild_id: h.fake.guild.id,
      emoji: { id: null, name: '🔄' },
      burst: false,
      type: 0,
      member: { user: { id: h.fake.user('bob').id, username: 'bob', discriminator: '0', global_name: null, avatar: null }, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
    };
    h.fake.dispatch('MESSAGE_REACTION_ADD', event);
    h.fake.dispatch('MESSAGE_REACTION_ADD', event);
    await h.image(1);
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob', emoji: '🔁' });
    h.fake.reactionRemove({ messageId: first.id, userId: 'bob', emoji: '🔁' });
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob', emoji: '🔁' });
    // A reaction that does count, after all the ignored ones: once it is delivered, the others have been handled.
    h.fake.reactionAdd({ messageId: first.id, userId: 'alice' });
    await h.image(2);
    await expect.poll(() => h!.jobCount()).toBe(3);
    expect(await h.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await h.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });
    expect(h.fake.callsTo('addOwnReaction')).toHaveLength(3);
    // Replays posted a status message and removed it again; none is left behind but the three real ones.
    const statuses = h.fake.messages().filter((m) => m.author.id === h!.fake.bot.id && /^(🎨|🔄) <@/.test(m.content) && !m.attachments.length);
    expect(statuses).toHaveLength(3);
  });

  it('tells a banned person why by DM, once per image, and never puts the ban reason in public', async () => {
    h = await Harness.start({ provider: 'preview' });
    const first = await firstImage(h);
    const bob = h.fake.user('bob');
    const bobKey = userKey({ platform: 'discord', guildId: h.fake.guild.id, userId: bob.id });
    await h.core.admin.ban(userKey({ platform: 'discord', guildId: h.fake.guild.id, userId: h.fake.user('mod').id }), bobKey, 'posted spam in general');
    const publicBefore = h.fake.messages().filter((m) => m.guildId !== null).length;

    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    await expect.poll(() => h!.fake.dms('bob').length).toBe(1);
    const [dm] = h.fake.dms('bob');
    expect(dm!.content).toBe(`I couldn’t reroll the image you reacted to in <#${first.channelId}>. You are not allowed to generate images on this server (posted spam in general).`);

    // 🔁 as well, a remove and a re-add, a replayed event: nobody is told twice, nothing reaches the thread.
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob', emoji: '🔁' });
    h.fake.reactionRemove({ messageId: first.id, userId: 'bob' });
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    // A reaction that counts, after the refused ones: once its image is delivered, those have been handled.
    h.fake.reactionAdd({ messageId: first.id, userId: 'alice' });
    await h.image(1);
    expect(h.fake.dms('bob')).toHaveLength(1);
    expect(h.fake.callsTo('createDm')).toHaveLength(1);
    const guildMessages = h.fake.messages().filter((m) => m.guildId !== null);
    expect(guildMessages.filter((m) => m.content.includes('spam') || m.content.includes(bob.id))).toEqual([]);
    expect(guildMessages).toHaveLength(publicBefore + 2); // alice's reroll: its status message and its image
    const v = await h.core.admin.userView(bobKey, guildKey({ platform: 'discord', guildId: h.fake.guild.id }));
    expect({ usedToday: v.usedToday, inFlight: v.inFlight }).toEqual({ usedToday: 0, inFlight: 0 });
    expect(await h.redisTtl(rerollToldKey(h.prefix, first.id, bob.id))).toBeGreaterThan(86_000);
  });

  it('over the quota with DMs closed: one line in the thread, without the reason, once', async () => {
    h = await Harness.start({ provider: 'preview', quotas: { dailyPerUser: 1 } });
    const first = await firstImage(h);
    h.fake.blockDms('alice');
    h.fake.reactionAdd({ messageId: first.id, userId: 'alice' });
    const line = await h.fake.waitFor((c) => c.route === 'createMessage' && c.params.channelId === first.channelId && c.status === 200 && c.files.length === 0 && String((c.body as { content: string }).content).includes('reroll'));
    const alice = h.fake.user('alice');
    expect((line.body as { content: string }).content).toBe(rerollRefusedPublicText(alice.id));
    expect(line.body).toMatchObject({ allowed_mentions: { users: [alice.id] } });
    // The DM was tried first and refused.
    expect(h.fake.callsTo((c) => c.route === 'createMessage' && c.status === 403).map((c) => (c.response as { code: number }).code)).toEqual([50007]);

    h.fake.blockDms('alice', false);
    h.fake.reactionAdd({ messageId: first.id, userId: 'alice', emoji: '🔁' });
    h.fake.reactionAdd({ messageId: first.id, userId: 'bob' }); // counts: bob has images left
    await h.image(1);
    const thread = h.fake.messages(first.channelId);
    expect(thread.filter((m) => m.content === rerollRefusedPublicText(alice.id))).toHaveLength(1);
    expect(thread.filter((m) => m.content.includes('used all'))).toEqual([]);
    expect(h.fake.dms('alice')).toEqual([]);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});
