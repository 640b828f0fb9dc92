import { PermissionFlagsBits as P } from 'discord.js';
import type { DiscordCall } from '../http.js';
import { snowflake } from '../ids.js';
import { channelJson } from '../payloads.js';
import { checkMessage, errors, formError, type MessageBody, type Reply } from '../rules.js';
import type { FakeChannel, FakeMessage } from '../types.js';
import { noContent, ok, type RouteContext, type RouteDef } from './context.js';
import { createMessage, editMessage, emitMessage, FLAG_EPHEMERAL, FLAG_HAS_THREAD, messageReply } from './message-ops.js';
import { parseEmoji, reactionEvent } from './reactions.js';

/**
 * The channel of the path, checked for the bot's access and permission bits. As on Discord: a channel the bot cannot
 * see (no View Channel, or a private thread it was removed from) answers 403 code 50001 (Missing Access); one it sees
 * but lacks a permission in, 403 code 50013. A DM has no permission bits (posting in it checks the recipient).
 */
function channelFor(ctx: RouteContext, call: DiscordCall, needed: bigint = P.ViewChannel): FakeChannel | Reply {
  const channel = ctx.state.channels.get(call.params.channelId!);
  if (!channel) return errors.unknownChannel();
  if (ctx.state.isDm(channel)) return channel;
  const perms = ctx.state.botPermissions(channel.id);
  if (channel.botRemoved || (perms & P.ViewChannel) === 0n) return errors.missingAccess();
  if ((perms & needed) !== needed) return errors.missingPermissions();
  return channel;
}

const isReply = (x: object): x is Reply => 'status' in x;

/** A stored, visible message of the path's channel (ephemeral messages are not fetchable through channels). */
function messageIn(ctx: RouteContext, channel: FakeChannel, messageId: string): FakeMessage | Reply {
  const message = ctx.state.messages.get(messageId);
  if (!message || message.deleted || message.channelId !== channel.id || (message.flags & FLAG_EPHEMERAL) !== 0) return errors.unknownMessage();
  return message;
}

function createChannelMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const probe = ctx.state.channels.get(call.params.channelId!);
  const send = probe && ctx.state.isThread(probe) ? P.SendMessagesInThreads : P.SendMessages;
  const channel = channelFor(ctx, call, send | (call.files.length > 0 ? P.AttachFiles : 0n));
  if (isReply(channel)) return channel;
  // Opening a DM channel always works; posting in it needs a recipient who takes DMs and shares a server with the bot.
  if (ctx.state.isDm(channel) && !ctx.state.canDm(channel.recipientId ?? '')) return errors.cannotDm();
  const body = (call.body ?? {}) as MessageBody;
  const problem = checkMessage(body, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: true });
  if (problem) return problem;
  // Discord's enforce_nonce: the same nonce in the same channel (within minutes) returns the message already created.
  const nonceKey = body.enforce_nonce === true && (typeof body.nonce === 'string' || typeof body.nonce === 'number') ? `${channel.id}:${body.nonce}` : undefined;
  const earlier = nonceKey === undefined ? undefined : ctx.state.messages.get(ctx.state.nonces.get(nonceKey) ?? '');
  if (earlier && !earlier.deleted) return messageReply(ctx, earlier);
  const message = createMessage(ctx, channel.id, body, call.files);
  if (nonceKey !== undefined) ctx.state.nonces.set(nonceKey, message.id);
  emitMessage(ctx, 'MESSAGE_CREATE', message);
  return messageReply(ctx, message);
}

function getChannelMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const channel = channelFor(ctx, call, P.ReadMessageHistory);
  if (isReply(channel)) return channel;
  const message = messageIn(ctx, channel, call.params.messageId!);
  return isReply(message) ? message : messageReply(ctx, message);
}

function editChannelMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const channel = channelFor(ctx, call);
  if (isReply(channel)) return channel;
  const message = messageIn(ctx, channel, call.params.messageId!);
  if (isReply(message)) return message;
  if (message.author.id !== ctx.state.bot.id) return errors.cannotEditOthers();
  const body = (call.body ?? {}) as MessageBody;
  const problem = checkMessage(body, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: false });
  if (problem) return problem;
  editMessage(ctx, message, body, call.files);
  emitMessage(ctx, 'MESSAGE_UPDATE', message);
  return messageReply(ctx, message);
}

function deleteChannelMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const channel = channelFor(ctx, call);
  if (isReply(channel)) return channel;
  const message = messageIn(ctx, channel, call.params.messageId!);
  if (isReply(message)) return message;
  if (message.author.id !== ctx.state.bot.id && (ctx.state.botPermissions(channel.id) & P.ManageMessages) === 0n) return errors.missingPermissions();
  message.deleted = true;
  emitMessage(ctx, 'MESSAGE_DELETE', message);
  return noContent();
}

/** Validates a thread name and creates the thread; THREAD_CREATE goes out with `newly_created`. */
function openThread(ctx: RouteContext, parent: FakeChannel, body: { name?: unknown; auto_archive_duration?: unknown }, id: string, type: number): Reply {
  const name = typeof body.name === 'string' ? body.name : '';
  if (name.length < 1 || name.length > 100) return formError(['name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  const autoArchiveMinutes = typeof body.auto_archive_duration === 'number' ? body.auto_archive_duration : 1440;
  const thread = ctx.state.addThread(parent, { id, name, type, ownerId: ctx.state.bot.id, autoArchiveMinutes });
  const json = channelJson(ctx.state, thread);
  ctx.gateway.emit('THREAD_CREATE', { ...json, newly_created: true });
  return ok(json, 201);
}

/**
 * `POST /channels/{c}/messages/{m}/threads`: the thread takes the message's id, as on Discord. Only text and
 * announcement channels have threads: in a thread, or a voice or stage channel's text chat, 400 code 50024.
 */
function startThreadFromMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const channel = channelFor(ctx, call, P.CreatePublicThreads);
  if (isReply(channel)) return channel;
  if (channel.type !== 0 && channel.type !== 5) return errors.wrongChannelType();
  const message = messageIn(ctx, channel, call.params.messageId!);
  if (isReply(message)) return message;
  if (message.threadId !== undefined) return errors.threadExists();
  const reply = openThread(ctx, channel, (call.body ?? {}) as { name?: unknown }, message.id, channel.type === 5 ? 10 : 11);
  if (reply.status === 201) {
    message.threadId = message.id;
    message.flags |= FLAG_HAS_THREAD;
  }
  return reply;
}

/** `POST /channels/{c}/threads`: a thread without a starter message (private unless `type: 11`). */
function startThread(ctx: RouteContext, call: DiscordCall): Reply {
  const body = (call.body ?? {}) as { name?: unknown; type?: unknown };
  const type = typeof body.type === 'number' ? body.type : 12;
  const channel = channelFor(ctx, call, type === 12 ? P.CreatePrivateThreads : P.CreatePublicThreads);
  if (isReply(channel)) return channel;
  if (channel.type !== 0 && channel.type !== 5) return errors.wrongChannelType();
  return openThread(ctx, channel, body, snowflake(), type);
}

function ownReaction(add: boolean) {
  return (ctx: RouteContext, call: DiscordCall): Reply => {
    const channel = channelFor(ctx, call, add ? P.AddReactions | P.ReadMessageHistory : P.ReadMessageHistory);
    if (isReply(channel)) return channel;
    const message = messageIn(ctx, channel, call.params.messageId!);
    if (isReply(message)) return message;
    const d = reactionEvent(ctx.state, { add, channel, messageId: message.id, user: ctx.state.bot, emoji: parseEmoji(call.params.emoji!) });
    // Discord echoes the bot's own reaction on the gateway, so a reaction listener must ignore its own user.
    if (d) ctx.gateway.emit(add ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE', d);
    return noContent();
  };
}

function getChannel(ctx: RouteContext, call: DiscordCall): Reply {
  const channel = channelFor(ctx, call);
  return isReply(channel) ? channel : ok(channelJson(ctx.state, channel));
}

const MESSAGE = '/channels/:channelId/messages/:messageId';
const OWN_REACTION = '/channels/:channelId/messages/:messageId/reactions/:emoji/@me';

/** Channel, message, thread and reaction routes. */
export const channelRoutes: RouteDef[] = [
  { method: 'GET', pattern: '/channels/:channelId', name: 'getChannel', auth: true, handle: getChannel },
  { method: 'POST', pattern: '/channels/:channelId/messages', name: 'createMessage', auth: true, handle: createChannelMessage },
  { method: 'GET', pattern: MESSAGE, name: 'getMessage', auth: true, handle: getChannelMessage },
  { method: 'PATCH', pattern: MESSAGE, name: 'editMessage', auth: true, handle: editChannelMessage },
  { method: 'DELETE', pattern: MESSAGE, name: 'deleteMessage', auth: true, handle: deleteChannelMessage },
  { method: 'POST', pattern: `${MESSAGE}/threads`, name: 'startThreadFromMessage', auth: true, handle: startThreadFromMessage },
  { method: 'POST', pattern: '/channels/:channelId/threads', name: 'startThread', auth: true, handle: startThread },
  { method: 'PUT', pattern: OWN_REACTION, name: 'addOwnReaction', auth: true, handle: ownReaction(true) },
  { method: 'DELETE', pattern: OWN_REACTION, name: 'removeOwnReaction', auth: true, handle: ownReaction(false) },
];
