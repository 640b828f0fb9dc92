import type { TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

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
});
