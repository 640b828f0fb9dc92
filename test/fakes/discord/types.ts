import type { APIAttachment, APIEmbed } from 'discord.js';
import type { FakeModal } from './components.js';

/** A user as a test describes it; missing fields get defaults. */
export interface FakeUserInit {
  id?: string;
  username?: string;
  globalName?: string | null;
  bot?: boolean;
}

export interface FakeUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
  /** False once the user closed their DMs to the bot (`fake.blockDms`): DM posts then answer 403 code 50007. */
  acceptsDms: boolean;
}

export interface FakeRoleInit {
  id?: string;
  name: string;
  /** Permission bits (bigint, or the decimal string Discord sends). */
  permissions?: bigint | string;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
}

export interface FakeChannelInit {
  id?: string;
  name: string;
  /** Channel type; 0 (guild text) by default, 5 announcement, 4 category. */
  type?: number;
  nsfw?: boolean;
  /** Parent category, by name or id. */
  parent?: string;
  /**
   * Permission bits denied to the bot in this channel, sent as a member overwrite in GUILD_CREATE so the
   * client's cache agrees with what the fake enforces (e.g. deny SendMessages → 403 code 50013).
   */
  botDeny?: bigint;
}

export interface FakeThreadInit {
  id?: string;
  name: string;
  /** Parent text channel, by name or id. */
  parent: string;
  /** 11 public (default) or 12 private. */
  type?: number;
}

export interface FakeMemberInit {
  user: FakeUserInit;
  /** Role ids or names. */
  roles?: string[];
  nick?: string | null;
}

export interface FakeGuildInit {
  id?: string;
  name?: string;
  channels?: FakeChannelInit[];
  threads?: FakeThreadInit[];
  roles?: FakeRoleInit[];
  members?: FakeMemberInit[];
  /**
   * Whether the bot is a member (default true). `false`: a server where only people installed the app to their own
   * accounts. The bot gets no GUILD_CREATE for it and its token reaches nothing there (403 code 50001); interactions
   * used there (user installs) still arrive, and their webhooks work.
   */
  botMember?: boolean;
}

/**
 * A channel or thread the fake knows. Threads (types 10–12) have `parentId` and `threadMeta`; DM channels (type 1)
 * have `recipientId` and an empty `guildId`.
 */
export interface FakeChannel {
  id: string;
  guildId: string;
  name: string;
  type: number;
  nsfw: boolean;
  parentId: string | null;
  botDeny: bigint;
  threadMeta?: { ownerId: string; archived: boolean; createdAt: string; autoArchiveMinutes: number };
  /** The other user of a DM channel. */
  recipientId?: string;
  /**
   * Set by `fake.removeBot`: the bot was removed from this (private) thread or can no longer see this channel, so
   * every bot-token call on it answers 403 code 50001 (Missing Access).
   */
  botRemoved?: boolean;
}

export interface FakeMember {
  user: FakeUser;
  roles: string[];
  nick: string | null;
  joinedAt: string;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  roles: FakeRole[];
  members: Map<string, FakeMember>;
}

/** A file the bot uploaded, as parsed from a multipart body. */
export interface UploadedFile {
  /** Form field, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
  width?: number;
  height?: number;
}

/** One reaction on a stored message. */
export interface FakeReaction {
  emoji: { id: string | null; name: string };
  userIds: Set<string>;
}

/** A message the fake stores (channel messages, interaction responses and follow-ups). */
export interface FakeMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  author: FakeUser;
  content: string;
  embeds: APIEmbed[];
  components: unknown[];
  attachments: APIAttachment[];
  flags: number;
  type: number;
  timestamp: string;
  editedTimestamp: string | null;
  reactions: FakeReaction[];
  /** Set on interaction responses and follow-ups. */
  interaction?: { id: string; name: string; user: FakeUser };
  webhookId?: string;
  threadId?: string;
  reference?: unknown;
  deleted: boolean;
}

/** What the fake remembers about one interaction it dispatched. */
export interface FakeInteraction {
  id: string;
  token: string;
  applicationId: string;
  guildId: string;
  channelId: string;
  user: FakeUser;
  commandName: string;
  createdAt: number;
  /** Callback type the bot answered with (5 deferred, 4 reply, ...), or null before the ack. */
  callbackType: number | null;
  ephemeral: boolean;
  originalMessageId: string | null;
  followupIds: string[];
  tokenExpired: boolean;
  /** Interaction type: 2 (application command, the default), 3 (a button click), 5 (a modal submission). */
  type?: number;
  /** The message a click (or a modal opened from a click) was on. */
  messageId?: string;
  /** The modal the callback opened (type 9), as checked. */
  modal?: FakeModal;
  /** Authorized by the user's install alone (no guild install here): at most 5 follow-ups. */
  userInstallOnly?: boolean;
  /** Where a command was used, as sent (guild or DM fields): interactions that follow it (a modal) are sent from there. */
  place?: Record<string, unknown>;
}

/** An application command as stored after `PUT /applications/.../commands`. */
export interface FakeCommand {
  id: string;
  application_id: string;
  guild_id?: string;
  version: string;
  type: number;
  name: string;
  description: string;
  options?: CommandOption[];
  default_member_permissions: string | null;
  nsfw: boolean;
  [key: string]: unknown;
}

export interface CommandOption {
  type: number;
  name: string;
  description?: string;
  required?: boolean;
  choices?: Array<{ name: string; value: string | number }>;
  options?: CommandOption[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  [key: string]: unknown;
}
