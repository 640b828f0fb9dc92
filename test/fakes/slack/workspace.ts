import { randomBytes } from 'node:crypto';

/** A user as the test declares it; the fake turns it into Slack's user object for `users.info`. */
export interface FakeUserInit {
  id: string;
  name?: string;
  realName?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  isPrimaryOwner?: boolean;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

/** A channel as the test declares it. Ids starting with `D` are direct messages, `G` or `isPrivate` are private. */
export interface FakeChannelInit {
  id: string;
  name?: string;
  isPrivate?: boolean;
}

/** A message stored by the fake (posted by the bot, by a file upload, or seeded by the test). */
export interface FakeMessage {
  channel: string;
  ts: string;
  /** Set on replies; absent on top-level messages. */
  thread_ts?: string;
  text: string;
  blocks?: unknown;
  user: string;
  bot_id?: string;
  files?: FakeFile[];
  /** Set by chat.update. */
  edited?: { user: string; ts: string };
  /** Every chat.update (previous versions are not kept, only the count). */
  updates: number;
}

/** An ephemeral message from chat.postEphemeral (visible only to `user`, never stored in the channel). */
export interface FakeEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown;
}

/** A reaction added with reactions.add (or seeded by a test). */
export interface FakeReaction {
  channel: string;
  ts: string;
  name: string;
  user: string;
}

/** Slack's file object as files.info returns it, plus the stored bytes. */
export interface FakeFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  size: number;
  user: string;
  created: number;
  url_private: string;
  url_private_download: string;
  permalink: string;
  /** `{}` until shared; then `{ public | private: { [channel]: [{ ts, thread_ts?, ... }] } }`. */
  shares: Record<string, Record<string, ShareEntry[]>>;
  channels: string[];
  groups: string[];
  ims: string[];
}

export interface ShareEntry {
  ts: string;
  thread_ts?: string;
  channel_name: string;
  team_id: string;
  share_user_id: string;
  reply_users: string[];
  reply_users_count: number;
  reply_count: number;
}

/** A modal opened with views.open (and possibly updated with views.update). */
export interface FakeView {
  id: string;
  team_id: string;
  type: string;
  callback_id: string;
  private_metadata: string;
  external_id: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: Array<Record<string, unknown>>;
  state: { values: Record<string, Record<string, unknown>> };
  hash: string;
  root_view_id: string;
  previous_view_id: null;
  app_id: string;
  bot_id: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  /** Who the modal was opened for (from the trigger). Not part of Slack's object. */
  openedFor: string;
}

/** A trigger id handed to the app with a command or an interaction, exchangeable once within 3 s. */
export interface Trigger {
  id: string;
  user: string;
  issuedAt: number;
  exchanged: boolean;
}

/** Real Slack refuses trigger ids older than 3 s. */
export const TRIGGER_LIFETIME_MS = 3_000;

/** Monotonic Slack-style timestamps (`1712345678.000100`), unique across the fake. */
export class TsClock {
  private lastSec = 0;
  private seq = 0;

  next(): string {
    const sec = Math.floor(Date.now() / 1000);
    if (sec > this.lastSec) {
      this.lastSec = sec;
      this.seq = 0;
    }
    this.seq += 100;
    return `${this.lastSec}.${String(this.seq).padStart(6, '0')}`;
  }
}

export function randomId(prefix: string, length = 10): string {
  return prefix + randomBytes(length).toString('hex').toUpperCase().slice(0, length);
}

/** Everything the fake workspace holds. Plain data so tests can read it directly. */
export class Workspace {
  readonly users = new Map<string, FakeUserInit>();
  readonly channels = new Map<string, FakeChannelInit>();
  readonly messages: FakeMessage[] = [];
  /** Messages removed with chat.delete, in order. */
  readonly deleted: FakeMessage[] = [];
  readonly ephemerals: FakeEphemeral[] = [];
  readonly reactions: FakeReaction[] = [];
  readonly files = new Map<string, FakeFile>();
  /** Bytes of every file, by file id (uploads and `addFile`). */
  readonly bytes = new Map<string, Buffer>();
  readonly views = new Map<string, FakeView>();
  /** Each user's Home tab, as the app last published it (views.publish). */
  readonly homes = new Map<string, FakeView>();
  readonly triggers = new Map<string, Trigger>();
  /**
   * Conversations that refuse the bot, with the error Slack answers there (`is_archived`, `not_in_channel`,
   * `channel_not_found`, …) on chat.postMessage, chat.update, chat.postEphemeral, reactions.add and
   * files.completeUploadExternal.
   */
  readonly refusals = new Map<string, string>();
  /** People the bot cannot open a direct message with, and the error conversations.open answers. */
  readonly dmRefusals = new Map<string, string>();
  readonly clock = new TsClock();

  constructor(readonly teamId: string, readonly teamDomain: string) {}

  findMessage(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Registers a channel the fake has not heard of (inbound helpers do this: a user typed there, so it exists). */
  ensureChannel(id: string, name?: string): FakeChannelInit {
    let channel = this.channels.get(id);
    if (!channel) {
      channel = { id, name: name ?? id.toLowerCase() };
      this.channels.set(id, channel);
    }
    return channel;
  }

  /** The error a post into `channel` gets, if it refuses the bot. */
  refusal(channel: string | undefined): string | undefined {
    return channel === undefined ? undefined : this.refusals.get(channel);
  }

  /** The id of the direct message between the bot and `user` (one per user, as on Slack). */
  dmChannelOf(user: string): string {
    return `D${user.replace(/^[UW]/, '')}`;
  }

  isPrivate(channelId: string): boolean {
    const channel = this.channels.get(channelId);
    return channel?.isPrivate === true || channelId.startsWith('G') || channelId.startsWith('D');
  }

  issueTrigger(user: string): string {
    const id = `${Date.now()}.${Math.floor(Math.random() * 1e9)}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { id, user, issuedAt: Date.now(), exchanged: false });
    return id;
  }

  permalink(channel: string, ts: string, threadTs?: string): string {
    const base = `https://${this.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
    return threadTs && threadTs !== ts ? `${base}?thread_ts=${threadTs}&cid=${channel}` : base;
  }

  /** Slack's user object for `users.info`. */
  userObject(user: FakeUserInit): Record<string, unknown> {
    const name = user.name ?? user.id.toLowerCase();
    const realName = user.realName ?? name;
    return {
      id: user.id,
      team_id: this.teamId,
      name,
      real_name: realName,
      deleted: user.deleted ?? false,
      tz: user.tz ?? 'Europe/Paris',
      is_admin: user.isAdmin ?? false,
      is_owner: user.isOwner ?? false,
      is_primary_owner: user.isPrimaryOwner ?? false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: user.isBot ?? false,
      is_app_user: false,
      profile: { real_name: realName, display_name: name, team: this.teamId },
    };
  }

  /** Slack's conversation object for `conversations.info`. */
  channelObject(channel: FakeChannelInit): Record<string, unknown> {
    const isIm = channel.id.startsWith('D');
    return {
      id: channel.id,
      name: channel.name ?? channel.id.toLowerCase(),
      is_channel: !isIm && !this.isPrivate(channel.id),
      is_group: !isIm && this.isPrivate(channel.id),
      is_im: isIm,
      is_private: this.isPrivate(channel.id),
      is_archived: this.refusals.get(channel.id) === 'is_archived',
      is_member: true,
      created: 1_700_000_000,
      context_team_id: this.teamId,
    };
  }
}
