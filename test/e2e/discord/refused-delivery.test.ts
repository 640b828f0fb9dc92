import { PermissionFlagsBits } from 'discord.js';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveredElsewhereLine, PRIVATE_FOLLOWUP_NOTICE } from '../../../src/bots/discord/discord-text.js';
import type { HistoryEntry } from '../../../src/core/jobs/image-history.js';
import type { DiscordCall, DispatchedInteraction, FakeGuildInit } from '../../fakes/discord/index.js';
import { GUILD, Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** The harness guild plus alice's own private thread under #general. */
const WITH_PRIVATE_THREAD: FakeGuildInit = { ...GUILD, threads: [...(GUILD.threads ?? []), { name: 'alice-room', parent: 'general', type: 12 }] };
const OLD = 14.5 * 60_000; // an interaction this old has a token the bot no longer uses

async function start(): Promise<Harness> {
  // Replicate answers after 600 ms: time to take the bot's access away between the status message and the image.
  return Harness.start({ fake: { guilds: [WITH_PRIVATE_THREAD] }, replicateLatencyMs: 600, logLevel: 'debug' });
}

const isUpload = (c: DiscordCall) => c.route === 'createMessage' && c.files.length > 0;
const contentOf = (c: DiscordCall) => String((c.body as { content?: unknown } | undefined)?.content ?? '');

/** Waits for the status message of `prompt` (posted once the job is admitted) and returns its id. */
async function statusOf(harness: Harness, prompt: string): Promise<string> {
  const call = await harness.fake.waitFor((c) => c.route === 'createMessage' && c.status === 200 && contentOf(c).includes(prompt));
  return (call.response as { id: string }).id;
}

/** Alice's history, newest first, once it has `count` images. */
async function historyOf(harness: Harness, count: number): Promise<HistoryEntry[]> {
  const alice = { platform: 'discord' as const, guildId: harness.fake.guild.id, userId: harness.fake.user('alice').id };
  await expect.poll(async () => (await harness.core.history.list(alice)).length, { timeout: 15_000 }).toBe(count);
  return harness.core.history.list(alice);
}

async function jobState(harness: Harness, jobId: string): Promise<string | undefined> {
  return (await harness.core.queue.getJob(jobId))?.getState();
}

/** Interaction tokens must never reach the logs (nor the fake's bot-token routes). */
function expectTokenUnlogged(harness: Harness, i: DispatchedInteraction): void {
  expect(harness.log.lines.length).toBeGreaterThan(0);
  expect(harness.log.lines.filter((line) => line.includes(i.token))).toEqual([]);
}

describe('a Discord channel that refuses a finished image', () => {
  it('bot removed from the private thread: the image comes as an ephemeral follow-up, charged, job completed; again next time', async () => {
    h = await start();
    const thread = h.fake.channel('alice-room');
    const first = h.flux({ prompt: 'a secret garden', aspect_ratio: '1:1' }, { user: 'alice', channel: 'alice-room' });
    await statusOf(h, 'a secret garden');
    h.fake.removeBot('alice-room'); // the member removes the bot from their thread while the image is made

    const followUp = await h.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === first.token);
    expect(followUp.status).toBe(200);
    const [entry] = await historyOf(h, 1);
    const record = entry!.record;
    expect(record).toMatchObject({ via: 'private', messageId: (followUp.response as { id: string }).id });
    await expect.poll(() => jobState(h!, record.jobId)).toBe('completed');
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });

    // The follow-up: only alice sees it, in her thread, with the image and its embed.
    const [message] = h.fake.followups(first.id);
    expect(message).toMatchObject({ channelId: thread.id, flags: 64 });
    expect(message!.content.startsWith(PRIVATE_FOLLOWUP_NOTICE)).toBe(true);
    expect(message!.attachments).toHaveLength(1);
    const bytes = h.fake.fileAt(message!.attachments[0]!.url)!;
    expect((await sharp(bytes).metadata()).width).toBeGreaterThan(0);
    expect(message!.embeds[0]!.image?.url).toBe(`attachment://${message!.attachments[0]!.filename}`);
    expect(message!.embeds[0]!.fields!.find((f) => f.name === 'Seed')!.value).toBe(String(record.seed));

    // Refused once (never retried: it cannot succeed), paid once, no 🔄 on a message nobody else can see.
    expect(h.fake.callsTo(isUpload).map((c) => [c.params.channelId, c.status, (c.response as { code: number }).code])).toEqual([[thread.id, 403, 50001]]);
    expect(h.replicate!.created).toBe(1);
    expect(h.fake.callsTo('addOwnReaction')).toEqual([]);
    // The status message in the thread cannot be edited any more: logged as a warning, nothing thrown.
    expect(h.log.warnings.map((w) => w.msg)).toContain('could not update the status message');

    // Doing it again (add the bot back, ask, remove it again) is charged again.
    h.fake.removeBot('alice-room', true);
    const second = h.flux({ prompt: 'a second secret', aspect_ratio: '1:1' }, { user: 'alice', channel: 'alice-room' });
    await statusOf(h, 'a second secret');
    h.fake.removeBot('alice-room');
    await h.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === second.token && c.status === 200);
    await historyOf(h, 2);
    await expect.poll(() => h!.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });
    expect(h.replicate!.created).toBe(2);
    expect(h.fake.followups(second.id)).toHaveLength(1);
    expect(h.fake.followups(first.id)).toHaveLength(1);
    expectTokenUnlogged(h, first);
    expectTokenUnlogged(h, second);
  });

  it('interaction older than 14 minutes: the image comes by DM instead, never through the old token', async () => {
    h = await start();
    const i = h.flux({ prompt: 'a late letter', aspect_ratio: '1:1' }, { user: 'alice', createdAt: Date.now() - OLD });
    await statusOf(h, 'a late letter');
    h.fake.removeBot('general');

    const [entry] = await historyOf(h, 1);
    expect(entry!.record.via).toBe('private');
    await expect.poll(() => jobState(h!, entry!.record.jobId)).toBe('completed');
    const [dm] = h.fake.dms('alice');
    expect(dm).toMatchObject({ id: entry!.record.messageId, guildId: null });
    expect(dm!.content).toContain(`I couldn’t post your image in <#${h.fake.channel('general').id}>`);
    expect(dm!.attachments).toHaveLength(1);
    expect(dm!.embeds[0]!.description).toBe('a late letter');
    const post = h.fake.callsTo((c) => isUpload(c) && c.params.channelId === dm!.channelId);
    expect(post).toHaveLength(1);
    expect(post[0]!.body).toMatchObject({ enforce_nonce: true, nonce: expect.any(String) });

    // Acked, then never used again: no follow-up, no edit through the token.
    expect(h.fake.calls.filter((c) => c.params.token === i.token).map((c) => c.route)).toEqual(['interactionCallback']);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(h.replicate!.created).toBe(1);
    expect(h.fake.callsTo('addOwnReaction')).toEqual([]);
  });

  it('DMs closed too: the image is kept, charged once; /flux-quota names it and /flux-history hands it out', async () => {
    h = await start();
    // An ordinary image first, for /flux-history to link to.
    h.flux({ prompt: 'an ordinary day', aspect_ratio: '1:1' }, { user: 'alice' });
    const posted = await h.image(0);

    h.fake.blockDms('alice');
    h.flux({ prompt: 'a lost parcel', aspect_ratio: '1:1' }, { user: 'alice', createdAt: Date.now() - OLD });
    await statusOf(h, 'a lost parcel');
    h.fake.removeBot('general');

    const [kept, ordinary] = await historyOf(h, 2);
    expect(kept!.record).toMatchObject({ via: 'kept', messageId: `kept:${kept!.record.jobId}` });
    expect(kept!.kept?.bytes.length).toBeGreaterThan(0);
    await expect.poll(() => jobState(h!, kept!.record.jobId)).toBe('completed');
    // Tried everywhere once, posted nowhere: the channel (50001), then the DM (50007); no follow-up with an old token.
    const attempts = h.fake.callsTo(isUpload).filter((c) => c.status !== 200);
    expect(attempts.map((c) => (c.response as { code: number }).code)).toEqual([50001, 50007]);
    expect(h.fake.callsTo(isUpload).filter((c) => c.status === 200)).toHaveLength(1); // the ordinary image
    expect(h.fake.callsTo('createFollowup')).toEqual([]);
    expect(h.fake.dms('alice')).toEqual([]);
    expect(h.replicate!.created).toBe(2);
    expect(await h.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });

    h.fake.removeBot('general', true);
    const quota = h.fake.interaction({ name: 'flux-quota', user: 'alice' });
    expect(await h.privateReply(quota)).toContain('1 image is kept for you (the channel refused it): use /flux-history to get it.');

    const history = h.fake.interaction({ name: 'flux-history', user: 'alice' });
    const reply = await h.fake.waitFor((c) => c.route === 'editOriginal' && c.params.token === history.token);
    expect(reply.status).toBe(200);
    const text = h.fake.originalResponse(history.id)!;
    expect(text.flags & 64).toBe(64);
    expect(text.content).toContain('“a lost parcel”');
    expect(text.content).toContain('kept for you until <t:');
    // The ordinary image is linked where it is: its thread and message.
    expect(text.content).toContain(`https://discord.com/channels/${h.fake.guild.id}/${posted.channelId}/${posted.id}`);
    expect(ordinary!.record.messageId).toBe(posted.id);
    expect(reply.files).toHaveLength(1);
    expect(reply.files[0]!.filename).toBe(`flux-${kept!.record.seed}.${kept!.record.format}`);
    expect(reply.files[0]!.bytes.equals(kept!.kept!.bytes)).toBe(true);
    expect(text.attachments).toHaveLength(1);
  });

  it('a channel that takes text but not files: the status message says the image went privately', async () => {
    h = await start();
    const i = h.flux({ prompt: 'a quiet harbour', aspect_ratio: '1:1' }, { user: 'alice' });
    const statusId = await statusOf(h, 'a quiet harbour');
    h.fake.channel('general').botDeny = PermissionFlagsBits.AttachFiles; // the image's thread inherits it
    await h.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === i.token && c.status === 200);
    const refused = h.fake.callsTo(isUpload);
    expect(refused.map((c) => [c.status, (c.response as { code: number }).code])).toEqual([[403, 50013]]);
    // Both the worker and the bot's progress tracker end it with the same words.
    await expect.poll(() => h!.fake.message(statusId)!.content).toContain(deliveredElsewhereLine('private'));
    const [entry] = await historyOf(h, 1);
    await expect.poll(() => jobState(h!, entry!.record.jobId)).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a late tracker edit would land by now
    expect(h.fake.message(statusId)!.content).toContain(deliveredElsewhereLine('private'));
    expect(h.fake.message(statusId)!.content).not.toContain('the image is below');
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expectTokenUnlogged(h, i);
  });
});
