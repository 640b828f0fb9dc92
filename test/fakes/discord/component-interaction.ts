import { buttonsOf, selectsOf } from './components.js';
import { interactionToken, snowflake } from './ids.js';
import { privatePlaceFields, USER_INSTALL_APP_PERMISSIONS } from './interaction.js';
import { channelJson, memberJson, messageJson } from './payloads.js';
import type { DiscordState } from './state.js';
import type { FakeChannel, FakeGuild, FakeInteraction, FakeUser } from './types.js';

/** Interaction types Discord sends for a button click and a modal submission. */
export const MESSAGE_COMPONENT = 3;
export const MODAL_SUBMIT = 5;

/** A click on a button of a stored message, as a test describes it. */
export interface ClickInit {
  messageId: string;
  customId: string;
  /** Clicking user, by id or username; default the guild's first ordinary member. */
  user?: string;
  /**
   * The guild the interaction claims (hostile tests: an interaction whose guild is not the message's). Default the
   * message's guild.
   */
  guild?: string;
  /** The member's permissions (bits); default computed from @everyone and their roles. */
  permissions?: bigint | string;
  /**
   * Which install authorizes the click: by default the one that authorized the interaction the message answers (a
   * user-installed app's follow-up: that user install), else the server's (outside servers: the person's own install
   * when they have one). `guild` on a message of a user install: the server installed the app since.
   */
  install?: 'guild' | 'user';
  /**
   * Sends the click even if the message has no such (enabled) button: a forged `custom_id`, which Discord's own client
   * never sends. Off by default, so a test cannot click a button the bot never posted.
   */
  forged?: boolean;
}

/** A modal submission as a test describes it: the interaction the modal answered, and the text typed per input. */
export interface ModalSubmitInit {
  /** The interaction (a click) whose callback opened the modal. */
  interactionId: string;
  /** Input custom id → value. */
  values: Record<string, string>;
  user?: string;
}

function findUser(state: DiscordState, guildId: string, spec: string | undefined): FakeUser {
  if (spec === undefined) return state.defaultUser(guildId);
  const user = state.users.get(spec) ?? [...state.users.values()].find((u) => u.username === spec);
  if (!user) throw new Error(`fake discord: no user ${spec}`);
  return user;
}

/** The fields every guild interaction carries (discord.js reads each of them). */
function guildFields(state: DiscordState, guild: FakeGuild, channel: FakeChannel, user: FakeUser, permissions: bigint, uploadLimitBytes: number): Record<string, unknown> {
  const member = state.ensureMember(guild.id, user);
  return {
    version: 1,
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    guild_locale: 'en-US',
    channel: { ...channelJson(state, channel), permissions: permissions.toString() },
    channel_id: channel.id,
    member: { ...memberJson(member), permissions: permissions.toString() },
    app_permissions: state.botPermissions(channel.id).toString(),
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': guild.id },
    context: 0,
    attachment_size_limit: uploadLimitBytes,
  };
}

function record(state: DiscordState, fields: Omit<FakeInteraction, 'id' | 'token' | 'applicationId' | 'createdAt' | 'callbackType' | 'ephemeral' | 'originalMessageId' | 'followupIds' | 'tokenExpired'>): FakeInteraction {
  const interaction: FakeInteraction = {
    id: snowflake(),
    token: interactionToken(),
    applicationId: state.applicationId,
    createdAt: Date.now(),
    callbackType: null,
    ephemeral: false,
    originalMessageId: null,
    followupIds: [],
    tokenExpired: false,
    ...fields,
  };
  state.interactions.set(interaction.id, interaction);
  return interaction;
}

/**
 * INTERACTION_CREATE type 3 (MESSAGE_COMPONENT) for a button on a stored message: `data { custom_id, component_type }`
 * and the whole `message`, as Discord sends them (so a client handles clicks on messages it never cached). The click is
 * placed where the message is (see clickPlace).
 */
export function buildClick(state: DiscordState, init: ClickInit, uploadLimitBytes: number): { payload: Record<string, unknown>; record: FakeInteraction } {
  const message = state.messages.get(init.messageId);
  if (!message || message.deleted) throw new Error(`fake discord: no message ${init.messageId} to click on`);
  const channel = state.channels.get(message.channelId);
  if (!channel) throw new Error(`fake discord: message ${init.messageId} has no channel`);
  if (!init.forged && !buttonsOf(message.components).some((b) => b.customId === init.customId && !b.disabled)) {
    throw new Error(`fake discord: message ${init.messageId} has no enabled button ${init.customId}`);
  }
  const place = clickPlace(state, init, channel, message.interaction ? state.interactions.get(message.interaction.id) : undefined, uploadLimitBytes);
  const interaction = record(state, {
    guildId: place.guildId,
    channelId: channel.id,
    user: place.user,
    commandName: init.customId,
    type: MESSAGE_COMPONENT,
    messageId: message.id,
    ...(place.userInstallOnly ? { userInstallOnly: true } : {}),
    place: place.fields,
  });
  const payload = {
    id: interaction.id,
    application_id: state.applicationId,
    type: MESSAGE_COMPONENT,
    token: interaction.token,
    ...place.fields,
    message: messageJson(state, message),
    data: { custom_id: init.customId, component_type: 2 },
  };
  return { payload, record: interaction };
}

/**
 * Where a click is used, as Discord places it: in the message's channel, authorized by the installs that authorized the
 * interaction the message answers (a user-installed app's follow-up is clicked under that user install: personal use,
 * 5 follow-ups), else by the server's install. A message in the DM with the bot is clicked by that DM's person only;
 * in a private channel between users, by its person unless the test says who.
 */
function clickPlace(
  state: DiscordState,
  init: ClickInit,
  channel: FakeChannel,
  origin: FakeInteraction | undefined,
  uploadLimitBytes: number,
): { fields: Record<string, unknown>; guildId: string; user: FakeUser; userInstallOnly: boolean } {
  const inherited = origin?.place?.authorizing_integration_owners as Record<string, string> | undefined;
  // A user install alone authorized the message's interaction: its clicks are authorized by it too, unless told.
  const userInstalled = inherited !== undefined && !('0' in inherited);
  const install = init.install ?? (userInstalled ? 'user' : 'guild');
  if (!channel.guildId) {
    const person = channel.recipientId === undefined ? origin?.user : state.users.get(channel.recipientId);
    const user = init.user === undefined ? person : findUser(state, '', init.user);
    if (!user) throw new Error(`fake discord: no one to click in channel ${channel.id}`);
    if (state.isDm(channel) && user.id !== channel.recipientId) throw new Error(`fake discord: only the DM's person sees the bot's DM ${channel.id}`);
    const byUser = init.install === 'user' || (init.install === undefined && (userInstalled || state.userInstalls.has(user.id)));
    const owners = byUser ? (userInstalled && init.user === undefined ? inherited : { '1': user.id }) : { '0': '0' };
    const fields = privatePlaceFields(state, { channel, user, context: state.isDm(channel) ? 1 : 2, owners, locale: 'en-US' }, uploadLimitBytes);
    return { fields, guildId: '', user, userInstallOnly: byUser };
  }
  const guild = state.guilds.get(init.guild ?? channel.guildId);
  if (!guild) throw new Error(`fake discord: no guild ${init.guild ?? channel.guildId}`);
  const user = findUser(state, guild.id, init.user);
  const permissions = BigInt(init.permissions ?? state.memberPermissions(guild.id, user.id));
  const fields = guildFields(state, guild, channel, user, permissions, uploadLimitBytes);
  // Under a user install alone: that install's owners and app permissions (the server's install is not involved).
  if (install === 'user') Object.assign(fields, { authorizing_integration_owners: userInstalled ? inherited : { '1': user.id }, app_permissions: USER_INSTALL_APP_PERMISSIONS.toString() });
  return { fields, guildId: guild.id, user, userInstallOnly: install === 'user' };
}

/**
 * INTERACTION_CREATE type 5 (MODAL_SUBMIT) for the modal an interaction's callback opened, with the values checked as
 * Discord's client checks them before sending (required inputs filled, lengths within the input's bounds). A modal
 * opened from a button carries that button's message. Each call is a new interaction, as a person who submits the
 * same modal again (a double click, a retry) makes one.
 */
export function buildModalSubmit(state: DiscordState, init: ModalSubmitInit, uploadLimitBytes: number): { payload: Record<string, unknown>; record: FakeInteraction } {
  const opener = state.interactions.get(init.interactionId);
  const modal = opener?.modal;
  if (!opener || !modal) throw new Error(`fake discord: interaction ${init.interactionId} opened no modal`);
  for (const key of Object.keys(init.values)) {
    if (!modal.inputs.some((i) => i.customId === key)) throw new Error(`fake discord: the modal has no input ${key}`);
  }
  const components = modal.inputs.map((input) => {
    const value = init.values[input.customId] ?? input.value ?? '';
    if (input.required && value.length === 0) throw new Error(`fake discord: input ${input.customId} is required`);
    if (value.length > 0 && (value.length < input.minLength || value.length > input.maxLength)) {
      throw new Error(`fake discord: input ${input.customId} must be ${input.minLength}–${input.maxLength} characters`);
    }
    return { type: 1, components: [{ type: 4, custom_id: input.customId, value }] };
  });
  const guild = state.guilds.get(opener.guildId);
  const channel = state.channels.get(opener.channelId)!;
  const user = init.user === undefined || !guild ? opener.user : findUser(state, guild.id, init.user);
  const message = opener.messageId === undefined ? undefined : state.messages.get(opener.messageId);
  const interaction = record(state, {
    guildId: opener.guildId,
    channelId: channel.id,
    user,
    commandName: modal.customId,
    type: MODAL_SUBMIT,
    ...(message ? { messageId: message.id } : {}),
    ...(opener.userInstallOnly ? { userInstallOnly: true } : {}),
  });
  // Sent from where the opener was, as the opener's user (its own place fields: a server's or a DM's), else as the
  // member who submits.
  const place = opener.place && (init.user === undefined || !guild) ? opener.place : guild ? guildFields(state, guild, channel, user, state.memberPermissions(guild.id, user.id), uploadLimitBytes) : undefined;
  if (!place) throw new Error(`fake discord: interaction ${init.interactionId} was not used in a server or a DM`);
  const payload = {
    id: interaction.id,
    application_id: state.applicationId,
    type: MODAL_SUBMIT,
    token: interaction.token,
    ...place,
    ...(message ? { message: messageJson(state, message) } : {}),
    data: { custom_id: modal.customId, components },
  };
  return { payload, record: interaction };
}

/** A choice in a string select of a stored message (an ephemeral answer included), as a test describes it. */
export interface SelectInit {
  messageId: string;
  customId: string;
  /** The option values chosen. */
  values: string[];
  user?: string;
}

/**
 * INTERACTION_CREATE type 3 (MESSAGE_COMPONENT) for a string select: `data { custom_id, component_type: 3, values }` and
 * the message. Throws when the message has no such select, or the values are not its options or too few or too many,
 * as Discord's client never sends them.
 */
export function buildSelect(state: DiscordState, init: SelectInit, uploadLimitBytes: number): { payload: Record<string, unknown>; record: FakeInteraction } {
  const message = state.messages.get(init.messageId);
  if (!message || message.deleted) throw new Error(`fake discord: no message ${init.messageId} to choose in`);
  const select = selectsOf(message.components).find((s) => s.customId === init.customId && !s.disabled);
  if (!select) throw new Error(`fake discord: message ${init.messageId} has no select ${init.customId}`);
  if (init.values.length < select.min || init.values.length > select.max || init.values.some((v) => !select.values.includes(v))) {
    throw new Error(`fake discord: ${JSON.stringify(init.values)} is not a choice of select ${init.customId}`);
  }
  const channel = state.channels.get(message.channelId);
  const guild = channel ? state.guilds.get(channel.guildId) : undefined;
  if (!channel || !guild) throw new Error(`fake discord: message ${init.messageId} is not in a server channel`);
  const user = findUser(state, guild.id, init.user);
  const permissions = state.memberPermissions(guild.id, user.id);
  const interaction = record(state, { guildId: guild.id, channelId: channel.id, user, commandName: init.customId, type: MESSAGE_COMPONENT, messageId: message.id });
  const payload = {
    id: interaction.id,
    application_id: state.applicationId,
    type: MESSAGE_COMPONENT,
    token: interaction.token,
    ...guildFields(state, guild, channel, user, permissions, uploadLimitBytes),
    message: messageJson(state, message),
    data: { custom_id: init.customId, component_type: 3, values: init.values },
  };
  return { payload, record: interaction };
}
