import { afterEach, describe, expect, it } from 'vitest';
import { userKey } from '../../../src/core/ports.js';
import { ADMIN, CHANNEL, MEMBER, MODES, OTHER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function firstImage(harness: SlackHarness) {
  await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a paper boat seed:5' });
  const [image] = await harness.delivered(1);
  if (!image?.thread_ts) throw new Error('no image in a thread');
  return { ts: image.ts, thread: image.thread_ts };
}

const banned = (reason: string) => `You are not allowed to generate images on this server (${reason}).`;

describe.each(MODES)('refused rerolls (%s mode)', (mode) => {
  it('a banned member’s 🔄 is answered to them only, in the thread: the ban reason is never public, nothing is charged', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    const first = await firstImage(h);
    await h.core.admin.ban(`slack:${fake.config.teamId}:${ADMIN}`, userKey({ platform: 'slack', guildId: fake.config.teamId, userId: OTHER }), 'spamming the channel');
    const posts = fake.callsTo('chat.postMessage').length;

    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    const told = await fake.until(() => fake.workspace.ephemerals.find((e) => e.user === OTHER), 10_000, 'the private answer');

    expect(told).toMatchObject({ channel: CHANNEL, thread_ts: first.thread, text: banned('spamming the channel') });
    expect(fake.callsTo('chat.postMessage')).toHaveLength(posts);
    expect(fake.messagesIn(CHANNEL).filter((m) => m.text.includes('spamming'))).toEqual([]);
    expect(await h.usedToday(OTHER)).toBe(0);
    expect(await h.jobCount()).toBe(1);
  });
});

describe('refused rerolls', () => {
  it('over the daily quota: told privately', async () => {
    h = await SlackHarness.start('http', { quotas: { dailyPerUser: 1 } });
    const { fake } = h;
    const first = await firstImage(h);

    await fake.reactionAdded({ user: MEMBER, reaction: 'arrows_counterclockwise', channel: CHANNEL, ts: first.ts });
    const told = await fake.until(() => fake.workspace.ephemerals.find((e) => e.user === MEMBER), 10_000, 'the private answer');

    expect(told.text).toMatch(/^You have used all 1 of your images for today\. It resets <!date\^/);
    expect(h.images()).toHaveLength(1);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('when Slack will not show them an ephemeral message (not in the channel), the refusal comes by direct message, never in public', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const first = await firstImage(h);
    await h.core.admin.ban(`slack:${fake.config.teamId}:${ADMIN}`, userKey({ platform: 'slack', guildId: fake.config.teamId, userId: OTHER }), 'spamming the channel');
    fake.failNext('chat.postEphemeral', 'user_not_in_channel');

    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    const dm = fake.dmChannel(OTHER);
    const [message] = await fake.until(() => (fake.messagesIn(dm).length > 0 ? fake.messagesIn(dm) : undefined), 10_000, 'the direct message');

    expect(message?.text).toBe(banned('spamming the channel'));
    expect(fake.messagesIn(CHANNEL).filter((m) => m.text.includes('spamming'))).toEqual([]);
    expect(await h.usedToday(OTHER)).toBe(0);
  });
});
