import { PermissionFlagsBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DELETE_REFUSED_TEXT, DELETED_TEXT, OTHER_PLACE_FROM_PERSONAL_TEXT, OTHER_PLACE_PERSONAL_TEXT } from '../../../src/bots/discord/action-text.js';
import { PRIVATE_FOLLOWUP_NOTICE } from '../../../src/bots/discord/discord-text.js';
import { DISCORD_DM_BUCKET_KEY } from '../../../src/bots/discord/dm-bucket.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { DEFAULT_BOT_PERMISSIONS, type DiscordCall, type DispatchedInteraction, type FakeMessage } from '../../fakes/discord/index.js';
import { buttonId, buttons, callbackOf, dataUri, deliveredImage } from './click-helpers.js';
import { GUILD, Harness } from './harness.js';

/**
 * The buttons on images given to the person alone: in personal use (a user install in the DM with the bot, or in a
 * server that did not install the app: a follow-up of the interaction, else a DM) and privately after the channel
 * refused the image (an ephemeral follow-up). The buttons are added through the interaction's token (a follow-up) or
 * the bot's (a DM), once the record exists; clicks there are placed in the DM bucket and answered through the click.
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** Commands registered globally (offered in DMs), a DM bucket, and a server the bot is not in, where eve uses the app. */
async function start(options: { guildCommands?: boolean } = {}): Promise<Harness> {
  provider = new ScriptedProvider('preview', []);
  h = await Harness.start({
    provider: [provider],
    guildCommands: options.guildCommands ?? false,
    quotas: { buckets: { [DISCORD_DM_BUCKET_KEY]: { dailyPerUser: 10, dailyPerGuild: 50 } } },
    fake: { guilds: [GUILD, { name: 'Elsewhere', botMember: false, channels: [{ name: 'lobby' }], members: [{ user: { username: 'eve' } }] }] },
  });
  return h;
}

/** The image follow-up of an interaction once its buttons were added through that interaction's token. */
async function followupWithButtons(harness: Harness, i: DispatchedInteraction): Promise<FakeMessage> {
  const call = await harness.fake.waitFor((c) => c.route === 'editFollowup' && c.params.token === i.token && c.status === 200, 15_000);
  return harness.fake.message(call.params.messageId!)!;
}

/** The ephemeral follow-up that answers a click or modal (Queued, a refusal, Deleted). */
async function ephemeralAnswer(harness: Harness, i: DispatchedInteraction): Promise<string> {
  const call = await harness.fake.waitFor((c) => {
    const body = c.body as { content?: unknown; flags?: number } | undefined;
    return c.route === 'createFollowup' && c.params.token === i.token && c.status === 200 && c.files.length === 0 && ((body?.flags ?? 0) & 64) === 64;
  });
  return String((call.body as { content: string }).content);
}

async function dmUsage(harness: Harness, username: string): Promise<{ person: number; bucket: number }> {
  const view = await harness.core.admin.userView(`${DISCORD_DM_BUCKET_KEY}:${harness.fake.user(username).id}`, DISCORD_DM_BUCKET_KEY);
  const bucket = await harness.core.admin.show({ kind: 'guild', key: DISCORD_DM_BUCKET_KEY });
  return { person: view.usedToday, bucket: bucket.usedToday };
}

const completed = (harness: Harness, n: number) => expect.poll(async () => (await harness.core.queue.getJobCounts('completed')).completed, { timeout: 15_000 }).toBe(n);
const refusals = (calls: DiscordCall[]) => calls.map((c) => [c.status, (c.response as { code?: number }).code]);

describe('buttons on a personal image', () => {
  it('a user-installed /flux in a DM: the follow-up gets the buttons; Reroll by the same person comes personally, charged to the DM bucket', async () => {
    const harness = await start();
    const command = harness.flux({ prompt: 'a moth on a lamp' }, { context: 1, install: 'user', user: 'alice' });
    const image = await followupWithButtons(harness, command);
    expect(harness.fake.followups(command.id).map((m) => m.id)).toContain(image.id);
    expect(buttons(image).map((b) => b.label)).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    // Added with the interaction's token (no bot token), and no 🔄: reactions in DMs do not reach the bot.
    expect(harness.fake.callsTo('editFollowup')[0]!.headers.authorization).toBeUndefined();
    expect(harness.fake.callsTo('addOwnReaction')).toEqual([]);

    const click = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Reroll') });
    expect((await callbackOf(harness, click)).body).toMatchObject({ type: 6 });
    expect(await ephemeralAnswer(harness, click)).toMatch(/^Queued/);
    // The new image is a follow-up of the click, and gets its own buttons through the click's token.
    const rerolled = await followupWithButtons(harness, click);
    expect(rerolled.id).not.toBe(image.id);
    expect(rerolled.attachments).toHaveLength(1);
    expect(rerolled.flags & 64).toBe(0);
    expect(rerolled.content).toContain(`<@${harness.fake.user('alice').id}> rerolled`);
    expect(buttons(rerolled).map((b) => b.label)).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    await completed(harness, 2);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 2, bucket: 2 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
    // Nothing posted with the bot token: no status message, no thread.
    expect(harness.fake.callsTo('createMessage')).toEqual([]);
  });

  it('Vary and Edit on follow-ups in a server the bot is not in: the image is read from the click itself, and the results come as follow-ups', async () => {
    const harness = await start();
    const elsewhere = harness.fake.guilds[1]!;
    const command = harness.flux({ prompt: 'a fern in the rain' }, { install: 'user', user: 'eve', guild: elsewhere.id, channel: 'lobby' });
    const image = await followupWithButtons(harness, command);
    expect(harness.adapter.gatewayClient!.guilds.cache.has(elsewhere.id)).toBe(false);
    const bytes = harness.fake.fileAt(image.attachments[0]!.url)!;

    const click = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Vary'), user: 'eve' });
    expect(await ephemeralAnswer(harness, click)).toMatch(/^Queued/);
    const varied = await followupWithButtons(harness, click);
    expect(varied.content).toContain(`<@${harness.fake.user('eve').id}> varied`);
    // The bot token cannot read the message there (no member: 403 Missing Access); the click carried it.
    expect(refusals(harness.fake.callsTo((c) => c.route === 'getMessage' && c.params.messageId === image.id))).toEqual([[403, 50001]]);
    expect(provider.calls[1]!.request.images).toEqual([dataUri(bytes)]);

    // Edit on the variation: the modal's submission carries the message too, and the edit comes as its follow-up.
    const variedBytes = harness.fake.fileAt(varied.attachments[0]!.url)!;
    const edit = harness.fake.click({ messageId: varied.id, customId: buttonId(varied, 'Edit'), user: 'eve' });
    expect((await callbackOf(harness, edit)).body).toMatchObject({ type: 9 });
    const submit = harness.fake.submitModal({ interactionId: edit.id, values: { prompt: 'add a snail' } });
    expect(await harness.privateReply(submit)).toMatch(/^Queued/);
    const edited = await followupWithButtons(harness, submit);
    expect(edited.content).toContain(`<@${harness.fake.user('eve').id}> edited`);
    expect(provider.calls[2]!.request).toMatchObject({ prompt: 'add a snail', images: [dataUri(variedBytes)] });
    await completed(harness, 3);
    expect(await dmUsage(harness, 'eve')).toEqual({ person: 3, bucket: 3 });
    expect(harness.fake.callsTo('createMessage')).toEqual([]);
  });

  it('Delete: a follow-up through the click’s token, a DM through the bot; another member is refused', async () => {
    const harness = await start();
    const command = harness.flux({ prompt: 'a paper lantern' }, { context: 1, install: 'user', user: 'alice' });
    const image = await followupWithButtons(harness, command);
    const del = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Delete') });
    expect(await ephemeralAnswer(harness, del)).toBe(DELETED_TEXT);
    const deleted = harness.fake.callsTo((c) => c.route === 'deleteOriginal' && c.params.token === del.token);
    expect(deleted.map((c) => c.status)).toEqual([204]);
    expect(harness.fake.message(image.id)!.deleted).toBe(true);
    expect(await harness.core.records.find('discord', image.id)).toBeUndefined();

    // A token too old for a follow-up: the image comes by DM, and its buttons are the bot's edit.
    harness.flux({ prompt: 'an old clock' }, { context: 1, install: 'user', user: 'alice', createdAt: Date.now() - 14.5 * 60_000 });
    const edited = await harness.fake.waitFor((c) => c.route === 'editMessage' && c.status === 200, 15_000);
    const dm = harness.fake.message(edited.params.messageId!)!;
    // The bot's own message in its DM with alice (her follow-ups there are the interactions').
    expect(harness.fake.dms('alice').filter((m) => m.webhookId === undefined).map((m) => m.id)).toEqual([dm.id]);
    expect(buttons(dm).map((b) => b.label)).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    const dmDelete = harness.fake.click({ messageId: dm.id, customId: buttonId(dm, 'Delete') });
    expect(await ephemeralAnswer(harness, dmDelete)).toBe(DELETED_TEXT);
    expect(harness.fake.callsTo((c) => c.route === 'deleteMessage' && c.params.messageId === dm.id).map((c) => c.status)).toEqual([204]);
    expect(harness.fake.message(dm.id)!.deleted).toBe(true);

    // In a server where only alice installed the app, her follow-up is public: bob may not delete it.
    const inServer = harness.flux({ prompt: 'a kite' }, { install: 'user', user: 'alice' });
    const public_ = await followupWithButtons(harness, inServer);
    const bobDelete = harness.fake.click({ messageId: public_.id, customId: buttonId(public_, 'Delete'), user: 'bob' });
    expect(await ephemeralAnswer(harness, bobDelete)).toBe(DELETE_REFUSED_TEXT);
    expect(harness.fake.message(public_.id)!.deleted).toBe(false);
  });

  it('a click in another place than the image’s is refused clearly, nothing charged', async () => {
    const harness = await start({ guildCommands: true });
    // alice's image in #general through her own install (before the server installed the app, say)...
    const personal = harness.flux({ prompt: 'a tin robot' }, { install: 'user', user: 'alice' });
    const image = await followupWithButtons(harness, personal);
    // ...clicked under the server's install: a server's member, not personal use.
    const vary = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Vary'), user: 'bob', install: 'guild' });
    expect(await ephemeralAnswer(harness, vary)).toBe(OTHER_PLACE_FROM_PERSONAL_TEXT);
    const edit = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Edit'), user: 'alice', install: 'guild' });
    expect(((await callbackOf(harness, edit)).body as { type: number; data: { content: string } }).data.content).toBe(OTHER_PLACE_FROM_PERSONAL_TEXT);

    // A server's image clicked under a user install alone: personal use, not the server.
    harness.flux({ prompt: 'a brass owl' }, { user: 'alice' });
    const serverImage = await deliveredImage(harness);
    const reroll = harness.fake.click({ messageId: serverImage.id, customId: buttonId(serverImage, 'Reroll'), user: 'alice', install: 'user' });
    expect(await ephemeralAnswer(harness, reroll)).toBe(OTHER_PLACE_PERSONAL_TEXT);

    await completed(harness, 2);
    expect(provider.calls).toHaveLength(2);
    expect(await dmUsage(harness, 'alice')).toEqual({ person: 1, bucket: 1 });
    expect(await dmUsage(harness, 'bob')).toEqual({ person: 0, bucket: 1 });
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});

describe('buttons on an image given privately after the channel refused it', () => {
  it('the ephemeral follow-up gets the buttons; Vary reads it from the click and its result comes privately too', async () => {
    const harness = await start({ guildCommands: true });
    // The bot may no longer attach files in #general: the command was sent while it still could.
    harness.fake.channel('general').botDeny = PermissionFlagsBits.AttachFiles;
    const command = harness.flux({ prompt: 'a quiet harbour' }, { user: 'alice', appPermissions: DEFAULT_BOT_PERMISSIONS });
    const image = await followupWithButtons(harness, command);
    expect(image.flags & 64).toBe(64);
    expect(image.content).toContain(PRIVATE_FOLLOWUP_NOTICE);
    expect(buttons(image).map((b) => b.label)).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    expect(harness.fake.callsTo('addOwnReaction')).toEqual([]);
    const bytes = harness.fake.fileAt(image.attachments[0]!.url)!;

    const vary = harness.fake.click({ messageId: image.id, customId: buttonId(image, 'Vary') });
    expect(await ephemeralAnswer(harness, vary)).toMatch(/^Queued/);
    // An ephemeral message cannot be fetched through its channel (10008): the click carried it.
    expect(refusals(harness.fake.callsTo((c) => c.route === 'getMessage' && c.params.messageId === image.id))).toEqual([[404, 10008]]);
    const varied = await followupWithButtons(harness, vary);
    expect(provider.calls[1]!.request.images).toEqual([dataUri(bytes)]);
    expect(varied.flags & 64).toBe(64);
    expect(varied.attachments).toHaveLength(1);
    await completed(harness, 2);
    expect(await harness.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });

    const del = harness.fake.click({ messageId: varied.id, customId: buttonId(varied, 'Delete') });
    expect(await ephemeralAnswer(harness, del)).toBe(DELETED_TEXT);
    expect(harness.fake.message(varied.id)!.deleted).toBe(true);
  });
});
