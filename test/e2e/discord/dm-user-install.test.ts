import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { DISCORD_DM_BUCKET_KEY } from '../../../src/bots/discord/dm-bucket.js';
import { DM_BUCKET_FULL_TEXT, PERSONAL_DM_NOTICE } from '../../../src/bots/discord/personal.js';
import type { DispatchedInteraction } from '../../fakes/discord/index.js';
import { Harness } from './harness.js';

/**
 * The app installed to a person: `/flux` in the DM with the bot, in a private channel and in a server that did not
 * install it. The bot cannot post there, so the image comes as a follow-up of the interaction, and by DM once Discord
 * takes no more follow-ups (5 for a user install) or the token is too old. Such use is counted on the person and the
 * DM bucket (`discord:dm`), not on any server.
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** Commands are registered globally: Discord offers a server's own commands in that server only, never in DMs. */
function start(buckets: { dailyPerUser?: number; dailyPerGuild?: number } = {}): Promise<Harness> {
  return Harness.start({ provider: 'preview', guildCommands: false, quotas: { buckets: { [DISCORD_DM_BUCKET_KEY]: { dailyPerUser: 5, dailyPerGuild: 50, ...buckets } } } });
}

/** Today's usage of a person in the DM bucket, and of the bucket. */
async function dmUsage(harness: Harness, username: string): Promise<{ person: number; bucket: number }> {
  const view = await harness.core.admin.userView(`${DISCORD_DM_BUCKET_KEY}:${harness.fake.user(username).id}`, DISCORD_DM_BUCKET_KEY);
  const bucket = await harness.core.admin.show({ kind: 'guild', key: DISCORD_DM_BUCKET_KEY });
  return { person: view.usedToday, bucket: bucket.usedToday };
}

/** The image follow-up of an interaction (a follow-up with a file). */
function imageFollowup(harness: Harness, i: DispatchedInteraction) {
  return harness.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === i.token && c.status === 200 && c.files.length > 0, 15_000);
}

async function completed(harness: Harness): Promise<void> {
  await expect.poll(async () => (await harness.core.queue.getJobCounts('completed')).completed, { timeout: 10_000 }).toBeGreaterThan(0);
}

const botTokenPosts = (harness: Harness) => harness.fake.callsTo((c) => c.route === 'createMessage' && !harness.fake.dms('alice').some((m) => m.channelId === c.params.channelId));

describe('a user-installed /flux', () => {
  it('is not offered in DMs while the commands are registered in one server only (DISCORD_GUILD_ID)', async () => {
    h = await Harness.start({ provider: 'preview' });
    await h.fake.waitFor('putGuildCommands');
    expect(() => h!.flux({ prompt: 'x' }, { context: 1, install: 'user' })).toThrow(/registered in servers only/);
  });

  it('in the DM with the bot: queued privately, the image as a follow-up, counted on the person and the DM bucket', async () => {
    const harness = await start();
    const i = harness.flux({ prompt: 'a moth on a lamp' }, { context: 1, install: 'user', user: 'alice' });
    expect(await harness.privateReply(i)).toMatch(/^Queued/);
    const followup = await imageFollowup(harness, i);
    const message = harness.fake.followups(i.id)[0]!;
    expect(message.attachments).toHaveLength(1);
    expect(message.flags & 64).toBe(0);
    expect(followup.files[0]!.filename).toMatch(/^flux-\d+\.\w+$/);
    await completed(harness);
    // Nothing was posted with the bot token: no status message, no thread.
    expect(harness.fake.callsTo('createMessage')).toEqual([]);
    expect(harness.fake.callsTo('startThreadFromMessage')).toEqual([]);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 1, bucket: 1 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  });

  it('in a server that did not install the app, past 5 follow-ups: the image comes by DM', async () => {
    const harness = await start();
    const i = harness.flux({ prompt: 'a paper crane' }, { install: 'user', user: 'alice' });
    expect(harness.fake.interactionState(i.id).userInstallOnly).toBe(true);
    // Five follow-ups already sent on this interaction (as Discord counts them).
    harness.fake.interactionState(i.id).followupIds.push('1', '2', '3', '4', '5');
    await expect.poll(() => harness.fake.dms('alice').length, { timeout: 15_000 }).toBe(1);
    const dm = harness.fake.dms('alice')[0]!;
    expect(dm.attachments).toHaveLength(1);
    expect(dm.content).toContain(PERSONAL_DM_NOTICE);
    const refused = harness.fake.callsTo((c) => c.route === 'createFollowup' && c.params.token === i.token && c.files.length > 0);
    expect(refused.map((c) => [c.status, (c.response as { code?: number }).code])).toEqual([[400, 40094]]);
    await completed(harness);
    expect(botTokenPosts(harness)).toEqual([]);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 1, bucket: 1 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  });

  it('with a token too old to use (14 minutes): no follow-up, the image by DM', async () => {
    const harness = await start();
    const i = harness.flux({ prompt: 'an old clock' }, { context: 2, install: 'user', user: 'alice', createdAt: Date.now() - 14.5 * 60_000 });
    await expect.poll(() => harness.fake.dms('alice').length, { timeout: 15_000 }).toBe(1);
    expect(harness.fake.dms('alice')[0]!.attachments).toHaveLength(1);
    expect(harness.fake.callsTo((c) => c.route === 'createFollowup' && c.params.token === i.token)).toEqual([]);
    await completed(harness);
  });

  it('the DM bucket limits each person and everyone together; servers’ quotas are untouched', async () => {
    const harness = await start({ dailyPerUser: 1, dailyPerGuild: 2 });
    const first = harness.flux({ prompt: 'one' }, { context: 1, install: 'user', user: 'alice' });
    expect(await harness.privateReply(first)).toMatch(/^Queued/);
    const again = harness.flux({ prompt: 'two' }, { context: 1, install: 'user', user: 'alice' });
    expect(await harness.privateReply(again)).toMatch(/^You have used all 1 of your images for today/);
    const bob = harness.flux({ prompt: 'three' }, { context: 1, install: 'user', user: 'bob' });
    expect(await harness.privateReply(bob)).toMatch(/^Queued/);
    const mod = harness.flux({ prompt: 'four' }, { context: 1, install: 'user', user: 'mod' });
    expect(await harness.privateReply(mod)).toBe(DM_BUCKET_FULL_TEXT);
    await expect.poll(async () => (await harness.core.queue.getJobCounts('completed')).completed, { timeout: 10_000 }).toBe(2);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 1, bucket: 2 });
    // In the server (installed there), alice still has the server's quota.
    const inServer = harness.flux({ prompt: 'five' }, { user: 'alice' });
    expect(await harness.privateReply(inServer)).toMatch(/^Queued/);
  });

  it('/flux-quota in a DM shows the DM bucket’s limits', async () => {
    const harness = await start({ dailyPerUser: 3 });
    const i = harness.fake.interaction({ name: 'flux-quota', context: 1, install: 'user', user: 'alice' });
    expect(await harness.privateReply(i)).toMatch(/^You have used 0 of 3 images today; 3 left\./);
  });

  it('commands not offered where Discord would not show them: /flux-admin in a DM or to a user install', async () => {
    const harness = await start();
    await harness.fake.waitFor('putGlobalCommands');
    expect(() => harness.fake.interaction({ name: 'flux-admin', subcommand: 'show', context: 1 })).toThrow(/not offered in context 1/);
    expect(() => harness.fake.interaction({ name: 'flux-admin', subcommand: 'show', install: 'user' })).toThrow(/not offered to a user install/);
  });
});

describe('Edit with FLUX in a DM', () => {
  it('on an image in the DM with the bot: the modal, then the edit as a follow-up, counted in the DM bucket', async () => {
    provider = new ScriptedProvider('preview', []);
    h = await Harness.start({ provider: [provider], guildCommands: false, quotas: { buckets: { [DISCORD_DM_BUCKET_KEY]: { dailyPerUser: 5, dailyPerGuild: 50 } } } });
    const harness = h;
    await harness.fake.waitFor('putGlobalCommands');
    const bytes = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#336699' } }).png().toBuffer();
    const alice = harness.fake.user('alice');
    const dm = harness.fake.state.openDm(alice);
    const attachment = harness.fake.addAttachment(bytes, { filename: 'sky.png', contentType: 'image/png', width: 80, height: 80 });
    const message = harness.fake.addMessage(dm.id, { author: alice, attachments: [attachment] });
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, context: 1, install: 'user', user: 'alice' });
    await harness.fake.waitFor((c) => c.route === 'interactionCallback' && c.params.interactionId === command.id);
    const submit = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'add stars' } });
    expect(await harness.privateReply(submit)).toMatch(/^Queued/);
    await imageFollowup(harness, submit);
    expect(provider.calls[0]!.request.images).toEqual([`data:image/png;base64,${bytes.toString('base64')}`]);
    await completed(harness);
    expect(harness.fake.callsTo('createMessage')).toEqual([]);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 1, bucket: 1 });
  });
});
