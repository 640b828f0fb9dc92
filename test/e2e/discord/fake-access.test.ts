import { once } from 'node:events';
import { AttachmentBuilder, Client, Events, GatewayIntentBits, MessageFlags, Partials, PermissionFlagsBits, Routes, type ChatInputCommandInteraction, type TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord, type FakeGuildInit } from '../../fakes/discord/index.js';
import { makeImage } from '../../fakes/fake-server.js';

/** The fake's access rules (50001), DMs (50007) and interaction webhooks with files, driven by the real discord.js. */

const GUILD: FakeGuildInit = {
  name: 'Studio',
  roles: [{ name: 'Admins', permissions: PermissionFlagsBits.Administrator }],
  channels: [{ name: 'general' }, { name: 'read-only', botDeny: PermissionFlagsBits.SendMessages }],
  threads: [{ name: 'old renders', parent: 'general', type: 12 }],
  members: [{ user: { username: 'alice' } }, { user: { username: 'root' }, roles: ['Admins'] }],
};

let fake: FakeDiscord | undefined;
let client: Client | undefined;
const clientErrors: unknown[] = [];

async function connect(): Promise<{ fake: FakeDiscord; client: Client }> {
  fake = await FakeDiscord.start({ guilds: [GUILD] });
  client = new Client({
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessageReactions,
    partials: [Partials.Message, Partials.Channel, Partials.Reaction],
    rest: { api: fake.apiUrl },
  });
  client.on(Events.Error, (err) => clientErrors.push(err));
  const ready = once(client, Events.ClientReady);
  await client.login('fake-bot-token');
  await ready;
  return { fake, client };
}

/** Runs `fn` on the next slash command the client receives. */
function nextCommand<T>(c: Client, fn: (i: ChatInputCommandInteraction) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    c.once(Events.InteractionCreate, (i) => (i.isChatInputCommand() ? fn(i).then(resolve, reject) : reject(new Error('not a slash command'))));
  });
}

const textChannel = (c: Client, f: FakeDiscord, name: string) => c.channels.cache.get(f.channel(name).id) as TextChannel;

afterEach(async () => {
  await client?.destroy();
  const unmatched = fake?.unmatchedCalls ?? [];
  await fake?.close();
  client = undefined;
  fake = undefined;
  expect(clientErrors.splice(0)).toEqual([]);
  expect(unmatched).toEqual([]);
});

describe('fake Discord: access, DMs and follow-ups', () => {
  it('answers 50001 where the bot was removed, while the interaction webhook still takes ephemeral follow-ups with files', async () => {
    const { fake, client } = await connect();
    const output = await makeImage(32, 32, 'png', '#3366cc');
    const thread = fake.channel('old renders');
    const handled = nextCommand(client, async (i) => {
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      fake.removeBot('old renders'); // the member removes the bot from their thread mid-command
      const posted = await client.rest.post(Routes.channelMessages(thread.id), { body: { content: 'hi' } }).catch((e: unknown) => e);
      const read = await client.rest.get(Routes.channel(thread.id)).catch((e: unknown) => e);
      const followUp = await i.followUp({ content: 'here it is', files: [new AttachmentBuilder(output, { name: 'flux-1.png' })], flags: MessageFlags.Ephemeral });
      return { posted, read, followUp };
    });
    const sent = fake.interaction({ name: 'flux', options: { prompt: 'x' }, user: 'alice', channel: 'old renders' });
    const { posted, read, followUp } = await handled;
    expect(posted).toMatchObject({ status: 403, code: 50001 });
    expect(read).toMatchObject({ status: 403, code: 50001 });
    expect(followUp.flags.has(MessageFlags.Ephemeral)).toBe(true);
    const call = fake.callsTo('createFollowup')[0]!;
    expect(call.files).toMatchObject([{ field: 'files[0]', filename: 'flux-1.png', width: 32, height: 32 }]);
    const [message] = fake.followups(sent.id);
    expect(message).toMatchObject({ channelId: thread.id, content: 'here it is', flags: 64 });
    expect(fake.fileAt(message!.attachments[0]!.url)!.equals(output)).toBe(true);
    // Nothing but the ephemeral follow-up reached the thread.
    expect(fake.messages('old renders').filter((m) => (m.flags & 64) === 0)).toEqual([]);
    fake.removeBot('old renders', true);
    await client.rest.post(Routes.channelMessages(thread.id), { body: { content: 'back again' } });
    expect(fake.messages('old renders').map((m) => m.content)).toContain('back again');
    // A channel the bot cannot see at all is Missing Access too; one it sees but may not post in, Missing Permissions.
    fake.channel('general').botDeny = PermissionFlagsBits.ViewChannel;
    await expect(client.rest.post(Routes.channelMessages(fake.channel('general').id), { body: { content: 'x' } })).rejects.toMatchObject({ status: 403, code: 50001 });
    await expect(textChannel(client, fake, 'read-only').send('no')).rejects.toMatchObject({ status: 403, code: 50013 });
  });

  it('opens DM channels (the same one each time) and refuses posts to a user who takes no DMs with 50007', async () => {
    const { fake, client } = await connect();
    const alice = fake.user('alice');
    const file = await makeImage(16, 16);
    const dm = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: alice.id } })) as { id: string; type: number; recipients: Array<{ id: string }> };
    expect(dm).toMatchObject({ type: 1, recipients: [{ id: alice.id }] });
    const again = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: alice.id } })) as { id: string };
    expect(again.id).toBe(dm.id);
    // Through discord.js's own DM helpers as well.
    const sent = await (await client.users.fetch(alice.id)).send({ content: 'hello', files: [new AttachmentBuilder(file, { name: 'a.png' })], nonce: 'n-1', enforceNonce: true });
    expect(sent.channelId).toBe(dm.id);
    expect(sent.guildId).toBeNull();
    await (await client.users.fetch(alice.id)).send({ content: 'hello', nonce: 'n-1', enforceNonce: true });
    expect(fake.dms('alice').map((m) => [m.content, m.attachments.length])).toEqual([['hello', 1]]);
    expect(fake.dms('root')).toEqual([]);

    fake.blockDms('alice');
    await expect(client.rest.post(Routes.channelMessages(dm.id), { body: { content: 'are you there?' } })).rejects.toMatchObject({ status: 403, code: 50007 });
    await expect(client.rest.post(Routes.userChannels(), { body: { recipient_id: '123' } })).rejects.toMatchObject({ status: 400, code: 50033 });
    fake.blockDms('alice', false);
    await client.rest.post(Routes.channelMessages(dm.id), { body: { content: 'are you there?' } });
    expect(fake.dms('alice')).toHaveLength(2);
  });
});
