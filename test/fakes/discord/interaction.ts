import type { APIAttachment } from 'discord.js';
import { interactionToken, snowflake } from './ids.js';
import { PermissionFlagsBits as P } from 'discord.js';
import { channelJson, memberJson, messageJson, roleJson, userJson } from './payloads.js';
import type { DiscordState } from './state.js';
import type { CommandOption, FakeChannel, FakeCommand, FakeGuild, FakeInteraction, FakeUser, FakeUserInit } from './types.js';

/** An option value: string, integer, number or boolean, an attachment from `addAttachment`, or an id. */
export type OptionValue = string | number | boolean | APIAttachment;

/** What a test says about a slash command invocation; everything but `name` has a sensible default. */
export interface InteractionInit {
  /** Command name, e.g. `flux`. */
  name: string;
  /** Option values by option name. Attachment options take the object `addAttachment` returned. */
  options?: Record<string, OptionValue>;
  subcommand?: string;
  subcommandGroup?: string;
  /** Invoking user: a known user's id or username, or a new user. Default: the guild's first ordinary member. */
  user?: string | FakeUserInit;
  /** Guild id; default the first guild. */
  guild?: string;
  /** Channel or thread, by name or id; default the guild's first text channel. */
  channel?: string;
  /** The member's permissions in the channel (bits); default computed from @everyone and their roles. */
  permissions?: bigint | string;
  /** The bot's permissions in the channel (`app_permissions`); default computed. */
  appPermissions?: bigint | string;
  locale?: string;
  /** When the interaction was created (its id's timestamp, from which discord.js derives `createdTimestamp`). */
  createdAt?: number;
  /**
   * Where it is used: 0 a server channel (default), 1 the DM with the bot, 2 a private channel (a DM or group DM between
   * users, which the bot is not in). Refused when the registered command does not list the context.
   */
  context?: 0 | 1 | 2;
  /**
   * Which install authorizes it: `guild` (the server's, default; in DMs the bot's own DM only) or `user` (the person's
   * own install, the only one in a server that did not install the app): then the interaction takes 5 follow-ups at
   * most, and the person may be DMed by the bot. Refused when the command's `integration_types` lack it.
   */
  install?: 'guild' | 'user';
}

/** The place an interaction is used in: the fields Discord sends for it, and its channel. */
export interface Place {
  fields: Record<string, unknown>;
  guildId: string;
  channel: FakeChannel;
  user: FakeUser;
  userInstallOnly: boolean;
}

/**
 * The fields of an interaction that say where it is used and who authorized it: a server's (`guild_id`, `member`,
 * `app_permissions`...) or a DM's (`user`, a DM channel), `context` and `authorizing_integration_owners`. Checks the
 * registered command (when there is one) offers itself there.
 */
export function placeOf(state: DiscordState, init: InteractionInit, command: FakeCommand | undefined, uploadLimitBytes: number): Place {
  const context = init.context ?? 0;
  const install = init.install ?? 'guild';
  if (command) {
    const contexts = (command.contexts as number[] | null | undefined) ?? [0, 1, 2];
    const types = (command.integration_types as number[] | null | undefined) ?? [0];
    if (!contexts.includes(context)) throw new Error(`fake discord: ${init.name} is not offered in context ${context}`);
    if (!types.includes(install === 'guild' ? 0 : 1)) throw new Error(`fake discord: ${init.name} is not offered to a ${install} install`);
  }
  if (context !== 0) {
    if (context === 2 && install === 'guild') throw new Error('fake discord: a private channel is only reached through a user install');
    const user = init.user === undefined ? state.defaultUser([...state.guilds.keys()][0] ?? '') : resolveUser(state, undefined, init.user);
    const channel = context === 1 ? state.openDm(user) : state.addChannel({ id: snowflake(), guildId: '', name: '', type: 3, nsfw: false, parentId: null, botDeny: 0n });
    if (install === 'user') state.userInstalls.add(user.id);
    const owners = install === 'user' ? { '1': user.id } : { '0': '0' };
    const fields = privatePlaceFields(state, { channel, user, context, owners, locale: init.locale ?? 'en-US' }, uploadLimitBytes);
    return { fields, guildId: '', channel, userInstallOnly: install === 'user', user };
  }
  const guild = init.guild === undefined ? [...state.guilds.values()][0] : state.guilds.get(init.guild);
  if (!guild) throw new Error(`fake discord: no guild ${init.guild ?? '(none configured)'}`);
  const channel =
    init.channel === undefined
      ? [...state.channels.values()].find((c) => c.guildId === guild.id && c.type === 0)
      : state.requireChannel(init.channel, guild.id);
  if (!channel) throw new Error('fake discord: the guild has no text channel');
  const user = resolveUser(state, guild, init.user);
  if (install === 'user') state.userInstalls.add(user.id);
  const member = state.ensureMember(guild.id, user);
  const permissions = BigInt(init.permissions ?? state.memberPermissions(guild.id, user.id));
  const fields = {
    version: 1,
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    guild_locale: 'en-US',
    channel: { ...channelJson(state, channel), permissions: permissions.toString() },
    channel_id: channel.id,
    member: { ...memberJson(member), permissions: permissions.toString() },
    app_permissions: BigInt(init.appPermissions ?? (state.botIn(guild.id) ? state.botPermissions(channel.id) : USER_INSTALL_APP_PERMISSIONS)).toString(),
    locale: init.locale ?? 'en-US',
    entitlements: [],
    authorizing_integration_owners: install === 'user' ? { '1': user.id } : { '0': guild.id },
    context: 0,
    attachment_size_limit: uploadLimitBytes,
  };
  return { fields, guildId: guild.id, channel, userInstallOnly: install === 'user', user };
}

/** A user install's app permissions where the bot itself is not (outside servers, a server without it): what its messages may carry. */
export const USER_INSTALL_APP_PERMISSIONS = P.EmbedLinks | P.AttachFiles | P.SendMessages | P.ViewChannel;

/**
 * The place fields of an interaction outside servers: the DM with the bot (context 1) or a private channel between
 * users (context 2), with the user (no member) and the installs that authorize it.
 */
export function privatePlaceFields(
  state: DiscordState,
  at: { channel: FakeChannel; user: FakeUser; context: 1 | 2; owners: Record<string, string>; locale: string },
  uploadLimitBytes: number,
): Record<string, unknown> {
  return {
    version: 1,
    channel: { ...channelJson(state, at.channel), ...(at.context === 2 ? { recipients: [userJson(at.user)] } : {}) },
    channel_id: at.channel.id,
    user: userJson(at.user),
    app_permissions: USER_INSTALL_APP_PERMISSIONS.toString(),
    locale: at.locale,
    entitlements: [],
    authorizing_integration_owners: at.owners,
    context: at.context,
    attachment_size_limit: uploadLimitBytes,
  };
}

const STRING = 3;
const INTEGER = 4;
const BOOLEAN = 5;
const USER = 6;
const CHANNEL = 7;
const ROLE = 8;
const NUMBER = 10;
const ATTACHMENT = 11;

const isAttachment = (v: OptionValue): v is APIAttachment => typeof v === 'object' && v !== null && 'url' in v;

interface Resolved {
  attachments: Record<string, APIAttachment>;
  users: Record<string, unknown>;
  members: Record<string, unknown>;
  channels: Record<string, unknown>;
  roles: Record<string, unknown>;
}

/**
 * Builds a valid INTERACTION_CREATE body (type 2, chat input) with every field discord.js 14 reads, and
 * records the interaction in the state so its callback and webhook routes work. When the command was registered through
 * the REST routes, option types come from its schema and invocations Discord's client would refuse (unknown
 * option, wrong type, missing required option, value outside choices or bounds) throw here.
 */
export function buildInteraction(state: DiscordState, init: InteractionInit, uploadLimitBytes: number): { payload: Record<string, unknown>; record: FakeInteraction } {
  const firstGuild = init.guild ?? [...state.guilds.keys()][0] ?? '';
  const command = findCommand(state, init, firstGuild, 1);
  const place = placeOf(state, init, command, uploadLimitBytes);
  const guild = state.guilds.get(place.guildId) ?? state.guilds.get(firstGuild);
  if (!guild) throw new Error(`fake discord: no guild ${firstGuild}`);
  const resolved: Resolved = { attachments: {}, users: {}, members: {}, channels: {}, roles: {} };
  const options = buildOptions(state, guild, init, command, resolved);
  const usedResolved = Object.fromEntries(Object.entries(resolved).filter(([, v]) => Object.keys(v as object).length > 0));
  const record = recordInteraction(state, init, place, init.name);
  const payload = {
    id: record.id,
    application_id: state.applicationId,
    type: 2,
    token: record.token,
    ...place.fields,
    data: {
      id: command?.id ?? snowflake(),
      name: init.name,
      type: 1,
      ...(command?.guild_id === undefined ? {} : { guild_id: command.guild_id }),
      ...(options.length > 0 ? { options } : {}),
      ...(Object.keys(usedResolved).length > 0 ? { resolved: usedResolved } : {}),
    },
  };
  return { payload, record };
}

/**
 * The registered command an invocation is of: the guild's or a global one in a server; outside servers only a global
 * one (Discord offers a server's commands in that server alone). Throws for a DM use of a command that is registered
 * only in servers, as Discord's client would not show it.
 */
function findCommand(state: DiscordState, init: Pick<InteractionInit, 'name' | 'context'>, guildId: string, type: number): FakeCommand | undefined {
  const global = state.commands.get('global')?.find((c) => c.name === init.name && c.type === type);
  if ((init.context ?? 0) === 0) return state.commands.get(guildId)?.find((c) => c.name === init.name && c.type === type) ?? global;
  const inServers = [...state.commands.entries()].some(([scope, list]) => scope !== 'global' && list.some((c) => c.name === init.name && c.type === type));
  if (!global && inServers) throw new Error(`fake discord: ${init.name} is registered in servers only, so Discord does not offer it outside them`);
  return global;
}

/** Records an application command interaction so its callback and webhook routes work. */
function recordInteraction(state: DiscordState, init: Pick<InteractionInit, 'createdAt'>, place: Place, commandName: string): FakeInteraction {
  const record: FakeInteraction = {
    id: snowflake(init.createdAt),
    token: interactionToken(),
    applicationId: state.applicationId,
    guildId: place.guildId,
    channelId: place.channel.id,
    user: place.user,
    commandName,
    createdAt: Date.now(),
    callbackType: null,
    ephemeral: false,
    originalMessageId: null,
    followupIds: [],
    tokenExpired: false,
    userInstallOnly: place.userInstallOnly,
    place: place.fields,
  };
  state.interactions.set(record.id, record);
  return record;
}

/** A message command (right-click a message → Apps) as a test describes it. */
export interface MessageCommandInit extends Omit<InteractionInit, 'options' | 'subcommand' | 'subcommandGroup' | 'channel'> {
  /** The message it is used on (any stored message; its channel is where the command is used). */
  messageId: string;
}

/**
 * INTERACTION_CREATE for a message command (type 2, `data.type` 3): `data.target_id` and the whole message in
 * `data.resolved.messages`, as Discord sends it (with its content, whatever the bot's intents). Throws for a command
 * that was registered without this name.
 */
export function buildMessageCommand(state: DiscordState, init: MessageCommandInit, uploadLimitBytes: number): { payload: Record<string, unknown>; record: FakeInteraction } {
  const message = state.messages.get(init.messageId);
  if (!message || message.deleted) throw new Error(`fake discord: no message ${init.messageId}`);
  const channel = state.channels.get(message.channelId);
  const scope = channel?.guildId || (init.guild ?? '');
  const command = findCommand(state, init, scope, 3);
  if (state.commands.size > 0 && !command) throw new Error(`fake discord: no message command "${init.name}" is registered`);
  const inGuild = (init.context ?? 0) === 0;
  const place = placeOf(state, { ...init, ...(inGuild && channel ? { channel: channel.id, guild: channel.guildId } : {}) }, command, uploadLimitBytes);
  const record = recordInteraction(state, init, place, init.name);
  const payload = {
    id: record.id,
    application_id: state.applicationId,
    type: 2,
    token: record.token,
    ...place.fields,
    data: {
      id: command?.id ?? snowflake(),
      name: init.name,
      type: 3,
      target_id: message.id,
      resolved: { messages: { [message.id]: messageJson(state, message) } },
      ...(command?.guild_id === undefined ? {} : { guild_id: command.guild_id }),
    },
  };
  return { payload, record };
}

function resolveUser(state: DiscordState, guild: FakeGuild | undefined, spec: string | FakeUserInit | undefined): FakeUser {
  if (typeof spec === 'object') return state.addUser(spec);
  if (typeof spec === 'string') {
    const known = state.users.get(spec) ?? [...state.users.values()].find((u) => u.username === spec);
    if (!known) throw new Error(`fake discord: no user ${spec}`);
    return known;
  }
  return state.defaultUser(guild?.id ?? '');
}

function buildOptions(state: DiscordState, guild: FakeGuild, init: InteractionInit, command: FakeCommand | undefined, resolved: Resolved): unknown[] {
  const where = `/${init.name}`;
  let schema: CommandOption[] | undefined = command?.options ?? (command ? [] : undefined);
  const wrap: Array<{ name: string; type: number }> = [];
  for (const [name, type] of [[init.subcommandGroup, 2], [init.subcommand, 1]] as const) {
    if (name === undefined) continue;
    const sub = schema?.find((o) => o.name === name && o.type === type);
    if (schema && !sub) throw new Error(`fake discord: ${where} has no ${type === 2 ? 'subcommand group' : 'subcommand'} "${name}"`);
    schema = sub ? (sub.options ?? []) : undefined;
    wrap.push({ name, type });
  }
  let options: unknown[] = Object.entries(init.options ?? {}).map(([name, value]) => {
    const declared = schema?.find((o) => o.name === name);
    if (schema && !declared) throw new Error(`fake discord: ${where} has no option "${name}"`);
    const type = declared ? checkValue(where, declared, value) : inferType(value);
    return { name, type, value: resolveValue(state, guild, type, value, resolved) };
  });
  for (const required of schema?.filter((o) => o.required) ?? []) {
    if (!(required.name in (init.options ?? {}))) throw new Error(`fake discord: ${where} requires option "${required.name}"`);
  }
  for (const level of wrap.reverse()) options = [{ name: level.name, type: level.type, options }];
  return options;
}

function inferType(value: OptionValue): number {
  if (isAttachment(value)) return ATTACHMENT;
  if (typeof value === 'boolean') return BOOLEAN;
  if (typeof value === 'number') return Number.isInteger(value) ? INTEGER : NUMBER;
  return STRING;
}

/** Checks a value against its declared option, as Discord's client would before sending. */
function checkValue(where: string, option: CommandOption, value: OptionValue): number {
  const fail = (why: string) => new Error(`fake discord: ${where} option "${option.name}" ${why}`);
  const type = option.type;
  if (type === ATTACHMENT && !isAttachment(value)) throw fail('takes an attachment from addAttachment()');
  if (type === BOOLEAN && typeof value !== 'boolean') throw fail('takes a boolean');
  if ((type === INTEGER || type === NUMBER) && (typeof value !== 'number' || (type === INTEGER && !Number.isInteger(value)))) {
    throw fail(type === INTEGER ? 'takes an integer' : 'takes a number');
  }
  if ((type === STRING || type === USER || type === CHANNEL || type === ROLE) && typeof value !== 'string') throw fail('takes a string');
  if (typeof value === 'number' && ((option.min_value !== undefined && value < option.min_value) || (option.max_value !== undefined && value > option.max_value))) {
    throw fail(`must be within [${option.min_value ?? '-∞'}, ${option.max_value ?? '∞'}]`);
  }
  if (type === STRING && typeof value === 'string' && ((option.min_length !== undefined && value.length < option.min_length) || (option.max_length !== undefined && value.length > option.max_length))) {
    throw fail(`length must be within [${option.min_length ?? 0}, ${option.max_length ?? 6000}]`);
  }
  if (option.choices && option.choices.length > 0 && !option.choices.some((c) => c.value === value)) throw fail(`must be one of its choices`);
  return type;
}

/** The wire value of an option, filling `data.resolved` for attachments, users, channels and roles. */
function resolveValue(state: DiscordState, guild: FakeGuild, type: number, value: OptionValue, resolved: Resolved): string | number | boolean {
  if (isAttachment(value)) {
    resolved.attachments[value.id] = value;
    return value.id;
  }
  if (type === USER && typeof value === 'string') {
    const user = state.users.get(value) ?? [...state.users.values()].find((u) => u.username === value);
    if (!user) throw new Error(`fake discord: no user ${value}`);
    resolved.users[user.id] = userJson(user);
    const member = guild.members.get(user.id);
    if (member) resolved.members[user.id] = { ...memberJson(member), user: undefined, permissions: state.memberPermissions(guild.id, user.id).toString() };
    return user.id;
  } else if (type === CHANNEL && typeof value === 'string') {
    const channel = state.requireChannel(value, guild.id);
    resolved.channels[channel.id] = { id: channel.id, name: channel.name, type: channel.type, permissions: state.botPermissions(channel.id).toString() };
    return channel.id;
  } else if (type === ROLE && typeof value === 'string') {
    const role = guild.roles.find((r) => r.id === value || r.name === value);
    if (!role) throw new Error(`fake discord: no role ${value}`);
    resolved.roles[role.id] = roleJson(role);
    return role.id;
  }
  return value;
}
