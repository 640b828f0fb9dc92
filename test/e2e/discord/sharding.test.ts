import { afterEach, describe, expect, it } from 'vitest';
import type { FakeGuildInit, FakeMessage, GatewayFrame } from '../../fakes/discord/index.js';
import { GUILD, Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  const unmatched = h?.fake.unmatchedCalls ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
  expect(unmatched).toEqual([]);
});

/**
 * Two guilds whose snowflake timestamps (id >> 22) differ by one: with 2 shards (and with 3) they land on shards 0
 * and 1, so each guild's events belong to a different gateway connection.
 */
const BASE = 300_000_000_000n;
const STUDIO: FakeGuildInit = { ...GUILD, id: (BASE << 22n).toString() };
const HARBOR: FakeGuildInit = {
  id: ((BASE + 1n) << 22n).toString(),
  name: 'Harbor',
  channels: [{ name: 'lobby' }],
  members: [{ user: { username: 'carol' } }, { user: { username: 'dave' } }],
};

const shardsIdentified = (frames: GatewayFrame[]) =>
  frames
    .filter((f) => f.op === 2)
    .map((f) => (f.d as { shard: [number, number] }).shard)
    .sort((a, b) => a[0] - b[0]);

/** The `nth` image the bot delivered (its own 🔄 on it marks the job record) in a thread of `guildId`. */
async function imageIn(harness: Harness, guildId: string, nth: number): Promise<FakeMessage> {
  const fake = harness.fake;
  const ofGuild = (c: { route: string | null; status: number; params: Record<string, string> }) =>
    c.route === 'addOwnReaction' && c.status === 204 && fake.channel(c.params.channelId!).guildId === guildId;
  const call = await fake.waitFor((c) => ofGuild(c) && fake.calls.filter(ofGuild).indexOf(c) === nth, 15_000);
  return fake.message(call.params.messageId!)!;
}

/** The shards whose sessions got dispatches of type `t` matching `pick`. */
function shardsOf(harness: Harness, t: string, pick: (d: Record<string, unknown>) => boolean): number[] {
  return harness.fake.gatewayDispatches.filter((e) => e.t === t && pick(e.d as Record<string, unknown>)).map((e) => e.shard);
}

/**
 * `/flux` in a guild: acked, queued, the image in a thread of `channel`, then a 🔄 by `reactor` rerolls it into the
 * same thread. Every gateway event of the flow reached the guild's shard only.
 */
async function fluxAndReroll(harness: Harness, guild: FakeGuildInit, channel: string, user: string, reactor: string): Promise<void> {
  const fake = harness.fake;
  const guildId = guild.id!;
  const shard = fake.shardOf(guildId);
  const i = harness.flux({ prompt: `a map of ${guild.name}`, seed: 11 }, { guild: guildId, channel, user });
  const ack = await fake.waitFor((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
  expect([ack.status, ack.body]).toMatchObject([204, { type: 5, data: { flags: 64 } }]);
  expect(await harness.privateReply(i)).toMatch(/^Queued — /);

  const image = await imageIn(harness, guildId, 0);
  const thread = fake.channel(image.channelId);
  expect(thread.parentId).toBe(fake.channel(channel, guildId).id);
  expect(image.content).toContain(`<@${fake.user(user).id}>`);
  expect(image.attachments).toHaveLength(1);

  expect(fake.reactionAdd({ messageId: image.id, userId: reactor })).not.toBeNull();
  const rerolled = await imageIn(harness, guildId, 1);
  expect(rerolled.channelId).toBe(image.channelId);
  expect(rerolled.content).toContain(`<@${fake.user(reactor).id}> rerolled`);

  expect(shardsOf(harness, 'INTERACTION_CREATE', (d) => d.id === i.id)).toEqual([shard]);
  expect(shardsOf(harness, 'THREAD_CREATE', (d) => d.id === thread.id)).toEqual([shard]);
  expect(shardsOf(harness, 'MESSAGE_REACTION_ADD', (d) => d.message_id === image.id && d.user_id === fake.user(reactor).id)).toEqual([shard]);
}

describe('Discord gateway sharding', () => {
  it('with DISCORD_SHARDS=2, identifies both shards and serves /flux and rerolls in a guild on each', async () => {
    h = await Harness.start({ provider: 'preview', guildCommands: false, fake: { guilds: [STUDIO, HARBOR], shards: 2 }, env: { DISCORD_SHARDS: '2' } });
    const fake = h.fake;
    expect([fake.shardOf(STUDIO.id!), fake.shardOf(HARBOR.id!)]).toEqual([0, 1]);
    expect(shardsIdentified(fake.gatewayOps)).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(fake.gatewaySessions.map((s) => [s.shard, s.connected])).toEqual([
      [[0, 2], true],
      [[1, 2], true],
    ]);
    // Each shard's READY listed only its own guild, and the client filed each guild under the shard it came on.
    const readyGuilds = fake.gatewayDispatches
      .filter((e) => e.t === 'READY')
      .sort((a, b) => a.shard - b.shard)
      .map((e) => [e.shard, (e.d as { guilds: Array<{ id: string }> }).guilds.map((g) => g.id)]);
    expect(readyGuilds).toEqual([
      [0, [STUDIO.id]],
      [1, [HARBOR.id]],
    ]);
    const client = h.adapter.gatewayClient!;
    expect(client.ws.shards.size).toBe(2);
    expect([client.guilds.cache.get(STUDIO.id!)?.shardId, client.guilds.cache.get(HARBOR.id!)?.shardId]).toEqual([0, 1]);

    await fluxAndReroll(h, STUDIO, 'general', 'alice', 'bob');
    await fluxAndReroll(h, HARBOR, 'lobby', 'carol', 'dave');

    // No guild event ever went to another shard's session.
    for (const e of fake.gatewayDispatches) {
      const guildId = (e.d as { guild_id?: unknown } | null)?.guild_id;
      if (typeof guildId === 'string') expect({ t: e.t, shard: e.shard }).toEqual({ t: e.t, shard: fake.shardOf(guildId) });
    }
    // The fake recorded which shard each gateway op came from: both shards identified on their own connection.
    const identifies = fake.gatewayOps.filter((f) => f.op === 2);
    expect(identifies.map((f) => f.shard).sort()).toEqual([0, 1]);
    expect(new Set(identifies.map((f) => f.connection)).size).toBe(2);
  });

  it('resumes a dropped shard in its own session, replaying its guild\'s events, while the other shard stays up', async () => {
    h = await Harness.start({ provider: 'preview', guildCommands: false, fake: { guilds: [STUDIO, HARBOR], shards: 2 }, env: { DISCORD_SHARDS: '2' } });
    const fake = h.fake;
    const [first, second] = fake.gatewaySessions;
    const connections = fake.gatewayConnections.length;
    fake.dropSocket({ shard: 1 });
    // The command arrives while shard 1 is down: it is replayed on the RESUME.
    await fluxAndReroll(h, HARBOR, 'lobby', 'carol', 'dave');
    const resume = await fake.waitForGatewayOp(6);
    const resumed = resume.d as { session_id: string; seq: number };
    expect([resume.shard, resumed.session_id]).toEqual([1, second!.id]);
    const command = fake.gatewayDispatches.find((e) => e.t === 'INTERACTION_CREATE')!;
    expect([command.shard, command.s > resumed.seq]).toEqual([1, true]); // sent after the last event the client saw
    expect(fake.gatewayOps.filter((f) => f.op === 6)).toHaveLength(1);
    expect(fake.gatewayOps.filter((f) => f.op === 2)).toHaveLength(2);
    expect(fake.gatewayConnections).toHaveLength(connections + 1);
    expect(fake.gatewaySessions.map((s) => s.id)).toEqual([first!.id, second!.id]);
    await fluxAndReroll(h, STUDIO, 'general', 'alice', 'bob');
  });

  it('with DISCORD_SHARDS=auto (the default), runs as many shards as /gateway/bot recommends', async () => {
    h = await Harness.start({ provider: 'preview', guildCommands: false, fake: { guilds: [STUDIO, HARBOR], shards: 3 } });
    expect(h.config.DISCORD_SHARDS).toBe('auto');
    const fake = h.fake;
    expect(shardsIdentified(fake.gatewayOps)).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    const client = h.adapter.gatewayClient!;
    expect(client.ws.shards.size).toBe(3);
    expect(client.guilds.cache.get(HARBOR.id!)?.shardId).toBe(fake.shardOf(HARBOR.id!));
    await fluxAndReroll(h, HARBOR, 'lobby', 'carol', 'dave');
  });
});
