import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL, MEMBER, MODES, OTHER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Posts other than the images' buttons (which carry blocks): status messages and answers. */
function textPosts(harness: SlackHarness) {
  return harness.fake.callsTo('chat.postMessage').filter((c) => c.args.blocks === undefined);
}

/** Runs `/flux` and resolves with the delivered image message and its thread. */
async function firstImage(harness: SlackHarness) {
  await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a paper boat aspect_ratio:16:9 seed:5' });
  const [image] = await harness.delivered(1);
  if (!image?.thread_ts) throw new Error('no image in a thread');
  return { ts: image.ts, thread: image.thread_ts };
}

describe.each(MODES)('reroll by reaction (%s mode)', (mode) => {
  it('rerolls a delivered image in the same thread with a new seed, charged to the person who reacted, and again from the reroll', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    const first = await firstImage(h);

    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    const second = (await h.delivered(2))[1];

    expect(second?.thread_ts).toBe(first.thread);
    expect(second?.text).toMatch(/1344×768 .* rerolled by <@U0OTHER>/);
    expect(second?.text).not.toContain('seed 5 ');
    const record = await h.core.records.find('slack', second?.ts ?? '');
    expect(record).toMatchObject({ rerollOf: first.ts, requester: { userId: OTHER }, request: { prompt: 'a paper boat', aspect_ratio: '16:9' } });
    expect(record?.request.seed).not.toBe(5);
    // The reroll's own status reply in the thread ends as done.
    const status = fake.messagesIn(CHANNEL, first.thread).find((m) => m.text.includes('rerolled:'));
    await fake.until(() => fake.message(CHANNEL, status?.ts ?? '')?.text.includes('Done'));

    await fake.reactionAdded({ user: MEMBER, reaction: 'arrows_counterclockwise', channel: CHANNEL, ts: second?.ts ?? '' });
    const third = (await h.delivered(3))[2];
    expect(third?.thread_ts).toBe(first.thread);
    expect(await h.core.records.find('slack', third?.ts ?? '')).toMatchObject({ rerollOf: second?.ts });
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(2);
  });

  it('charges a redelivered reaction event (same event_id, x-slack-retry-num) once', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    const first = await firstImage(h);

    const event = await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    const retry = await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts }, { eventId: event.eventId, retryNum: 1 });

    expect([event.ok, retry.ok]).toEqual([true, true]);
    await h.delivered(2);
    // The redelivery is answered "duplicate" before anything is posted: one status message per image.
    expect(h.images()).toHaveLength(2);
    expect(textPosts(h)).toHaveLength(2);
    expect(fake.workspace.deleted).toHaveLength(0);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
  });

  it('ignores other reactions, reactions on other messages and its own reactions', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    const first = await firstImage(h);
    const chatter = fake.seedMessage({ channel: CHANNEL, user: MEMBER, text: 'nice!' });
    const posts = textPosts(h).length;

    await fake.reactionAdded({ user: OTHER, reaction: 'thumbsup', channel: CHANNEL, ts: first.ts });
    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: chatter.ts });
    await fake.reactionAdded({ user: fake.config.botUserId, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    // A real reroll afterwards: once it is delivered, the events before it have long been handled.
    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: first.ts });
    await h.delivered(2);

    expect(h.images()).toHaveLength(2);
    // Only the real reroll posted (its status reply); nothing answered the ignored events.
    expect(textPosts(h).length).toBe(posts + 1);
    expect(fake.workspace.ephemerals).toEqual([]);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
  });
});
