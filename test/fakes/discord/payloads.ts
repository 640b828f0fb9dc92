import type { APIGuildMember, APIMessage, APIMessageInteractionMetadata, APIRole, APIUser, GuildMemberFlags, MessageFlags, MessageType, RoleFlags, UserFlags } from 'discord.js';
import type { DiscordState } from './state.js';
import type { FakeChannel, FakeGuild, FakeMember, FakeMessage, FakeRole, FakeUser } from './types.js';

/** JSON builders: the shapes Discord's API v10 sends, as discord.js 14 reads them. */

export function userJson(user: FakeUser): APIUser {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.globalName,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
    public_flags: 0 as UserFlags,
  };
}

export function roleJson(role: FakeRole): APIRole {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0 as RoleFlags,
  };
}

export function memberJson(member: FakeMember): APIGuildMember {
  return {
    user: userJson(member.user),
    nick: member.nick,
    avatar: null,
    banner: null,
    roles: member.roles,
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

/**
 * A guild channel or thread, or a DM channel. The bot's deny overwrite is included so discord.js computes the same
 * permissions.
 */
export function channelJson(state: DiscordState, channel: FakeChannel): Record<string, unknown> {
  if (state.isDm(channel)) {
    const recipient = state.users.get(channel.recipientId ?? '');
    return { id: channel.id, type: channel.type, last_message_id: lastMessageId(state, channel.id), flags: 0, recipients: recipient ? [userJson(recipient)] : [] };
  }
  const base = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    parent_id: channel.parentId,
    last_message_id: lastMessageId(state, channel.id),
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (channel.threadMeta) {
    const meta = channel.threadMeta;
    const count = state.liveMessages(channel.id).length;
    return {
      ...base,
      owner_id: meta.ownerId,
      message_count: count,
      total_message_sent: count,
      member_count: 1,
      thread_metadata: {
        archived: meta.archived,
        auto_archive_duration: meta.autoArchiveMinutes,
        archive_timestamp: meta.createdAt,
        locked: false,
        create_timestamp: meta.createdAt,
        ...(channel.type === 12 ? { invitable: true } : {}),
      },
    };
  }
  const overwrites = channel.botDeny === 0n ? [] : [{ id: state.bot.id, type: 1, allow: '0', deny: channel.botDeny.toString() }];
  return { ...base, position: 0, permission_overwrites: overwrites, nsfw: channel.nsfw, topic: null };
}

/** `GET /guilds/{id}`: the guild without members or channels. */
export function guildJson(guild: FakeGuild): Record<string, unknown> {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: guild.roles.map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    premium_tier: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
  };
}

/** The GUILD_CREATE dispatch body: the guild with roles, channels, threads and members. */
export function guildCreateJson(state: DiscordState, guild: FakeGuild): Record<string, unknown> {
  const channels = [...state.channels.values()].filter((c) => c.guildId === guild.id);
  return {
    ...guildJson(guild),
    joined_at: guild.members.get(state.bot.id)?.joinedAt ?? new Date().toISOString(),
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    members: [...guild.members.values()].map(memberJson),
    channels: channels.filter((c) => !c.threadMeta).map((c) => channelJson(state, c)),
    threads: channels.filter((c) => c.threadMeta && !c.threadMeta.archived).map((c) => channelJson(state, c)),
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export function messageJson(state: DiscordState, m: FakeMessage): APIMessage {
  const reactions = m.reactions
    .filter((r) => r.userIds.size > 0)
    .map((r) => ({
      emoji: r.emoji,
      count: r.userIds.size,
      count_details: { burst: 0, normal: r.userIds.size },
      me: r.userIds.has(state.bot.id),
      me_burst: false,
      burst_colors: [],
    }));
  const thread = m.threadId === undefined ? undefined : state.channels.get(m.threadId);
  return {
    id: m.id,
    channel_id: m.channelId,
    author: userJson(m.author),
    content: m.content,
    timestamp: m.timestamp,
    edited_timestamp: m.editedTimestamp,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: m.attachments,
    embeds: m.embeds,
    components: m.components as NonNullable<APIMessage['components']>,
    pinned: false,
    type: m.type as MessageType,
    flags: m.flags as MessageFlags,
    ...(reactions.length > 0 ? { reactions } : {}),
    ...(m.webhookId === undefined ? {} : { webhook_id: m.webhookId, application_id: m.webhookId }),
    ...(m.interaction === undefined
      ? {}
      : {
          interaction_metadata: {
            id: m.interaction.id,
            type: 2,
            user: userJson(m.interaction.user),
            authorizing_integration_owners: m.guildId === null ? {} : { '0': m.guildId },
            name: m.interaction.name,
            command_type: 1,
          } as APIMessageInteractionMetadata,
        }),
    ...(thread === undefined ? {} : { thread: channelJson(state, thread) as unknown as NonNullable<APIMessage['thread']> }),
    ...(m.reference === undefined ? {} : { message_reference: m.reference as NonNullable<APIMessage['message_reference']> }),
  };
}

function lastMessageId(state: DiscordState, channelId: string): string | null {
  return state.liveMessages(channelId).at(-1)?.id ?? null;
}
