import { once } from 'node:events';
import {
  AttachmentBuilder,
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  PermissionFlagsBits,
  Routes,
  type ChatInputCommandInteraction,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type RESTOptions,
  type TextChannel,
  type User,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord, RESUME_PATH, type FakeDiscordOptions, type FakeGuildInit } from '../fakes/discord/index.js';
import { makeImage } from '../fakes/fake-server.js';

const GUILD: FakeGuildInit = {
  name: 'Studio',
  roles: [{ name: 'Admins', permissions: PermissionFlagsBits.Administrator }],
  channels: [{ name: 'general' }, { name: 'nsfw-art', nsfw: true }, { name: 'read-only', botDeny: PermissionFlagsBits.SendMessages }],
  threads: [{ name: 'old renders', parent: 'general' }],
  members: [{ user: { username: 'alice' } }, { user: { username: 'root' }, roles: ['Admins'] }],
};
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessageReactions;

let fake: FakeDiscord | undefined;
let client: Client | undefined;
const clientErrors: unknown[] = [];

async function connect(options: FakeDiscordOptions = {}, rest: Partial<RESTOptions> = {}): Promise<{ fake: FakeDiscord; client: Client }> {
  fake = await FakeDiscord.start({ guilds: [GUILD], ...options });
  client = new Client({
    intents: INTENTS,
    partials: [Partials.Message, Partials.Channel, Partials.Reaction],
    rest: { ...rest, api: fake.apiUrl },
  });
  client.on(Events.Error, (err) => clientErrors.push(err));
  client.on(Events.ShardError, (err) => clientErrors.push(err));
  const ready = once(client, Events.ClientReady);
  await client.login('fake-bot-token');
  await ready;
  return { fake, client };
}

/** Runs `fn` on the next slash command the client receives. */
function nextCommand<T>(c: Client, fn: (i: ChatInputCommandInteraction) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    c.once(Events.InteractionCreate, (i) => {
      if (i.isChatInputCommand()) fn(i).then(resolve, reject);
      else reject(new Error(`unexpected interaction type ${i.type}`));
    });
  });
}

function nextReaction(c: Client, from: (user: User | PartialUser) => boolean) {
  return new Promise<{ reaction: MessageReaction | PartialMessageReaction; user: User | PartialUser }>((resolve) => {
    const listener = (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
      if (!from(user)) return;
      c.off(Events.MessageReactionAdd, listener);
      resolve({ reaction, user });
    };
    c.on(Events.MessageReactionAdd, listener);
  });
}

const textChannel = (c: Client, f: FakeDiscord, name: string) => c.channels.cache.get(f.channel(name).id) as TextChannel;

afterEach(async () => {
  await client?.destroy();
  const unmatched = fake?.unmatchedCalls.filter((call) => call.path !== '/nope') ?? [];
  await fake?.close();
  client = undefined;
  fake = undefined;
  const errors = clientErrors.splice(0);
  expect(errors).toEqual([]);
  expect(unmatched).toEqual([]);
});

describe('fake Discord with the real discord.js client', () => {
  it('logs in and is ready with guilds, channels (NSFW flag), threads and members cached', async () => {
    const { fake, client } = await connect({ heartbeatIntervalMs: 100 });
    const guild = client.guilds.cache.get(fake.guild.id)!;
    // Available means GUILD_CREATE was handled: the 15 s unavailable-guild timeout was not what made it ready.
    expect(guild.available).toBe(true);
    expect(guild.channels.cache.get(fake.channel('nsfw-art').id)).toMatchObject({ nsfw: true, type: ChannelType.GuildText });
    expect(guild.channels.cache.get(fake.channel('general').id)).toMatchObject({ nsfw: false });
    expect(client.channels.cache.get(fake.channel('old renders').id)?.type).toBe(ChannelType.PublicThread);
    expect(guild.members.me?.id).toBe(fake.bot.id);
    expect(guild.members.cache.get(fake.user('root').id)?.permissions.has(PermissionFlagsBits.Administrator)).toBe(true);
    expect(textChannel(client, fake, 'read-only').permissionsFor(guild.members.me!).has(PermissionFlagsBits.SendMessages)).toBe(false);
    expect(client.application?.id).toBe(fake.applicationId);

    const identify = await fake.waitForGatewayOp(2);
    expect(identify.d).toMatchObject({ token: 'fake-bot-token', intents: INTENTS, compress: false });
    // No zlib-sync: plain JSON frames, no transport compression requested.
    expect(fake.gatewayConnections[0]?.query.get('encoding')).toBe('json');
    expect(fake.gatewayConnections[0]?.query.has('compress')).toBe(false);
    await fake.waitForGatewayOp(1);
    await new Promise<void>((resolve) => {
      const onDebug = (line: string) => {
        if (!line.includes('Heartbeat acknowledged')) return;
        client.off(Events.Debug, onDebug);
        resolve();
      };
      client.on(Events.Debug, onDebug);
    });
  });

  it('delivers a slash command with an attachment; defer, edit with a file and follow-up are recorded', async () => {
    const { fake, client } = await connect();
    const input = await makeImage(40, 30);
    const output = await makeImage(64, 48, 'png', '#cc3366');
    const attachment = fake.addAttachment(input, { filename: 'in.png', contentType: 'image/png' });
    const handled = nextCommand(client, async (i) => {
      const prompt = i.options.getString('prompt', true);
      const image = i.options.getAttachment('image', true);
      const fetched = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      await i.deferReply();
      const edited = await i.editReply({ content: 'done', files: [new AttachmentBuilder(output, { name: 'out.png' })] });
      const followUp = await i.followUp({ content: 'only for you', flags: MessageFlags.Ephemeral });
      await i.webhook.editMessage(followUp, { content: 'edited follow-up' });
      const original = await i.fetchReply();
      return { i, prompt, fetched, edited, followUp, original };
    });
    const sent = fake.interaction({ name: 'flux', options: { prompt: 'a lighthouse', image: attachment }, user: 'alice' });
    const { i, prompt, fetched, edited, followUp, original } = await handled;

    expect(i.id).toBe(sent.id);
    expect(prompt).toBe('a lighthouse');
    expect(fetched.equals(input)).toBe(true);
    expect(i.user.id).toBe(fake.user('alice').id);
    expect(i.attachmentSizeLimit).toBe(10 * 1024 * 1024);
    expect(i.appPermissions.has(PermissionFlagsBits.AttachFiles)).toBe(true);
    expect(i.memberPermissions?.has(PermissionFlagsBits.Administrator)).toBe(false);

    const callback = fake.callsTo('interactionCallback')[0]!;
    expect(callback).toMatchObject({ status: 204, body: { type: 5 }, params: { interactionId: sent.id, token: sent.token } });
    const edit = fake.callsTo('editOriginal')[0]!;
    expect(edit.path).toBe(`/webhooks/${fake.applicationId}/${sent.token}/messages/@original`);
    expect(edit.body).toMatchObject({ content: 'done', attachments: [{ id: '0' }] });
    expect(edit.files).toMatchObject([{ field: 'files[0]', filename: 'out.png', width: 64, height: 48 }]);
    expect(edit.files[0]!.bytes.equals(output)).toBe(true);

    const url = edited.attachments.first()!.url;
    expect(url.startsWith(fake.url)).toBe(true);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(output)).toBe(true);
    expect(fake.originalResponse(sent.id)).toMatchObject({ content: 'done', flags: 0 });

    expect(fake.callsTo('createFollowup')[0]!.query.get('wait')).toBe('true');
    expect(followUp.flags.has(MessageFlags.Ephemeral)).toBe(true);
    expect(fake.callsTo('editFollowup')[0]!.params.messageId).toBe(followUp.id);
    expect(fake.followups(sent.id).map((m) => m.content)).toEqual(['edited follow-up']);
    expect(original).toMatchObject({ id: edited.id, content: 'done' });
  });

  it('registers commands, types options from them and refuses invalid registrations', async () => {
    const { fake, client } = await connect();
    const flux = {
      name: 'flux',
      description: 'Generate an image',
      options: [
        { type: 1, name: 'imagine', description: 'From a prompt', options: [
          { type: 3, name: 'prompt', description: 'What to draw', required: true },
          { type: 4, name: 'steps', description: 'Steps', min_value: 1, max_value: 50 },
        ] },
      ],
    };
    const created = (await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guild.id), { body: [flux] })) as Array<{ id: string }>;
    expect(created[0]!.id).toBe(fake.commands(fake.guild.id)[0]!.id);
    const again = (await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guild.id), { body: [flux] })) as Array<{ id: string }>;
    expect(again[0]!.id).toBe(created[0]!.id);

    const handled = nextCommand(client, async (i) => ({
      sub: i.options.getSubcommand(),
      steps: i.options.getInteger('steps'),
      commandId: i.commandId,
      inThread: i.channel?.isThread() ?? false,
    }));
    fake.interaction({ name: 'flux', subcommand: 'imagine', options: { prompt: 'a cat', steps: 4 }, channel: 'old renders' });
    expect(await handled).toEqual({ sub: 'imagine', steps: 4, commandId: created[0]!.id, inThread: true });
    expect(() => fake.interaction({ name: 'flux', subcommand: 'imagine', options: { prompt: 'x', steps: 99 } })).toThrow(/within/);
    expect(() => fake.interaction({ name: 'flux', subcommand: 'imagine', options: { steps: 2 } })).toThrow(/requires option "prompt"/);

    const misordered = { name: 'bad', description: 'x', options: [{ type: 3, name: 'a', description: 'a' }, { type: 3, name: 'b', description: 'b', required: true }] };
    await expect(client.rest.put(Routes.applicationCommands(fake.applicationId), { body: [misordered] })).rejects.toMatchObject({ status: 400, code: 50035 });
    expect(fake.commands()).toEqual([]);
  });

  it('refuses late acks, a second callback and expired tokens', async () => {
    const { fake, client } = await connect();
    fake.settings.ackDeadlineMs = 0;
    const tooLate = nextCommand(client, (i) => i.deferReply());
    fake.interaction({ name: 'flux', options: { prompt: 'slow bot' } });
    await expect(tooLate).rejects.toMatchObject({ status: 404, code: 10062 });
    fake.settings.ackDeadlineMs = 3_000;

    const handled = nextCommand(client, async (i) => {
      await i.reply({ content: 'working on it' });
      const second = client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 5 }, auth: false });
      await expect(second).rejects.toMatchObject({ status: 400, code: 40060 });
      fake.expireInteractionTokens(i.id);
      await expect(i.editReply('too late')).rejects.toMatchObject({ status: 401, code: 50027 });
      // The fallback a bot uses once the token is gone: a plain channel message with the bot token.
      if (!i.channel?.isSendable()) throw new Error('interaction channel is not sendable');
      return i.channel.send('late result');
    });
    const sent = fake.interaction({ name: 'flux', options: { prompt: 'x' } });
    const late = await handled;
    expect(fake.originalResponse(sent.id)?.content).toBe('working on it');
    expect(fake.message(late.id)?.content).toBe('late result');
  });

  it('reacts, and receives reactions on messages it never cached (partials)', async () => {
    const { fake, client } = await connect();
    const ownEcho = nextReaction(client, (user) => user.id === fake.bot.id);
    const message = await textChannel(client, fake, 'general').send('hello');
    await message.react('🔄');
    const put = fake.callsTo('addOwnReaction')[0]!;
    expect(put).toMatchObject({ status: 204, params: { messageId: message.id, emoji: '🔄' } });
    // Discord echoes the bot's own reaction: listeners must skip their own user.
    expect((await ownEcho).reaction.message.id).toBe(message.id);

    const old = fake.addMessage('general', { content: 'an old render' });
    const alice = fake.user('alice');
    const received = nextReaction(client, (user) => user.id === alice.id);
    expect(fake.reactionAdd({ messageId: old.id, userId: alice.id })).not.toBeNull();
    const { reaction } = await received;
    expect(reaction.partial).toBe(true);
    expect(reaction.message.partial).toBe(true);
    expect(reaction.message.author).toBeNull();
    expect(reaction.emoji.name).toBe('🔄');
    expect((await reaction.message.fetch()).content).toBe('an old render');

    const onCached = nextReaction(client, (user) => user.id === alice.id);
    fake.reactionAdd({ messageId: message.id, userId: alice.id });
    const cached = (await onCached).reaction;
    expect(cached.partial).toBe(false);
    expect(cached.count).toBe(2);
    expect(fake.message(message.id)?.reactions[0]?.userIds.size).toBe(2);
  });

  it('starts a thread from a message (once), posts files in it and edits the starter', async () => {
    const { fake, client } = await connect();
    const message = await textChannel(client, fake, 'general').send('render');
    const created = once(client, Events.ThreadCreate);
    const thread = await message.startThread({ name: 'render thread' });
    expect(thread).toMatchObject({ id: message.id, type: ChannelType.PublicThread, parentId: fake.channel('general').id });
    expect((await created)[1]).toBe(true); // newlyCreated
    const image = await makeImage(20, 10);
    const inThread = await thread.send({ content: 'in the thread', files: [new AttachmentBuilder(image, { name: 'render.png' })] });
    expect(fake.messages(thread.id).map((m) => m.content)).toEqual(['in the thread']);
    expect(inThread.attachments.first()).toMatchObject({ name: 'render.png', width: 20, height: 10, size: image.length });
    expect(Buffer.from(await (await fetch(inThread.attachments.first()!.url)).arrayBuffer()).equals(image)).toBe(true);
    await message.edit('render (see thread)');
    expect(fake.message(message.id)).toMatchObject({ content: 'render (see thread)', threadId: thread.id });
    const again = client.rest.post(Routes.threads(message.channelId, message.id), { body: { name: 'twice' } });
    await expect(again).rejects.toMatchObject({ code: 160004 });
  });

  it.each([{ abrupt: false }, { abrupt: true }])('resumes after a dropped socket (abrupt: $abrupt) and replays missed events', async ({ abrupt }) => {
    const { fake, client } = await connect();
    const sessionId = fake.gateway.sessionId;
    const resumed = once(client, Events.ShardResume);
    const whileDown = nextCommand(client, async (i) => i.id);
    fake.dropSocket({ abrupt });
    const missed = fake.interaction({ name: 'flux', options: { prompt: 'sent while down' } });
    expect(await whileDown).toBe(missed.id);
    await resumed;
    const resume = await fake.waitForGatewayOp(6);
    expect(resume).toMatchObject({ path: RESUME_PATH, d: { session_id: sessionId, token: 'fake-bot-token' } });
    expect((resume.d as { seq: number }).seq).toBeLessThan(missed.seq);
    expect(fake.gatewayOps.filter((f) => f.op === 2)).toHaveLength(1);

    const after = nextCommand(client, async (i) => i.id);
    const sent = fake.interaction({ name: 'flux', options: { prompt: 'after' } });
    expect(await after).toBe(sent.id);
  });

  it('identifies again after a non-resumable invalid session, and resumes in place after a resumable one', async () => {
    const { fake, client } = await connect();
    const resumed = once(client, Events.ShardResume);
    fake.invalidSession(true);
    expect((await fake.waitForGatewayOp(6)).connection).toBe(1);
    await resumed;

    const readyAgain = once(client, Events.ShardReady);
    fake.invalidSession(false);
    await fake.waitForGatewayOp(2, (f) => f.connection > 1, 15_000);
    await readyAgain;
    expect(fake.gateway.sessionId).toBe('fake-session-2');
    const handled = nextCommand(client, async (i) => i.id);
    const sent = fake.interaction({ name: 'flux', options: { prompt: 'new session' } });
    expect(await handled).toBe(sent.id);
  }, 20_000);

  it('makes discord.js wait out a 429 retry_after, retry a 500, and rejects rule breaks', async () => {
    const { fake, client } = await connect();
    const general = textChannel(client, fake, 'general');
    fake.failNext('createMessage', { status: 429, retryAfter: 0.3 });
    await general.send('after the limit');
    const [limited, retried] = fake.callsTo('createMessage');
    expect(limited!.status).toBe(429);
    expect(retried!.status).toBe(200);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(300);

    fake.failNext('createMessage', { status: 500 });
    await general.send('after a 500');
    expect(fake.callsTo('createMessage').map((c) => c.status)).toEqual([429, 200, 500, 200]);
    expect(fake.messages('general').map((m) => m.content)).toEqual(['after the limit', 'after a 500']);

    await expect(general.send('x'.repeat(2001))).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(general.send({ embeds: [{ title: 't'.repeat(257) }] })).rejects.toMatchObject({ code: 50035 });
    await expect(client.rest.post(Routes.channelMessages(general.id), { body: {} })).rejects.toMatchObject({ code: 50006 });
    fake.settings.uploadLimitBytes = 1024;
    await expect(general.send({ files: [new AttachmentBuilder(Buffer.alloc(2048), { name: 'big.bin' })] })).rejects.toMatchObject({ status: 413, code: 40005 });
    await expect(textChannel(client, fake, 'read-only').send('no')).rejects.toMatchObject({ status: 403, code: 50013 });
    await expect(client.rest.get('/nope')).rejects.toMatchObject({ status: 404, message: expect.stringContaining('no route for GET /nope') });
    expect(fake.unmatchedCalls.map((c) => c.path)).toEqual(['/nope']);
  });

  it('holds answers back with delayNext: past the REST timeout discord.js retries, so the message is posted twice', async () => {
    const { fake, client } = await connect({}, { timeout: 1_000 });
    fake.delayNext('createMessage', 1_500);
    await textChannel(client, fake, 'general').send('slow');
    expect(fake.callsTo('createMessage').map((c) => c.status)).toEqual([200, 200]);
    expect(fake.messages('general').map((m) => m.content)).toEqual(['slow', 'slow']);
  });
});
