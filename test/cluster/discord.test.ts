import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CANCELED_TEXT, CANCELING_TEXT } from '../../src/bots/discord/action-text.js';
import { createRedisClient, scanKeys } from '../../src/core/redis-connection.js';
import { ScriptedProvider, type Step } from '../fakes/scripted-provider.js';
import type { DispatchedInteraction, FakeMessage } from '../fakes/discord/index.js';
import { Harness, type HarnessOptions } from '../e2e/discord/harness.js';
import { REDIS_URL } from '../helpers/core.js';
import { RedisCluster } from '../helpers/redis-cluster.js';

/**
 * The Discord flows on a real Redis Cluster (3 masters, 3 replicas): the real discord.js against the fake Discord, a
 * core whose every connection is an ioredis Cluster client (REDIS_CLUSTER_NODES), real BullMQ. One cluster for the
 * file; each test has its own prefix (hash tag), so tests land on different masters.
 */

let cluster: RedisCluster;
let h: Harness | undefined;
beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  // One seed node is enough: the client discovers the others.
  h = await Harness.start({ provider: 'preview', ...options, redis: { clusterNodes: cluster.nodes.slice(1, 2) } });
  return h;
}

/** Keys under a prefix: on the cluster (every master) or on the shared single Redis. */
async function keysUnder(prefix: string, where: 'cluster' | 'single'): Promise<string[]> {
  const client = createRedisClient(where === 'cluster' ? { url: REDIS_URL, clusterNodes: cluster.nodes } : { url: REDIS_URL });
  const found: string[] = [];
  try {
    await scanKeys(client, `${prefix}*`, async (keys) => void found.push(...keys));
  } finally {
    client.disconnect();
  }
  return found;
}

type Body = { type?: number; content?: string; data?: { content?: string } };
/** The private answer to a click (its ephemeral ack or follow-up). */
async function clickAnswer(harness: Harness, i: DispatchedInteraction): Promise<string> {
  const call = await harness.fake.waitFor((c) => {
    if (c.params.token !== i.token || c.status >= 300) return false;
    const body = c.body as Body;
    if (c.route === 'interactionCallback') return body.type === 4;
    return (c.route === 'createFollowup' || c.route === 'editOriginal') && typeof body.content === 'string';
  });
  const body = call.body as Body;
  return call.route === 'interactionCallback' ? body.data!.content! : body.content!;
}

type Button = { custom_id: string; label: string };
const buttons = (m: FakeMessage): Button[] => ((m.components ?? []) as Array<{ components: Button[] }>).flatMap((row) => row.components);

describe('Discord on a Redis Cluster', () => {
  it('a /flux goes through admission, the queue and the worker to a delivered image; every key is on the cluster', async () => {
    const harness = await start();
    const i = harness.flux({ prompt: 'a lighthouse on a cluster', aspect_ratio: '16:9', seed: 7 }, { user: 'alice' });
    const image = await harness.image();
    expect(image.content).toContain(`<@${harness.fake.user('alice').id}>`);
    expect(image.embeds[0]!.description).toBe('a lighthouse on a cluster');
    expect(image.attachments[0]!.filename).toBe('flux-7.webp');
    expect(await harness.privateReply(i)).toMatch(/^Queued — /);
    await expect.poll(() => harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    // Queue, quota, record keys: on the cluster, in the one slot of the prefix's hash tag; none on the single Redis.
    const keys = await keysUnder(harness.prefix, 'cluster');
    expect(keys.some((k) => k.includes(':generate:'))).toBe(true);
    expect(keys.some((k) => k.includes(':q:'))).toBe(true);
    expect(await keysUnder(harness.prefix, 'single')).toEqual([]);
    const slotOwners = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
    expect(slotOwners.size).toBe(1);
  });

  it('rerolls an image posted before a restart (a new core, worker and adapter on the same cluster)', async () => {
    const harness = await start();
    harness.flux({ prompt: 'before the restart', aspect_ratio: '1:1' }, { user: 'alice' });
    const first = await harness.image(0);
    await harness.stopBot();
    await harness.startBot();
    harness.fake.reactionAdd({ messageId: first.id, userId: 'bob' });
    const second = await harness.image(1);
    expect(second.channelId).toBe(first.channelId);
    expect(second.content).toContain('rerolled');
    await expect.poll(() => harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('refuses a /flux over the daily quota privately and enqueues nothing', async () => {
    const harness = await start({ quotas: { dailyPerUser: 1 } });
    harness.flux({ prompt: 'first', aspect_ratio: '1:1' }, { user: 'alice' });
    await harness.image(0);
    const refused = harness.flux({ prompt: 'second', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await harness.privateReply(refused)).toMatch(/^You have used all 1 of your images for today\. It resets <t:\d+:R>\.$/);
    expect(await harness.jobCount()).toBe(1);
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('cancels a queued job at once and a running one on its worker (through cluster pub/sub); both refunded', async () => {
    const provider = new ScriptedProvider('preview', [{ hangMs: 60_000 } satisfies Step]);
    const harness = await start({ provider: [provider], workerConcurrency: 1 });
    harness.flux({ prompt: 'running job' }, { user: 'alice' });
    await expect.poll(() => provider.calls.length, { timeout: 10_000 }).toBe(1);
    harness.flux({ prompt: 'queued job' }, { user: 'alice' });
    const cancelOf = async (text: string) => {
      await expect
        .poll(() => harness.fake.messages().find((m) => m.content.includes(text) && buttons(m).some((b) => b.label === 'Cancel')), { timeout: 10_000 })
        .toBeTruthy();
      const message = harness.fake.messages().find((m) => m.content.includes(text) && buttons(m).some((b) => b.label === 'Cancel'))!;
      return { message, customId: buttons(message).find((b) => b.label === 'Cancel')!.custom_id };
    };
    const queued = await cancelOf('queued job');
    const running = await cancelOf('running job');
    expect(await clickAnswer(harness, harness.fake.click({ messageId: queued.message.id, customId: queued.customId, user: 'alice' }))).toBe(CANCELED_TEXT);
    expect(await clickAnswer(harness, harness.fake.click({ messageId: running.message.id, customId: running.customId, user: 'alice' }))).toBe(CANCELING_TEXT);
    await expect.poll(() => harness.fake.message(running.message.id)!.content, { timeout: 10_000 }).toContain('canceled');
    await expect.poll(() => harness.fake.message(queued.message.id)!.content).toContain('canceled');
    await expect.poll(() => harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
    // The running generation was stopped, not finished, and the queued one never reached the provider.
    expect(provider.calls).toHaveLength(1);
    expect(harness.fake.calls.filter((c) => c.route === 'addOwnReaction')).toEqual([]);
  });

  it('admin commands grant, ban, unban, set and show work on the cluster', async () => {
    const harness = await start();
    const admin = async (subcommand: string, options: Record<string, string | number> = {}) =>
      harness.privateReply(harness.fake.interaction({ name: 'flux-admin', subcommand, options, user: 'mod' }));
    const bob = harness.fake.user('bob').id;
    expect(await admin('grant', { amount: 5, user: 'bob' })).toBe(`Granted 5 extra images to <@${bob}> (now 5 extra).`);
    expect(await admin('ban', { user: 'bob', reason: 'spam' })).toBe(`<@${bob}> can no longer generate images here.`);
    const banned = harness.flux({ prompt: 'anything', aspect_ratio: '1:1' }, { user: 'bob' });
    expect(await harness.privateReply(banned)).toBe('You are not allowed to generate images on this server (spam).');
    expect(await admin('unban', { user: 'bob' })).toBe(`<@${bob}> can generate images again.`);
    expect(await admin('set', { daily: 3, concurrent: 1 })).toBe('Limits for this server: 3 per day, 1 at once.');
    const shown = await admin('show', { user: 'bob' });
    expect(shown).toContain('Granted extra images left: 5');
    const audit = await harness.core.admin.audit(10);
    expect(audit.map((e) => e.action)).toEqual(['set_limits', 'unban', 'ban', 'grant']);
    expect(await harness.jobCount()).toBe(0);
  });
});
