import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, CHANNEL, MEMBER, OTHER, SlackHarness } from '../e2e/slack/harness.js';
import { RedisCluster } from '../helpers/redis-cluster.js';

/** The Slack flows on a real Redis Cluster: the real Bolt (HTTP and Socket Mode) against the fake Slack. */

let cluster: RedisCluster;
let h: SlackHarness | undefined;
beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const onCluster = (quotas: { dailyPerUser?: number } = {}) => ({ core: { redis: { clusterNodes: cluster.nodes } }, quotas });

describe.each(['http', 'socket'] as const)('Slack on a Redis Cluster (%s mode)', (mode) => {
  it('/flux to a delivered image, a 🔄 reroll of it, and a refusal over the daily quota', async () => {
    h = await SlackHarness.start(mode, onCluster({ dailyPerUser: 1 }));
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a paper boat seed:5' });
    const [image] = await h.delivered(1);
    expect(await h.core.records.find('slack', image!.ts)).toMatchObject({ seed: 5, channelId: CHANNEL });

    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: image!.ts });
    const second = (await h.delivered(2))[1];
    expect(second?.thread_ts).toBe(image!.thread_ts);
    expect(second?.text).toMatch(/rerolled by <@U0OTHER>/);

    expect(await h.privateAnswer(MEMBER, '/flux', 'another boat')).toMatch(/^You have used all 1 of your images for today\./);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(1);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
    expect(await h.inFlight(MEMBER)).toBe(0);
    expect(await h.jobCount()).toBe(2);
  });

  it('/flux-admin grants and bans on the cluster, and the bot applies them at once', async () => {
    h = await SlackHarness.start(mode, { ...onCluster({ dailyPerUser: 0 }), worker: false });
    expect(await h.privateAnswer(ADMIN, '/flux-admin', `grant 2 <@${MEMBER}>`)).toBe(`Granted 2 extra images to <@${MEMBER}> (now 2 extra).`);
    expect(await h.privateAnswer(ADMIN, '/flux-admin', `ban <@${OTHER}> spam`)).toBe(`<@${OTHER}> can no longer generate images here.`);
    expect(await h.privateAnswer(OTHER, '/flux', 'a cat')).toBe('You are not allowed to generate images on this server (spam).');
    expect(await h.privateAnswer(ADMIN, '/flux-admin', `show <@${MEMBER}>`)).toContain('Granted extra images left: 2');
    expect(await h.jobCount()).toBe(0);
  });
});
