import { PermissionFlagsBits } from 'discord.js';
import { snowflake } from './ids.js';
import type {
  FakeChannel,
  FakeCommand,
  FakeGuild,
  FakeGuildInit,
  FakeInteraction,
  FakeMember,
  FakeMessage,
  FakeRole,
  FakeUser,
  FakeUserInit,
} from './types.js';

const P = PermissionFlagsBits;

/** What everyone may do in a fresh guild: enough to run slash commands, react and read images. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  P.ViewChannel | P.SendMessages | P.SendMessagesInThreads | P.ReadMessageHistory | P.AddReactions |
  P.UseApplicationCommands | P.EmbedLinks | P.AttachFiles | P.CreatePublicThreads;

/** What the bot's managed role grants: what an image bot asks for in its invite link. */
export const DEFAULT_BOT_PERMISSIONS =
  P.ViewChannel | P.SendMessages | P.SendMessagesInThreads | P.CreatePublicThreads | P.EmbedLinks |
  P.AttachFiles | P.ReadMessageHistory | P.AddReactions | P.UseApplicationCommands;

/** Channel type of a DM. */
export const DM_CHANNEL = 1;

const ALL_PERMISSIONS = Object.values(P).reduce((all, bit) => all | bit, 0n);

/** The default guild when a test passes none: one ordinary channel, one NSFW channel, one member. */
export const DEFAULT_GUILD: FakeGuildInit = {
  name: 'Fake Guild',
  channels: [{ name: 'general' }, { name: 'nsfw-art', nsfw: true }],
  members: [{ user: { username: 'tester' } }],
};

/**
 * Everything the fake Discord knows: users, guilds with roles and members, channels and threads, messages,
 * uploaded bytes served by the CDN route, registered commands and dispatched interactions.
 */
export class DiscordState {
  readonly bot: FakeUser;
  readonly users = new Map<string, FakeUser>();
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, FakeMessage>();
  /** `enforce_nonce` messages by channel and nonce: a repeat answers the first message instead of posting again. */
  readonly nonces = new Map<string, string>();
  /** CDN path (`/cdn/...`, no query) → bytes. */
  readonly files = new Map<string, { bytes: Buffer; contentType: string }>();
  /** `global` or a guild id → commands in registration order. */
  readonly commands = new Map<string, FakeCommand[]>();
  readonly interactions = new Map<string, FakeInteraction>();
  /** The bot's DM channel with each user, by user id (Discord answers the same channel every time). */
  readonly dmChannels = new Map<string, string>();
  /** Users who installed the app to their account (a user install lets the bot DM them). */
  readonly userInstalls = new Set<string>();

  constructor(readonly applicationId: string, botName: string, guilds: FakeGuildInit[]) {
    // A bot user's id is its application's id.
    this.bot = this.addUser({ id: applicationId, username: botName, bot: true });
    for (const init of guilds) this.addGuild(init);
  }

  /** Adds (or returns the already known) user. */
  addUser(init: FakeUserInit): FakeUser {
    const known = init.id === undefined ? undefined : this.users.get(init.id);
    if (known) return known;
    const user: FakeUser = {
      id: init.id ?? snowflake(),
      username: init.username ?? `user${this.users.size}`,
      globalName: init.globalName ?? null,
      bot: init.bot ?? false,
      acceptsDms: true,
    };
    this.users.set(user.id, user);
    return user;
  }

  addGuild(init: FakeGuildInit): FakeGuild {
    const id = init.id ?? snowflake();
    const roles: FakeRole[] = [
      // @everyone's id is the guild's id; discord.js looks it up that way.
      { id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0 },
      { id: snowflake(), name: this.bot.username, permissions: DEFAULT_BOT_PERMISSIONS, position: 1 },
      ...(init.roles ?? []).map((r, i) => ({
        id: r.id ?? snowflake(),
        name: r.name,
        permissions: BigInt(r.permissions ?? 0n),
        position: i + 2,
      })),
    ];
    const guild: FakeGuild = { id, name: init.name ?? 'Fake Guild', ownerId: '', roles, members: new Map() };
    this.guilds.set(id, guild);
    if (init.botMember !== false) this.addMember(guild, this.bot, [roles[1]!.id]);
    for (const m of init.members ?? []) {
      const user = this.addUser(m.user);
      const roleIds = (m.roles ?? []).map((r) => roles.find((role) => role.id === r || role.name === r)?.id ?? r);
      this.addMember(guild, user, roleIds, m.nick ?? null);
    }
    // A separate owner, so the default test member is an ordinary member (owners have every permission).
    const owner = this.addUser({ username: `${guild.name} owner` });
    this.addMember(guild, owner);
    guild.ownerId = owner.id;
    for (const c of init.channels ?? []) {
      const parentId = c.parent === undefined ? null : this.requireChannel(c.parent, id).id;
      this.addChannel({ id: c.id ?? snowflake(), guildId: id, name: c.name, type: c.type ?? 0, nsfw: c.nsfw ?? false, parentId, botDeny: c.botDeny ?? 0n });
    }
    for (const t of init.threads ?? []) {
      const parent = this.requireChannel(t.parent, id);
      this.addThread(parent, { id: t.id ?? snowflake(), name: t.name, type: t.type ?? 11, ownerId: guild.ownerId });
    }
    return guild;
  }

  addMember(guild: FakeGuild, user: FakeUser, roles: string[] = [], nick: string | null = null): FakeMember {
    const member: FakeMember = { user, roles, nick, joinedAt: new Date().toISOString() };
    guild.members.set(user.id, member);
    return member;
  }

  addChannel(channel: FakeChannel): FakeChannel {
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** Creates a thread under a text channel; threads inherit the parent's overwrites for the bot. */
  addThread(parent: FakeChannel, t: { id: string; name: string; type: number; ownerId: string; autoArchiveMinutes?: number }): FakeChannel {
    return this.addChannel({
      id: t.id,
      guildId: parent.guildId,
      name: t.name,
      type: t.type,
      nsfw: false,
      parentId: parent.id,
      botDeny: parent.botDeny,
      threadMeta: { ownerId: t.ownerId, archived: false, createdAt: new Date().toISOString(), autoArchiveMinutes: t.autoArchiveMinutes ?? 1440 },
    });
  }

  /** The bot's DM channel with a user, opened on first use (type 1, no guild). */
  openDm(user: FakeUser): FakeChannel {
    const known = this.channels.get(this.dmChannels.get(user.id) ?? '');
    if (known) return known;
    const channel = this.addChannel({ id: snowflake(), guildId: '', name: '', type: DM_CHANNEL, nsfw: false, parentId: null, botDeny: 0n, recipientId: user.id });
    this.dmChannels.set(user.id, channel.id);
    return channel;
  }

  isDm(channel: FakeChannel): boolean {
    return channel.type === DM_CHANNEL;
  }

  /**
   * Whether the bot may post in a DM with this user: the user takes DMs and shares a server with the bot or installed
   * the app to their account (Discord refuses a bot's DM to anyone else with 50007).
   */
  canDm(userId: string): boolean {
    const user = this.users.get(userId);
    if (!user || user.bot || !user.acceptsDms) return false;
    if (this.userInstalls.has(userId)) return true;
    return [...this.guilds.values()].some((g) => g.members.has(userId) && g.members.has(this.bot.id));
  }

  /** A channel by id or name (the first match across guilds unless `guildId` is given). */
  findChannel(idOrName: string, guildId?: string): FakeChannel | undefined {
    const byId = this.channels.get(idOrName);
    if (byId && (guildId === undefined || byId.guildId === guildId)) return byId;
    return [...this.channels.values()].find((c) => c.name === idOrName && (guildId === undefined || c.guildId === guildId));
  }

  requireChannel(idOrName: string, guildId?: string): FakeChannel {
    const channel = this.findChannel(idOrName, guildId);
    if (!channel) throw new Error(`fake discord: no channel ${idOrName}`);
    return channel;
  }

  isThread(channel: FakeChannel): boolean {
    return channel.type === 10 || channel.type === 11 || channel.type === 12;
  }

  /** A member's guild-wide permissions: @everyone plus their roles; Administrator grants everything. */
  memberPermissions(guildId: string, userId: string): bigint {
    const guild = this.guilds.get(guildId);
    if (!guild) return 0n;
    const roleIds = new Set([guildId, ...(guild.members.get(userId)?.roles ?? [])]);
    const base = guild.roles.filter((r) => roleIds.has(r.id)).reduce((all, r) => all | r.permissions, 0n);
    return (base & P.Administrator) !== 0n || guild.ownerId === userId ? ALL_PERMISSIONS : base;
  }

  /** Whether the bot is a member of the guild (see FakeGuildInit.botMember). */
  botIn(guildId: string): boolean {
    return this.guilds.get(guildId)?.members.has(this.bot.id) ?? false;
  }

  /** The bot's permissions in a channel, after the channel's (or thread parent's) deny overwrite; none in a guild it is not in. */
  botPermissions(channelId: string): bigint {
    const channel = this.channels.get(channelId);
    if (!channel || !this.botIn(channel.guildId)) return 0n;
    const base = this.memberPermissions(channel.guildId, this.bot.id);
    return base === ALL_PERMISSIONS ? base : base & ~channel.botDeny;
  }

  /** The user tests act as by default: the guild's first member that is neither the bot nor the owner. */
  defaultUser(guildId: string): FakeUser {
    const guild = this.guilds.get(guildId);
    const member = [...(guild?.members.values() ?? [])].find((m) => !m.user.bot && m.user.id !== guild?.ownerId);
    return member?.user ?? this.addUser({ username: 'tester' });
  }

  /** The member, added on the fly (no roles) if the user was not in the guild yet. */
  ensureMember(guildId: string, user: FakeUser): FakeMember {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`fake discord: no guild ${guildId}`);
    return guild.members.get(user.id) ?? this.addMember(guild, user);
  }

  /** Stores a message; the bot is the author unless told otherwise. */
  addMessage(fields: Partial<FakeMessage> & { channelId: string }): FakeMessage {
    const channel = this.channels.get(fields.channelId);
    const message: FakeMessage = {
      id: snowflake(),
      guildId: channel && !this.isDm(channel) ? channel.guildId : null,
      author: this.bot,
      content: '',
      embeds: [],
      components: [],
      attachments: [],
      flags: 0,
      type: 0,
      timestamp: new Date().toISOString(),
      editedTimestamp: null,
      reactions: [],
      deleted: false,
      ...fields,
    };
    this.messages.set(message.id, message);
    return message;
  }

  /** Live (not deleted) messages, oldest first, optionally in one channel. */
  liveMessages(channelId?: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => !m.deleted && (channelId === undefined || m.channelId === channelId));
  }

  interactionByToken(token: string): FakeInteraction | undefined {
    return [...this.interactions.values()].find((i) => i.token === token);
  }
}
