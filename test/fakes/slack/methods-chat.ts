import { checkBlocks } from './block-rules.js';
import { fail, str, type ApiContext, type ApiResult, type MethodSpec } from './web-api.js';
import type { FakeMessage } from './workspace.js';

/** auth, chat, reactions, users, conversations and apps.connections.open. */
export function chatMethods(openSocketUrl: () => string): Record<string, MethodSpec> {
  return {
    'auth.test': { token: 'bot', handle: authTest },
    'chat.postMessage': { token: 'bot', handle: postMessage },
    'chat.update': { token: 'bot', handle: update },
    'chat.delete': { token: 'bot', handle: remove },
    'chat.postEphemeral': { token: 'bot', handle: postEphemeral },
    'chat.getPermalink': { token: 'bot', handle: getPermalink },
    'reactions.add': { token: 'bot', handle: addReaction },
    'users.info': { token: 'bot', handle: usersInfo },
    'conversations.info': { token: 'bot', handle: conversationsInfo },
    'conversations.open': { token: 'bot', handle: conversationsOpen },
    'apps.connections.open': { token: 'app', handle: () => ({ ok: true, url: openSocketUrl() }) },
  };
}

function authTest({ ws, config }: ApiContext): ApiResult {
  return {
    ok: true,
    url: `https://${ws.teamDomain}.slack.com/`,
    team: 'Fluxbot Test',
    user: 'fluxbot',
    team_id: ws.teamId,
    user_id: config.botUserId,
    bot_id: config.botId,
    is_enterprise_install: false,
  };
}

/** The message object Slack echoes back from chat.postMessage / chat.update. */
export function messageObject(ctx: ApiContext, message: FakeMessage): Record<string, unknown> {
  return {
    type: 'message',
    user: message.user,
    bot_id: message.bot_id,
    app_id: ctx.config.appId,
    team: ctx.ws.teamId,
    text: message.text,
    ts: message.ts,
    ...(message.thread_ts === undefined ? {} : { thread_ts: message.thread_ts }),
    ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
    ...(message.files === undefined ? {} : { files: message.files, upload: true }),
    ...(message.edited === undefined ? {} : { edited: message.edited }),
  };
}

function badContent(body: { error: string; problem?: string }): ApiResult {
  return fail(body.error, body.problem ? { response_metadata: { messages: [`[ERROR] ${body.problem}`] } } : {});
}

/** Shared validation of text/blocks for the posting methods. */
function content(args: Record<string, unknown>): { text: string; blocks?: unknown } | { error: string; problem?: string } {
  const text = str(args, 'text');
  const { blocks } = args;
  if (blocks !== undefined) {
    const problem = checkBlocks(blocks, 'message');
    if (problem) return { error: 'invalid_blocks', problem };
  }
  if (text === undefined && blocks === undefined && args.attachments === undefined) return { error: 'no_text' };
  return blocks === undefined ? { text: text ?? '' } : { text: text ?? '', blocks };
}

function postMessage(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  if (!channel) return fail('channel_not_found');
  const refused = ctx.ws.refusal(channel);
  if (refused) return fail(refused);
  const body = content(ctx.args);
  if ('error' in body) return badContent(body);
  const threadTs = str(ctx.args, 'thread_ts');
  const message: FakeMessage = {
    channel,
    ts: ctx.ws.clock.next(),
    ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
    ...body,
    user: ctx.config.botUserId,
    bot_id: ctx.config.botId,
    updates: 0,
  };
  ctx.ws.ensureChannel(channel);
  ctx.ws.messages.push(message);
  return { ok: true, channel, ts: message.ts, message: messageObject(ctx, message) };
}

function update(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  const ts = str(ctx.args, 'ts');
  const refused = ctx.ws.refusal(channel);
  if (refused) return fail(refused);
  const message = channel && ts ? ctx.ws.findMessage(channel, ts) : undefined;
  if (!message) return fail('message_not_found');
  if (message.user !== ctx.config.botUserId) return fail('cant_update_message');
  const body = content(ctx.args);
  if ('error' in body) return badContent(body);
  message.text = body.text;
  if (body.blocks !== undefined) message.blocks = body.blocks;
  message.edited = { user: ctx.config.botUserId, ts: ctx.ws.clock.next() };
  message.updates += 1;
  return { ok: true, channel: message.channel, ts: message.ts, text: message.text, message: messageObject(ctx, message) };
}

/** chat.delete: the bot may delete only its own messages (`cant_delete_message` otherwise). */
function remove(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  const ts = str(ctx.args, 'ts');
  const message = channel && ts ? ctx.ws.findMessage(channel, ts) : undefined;
  if (!message) return fail('message_not_found');
  if (message.user !== ctx.config.botUserId) return fail('cant_delete_message');
  ctx.ws.messages.splice(ctx.ws.messages.indexOf(message), 1);
  ctx.ws.deleted.push(message);
  return { ok: true, channel: message.channel, ts: message.ts };
}

function postEphemeral(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  const user = str(ctx.args, 'user');
  if (!channel) return fail('channel_not_found');
  const refused = ctx.ws.refusal(channel);
  if (refused) return fail(refused);
  if (!user || !ctx.ws.users.has(user)) return fail('user_not_in_channel');
  const body = content(ctx.args);
  if ('error' in body) return badContent(body);
  const messageTs = ctx.ws.clock.next();
  const threadTs = str(ctx.args, 'thread_ts');
  ctx.ws.ephemerals.push({ channel, user, message_ts: messageTs, ...(threadTs === undefined ? {} : { thread_ts: threadTs }), ...body });
  return { ok: true, message_ts: messageTs };
}

function getPermalink(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  const ts = str(ctx.args, 'message_ts');
  const message = channel && ts ? ctx.ws.findMessage(channel, ts) : undefined;
  if (!message) return fail('message_not_found');
  return { ok: true, channel: message.channel, permalink: ctx.ws.permalink(message.channel, message.ts, message.thread_ts) };
}

function addReaction(ctx: ApiContext): ApiResult {
  const channel = str(ctx.args, 'channel');
  const ts = str(ctx.args, 'timestamp');
  const name = str(ctx.args, 'name');
  if (!name || name.includes(':') || name.includes(' ')) return fail('invalid_name');
  const refused = ctx.ws.refusal(channel);
  if (refused) return fail(refused);
  const message = channel && ts ? ctx.ws.findMessage(channel, ts) : undefined;
  if (!message) return fail('message_not_found');
  const user = ctx.config.botUserId;
  const exists = ctx.ws.reactions.some((r) => r.channel === message.channel && r.ts === message.ts && r.name === name && r.user === user);
  if (exists) return fail('already_reacted');
  ctx.ws.reactions.push({ channel: message.channel, ts: message.ts, name, user });
  return { ok: true };
}

function usersInfo(ctx: ApiContext): ApiResult {
  const id = str(ctx.args, 'user');
  const user = id ? ctx.ws.users.get(id) : undefined;
  if (!user) return fail('user_not_found');
  return { ok: true, user: ctx.ws.userObject(user) };
}

function conversationsInfo(ctx: ApiContext): ApiResult {
  const id = str(ctx.args, 'channel');
  const channel = id ? ctx.ws.channels.get(id) : undefined;
  if (!channel) return fail('channel_not_found');
  return { ok: true, channel: ctx.ws.channelObject(channel) };
}

/**
 * conversations.open with one user: the bot's direct message with them (the same id every time). `dmRefusals` makes it
 * answer an error, as Slack does for a deactivated user (`user_disabled`) or one the bot may not message.
 */
function conversationsOpen(ctx: ApiContext): ApiResult {
  const users = str(ctx.args, 'users')?.split(',').filter(Boolean) ?? [];
  if (users.length === 0) return fail(str(ctx.args, 'channel') ? 'method_not_supported_for_channel_type' : 'users_list_not_supplied');
  if (users.length > 1) return fail('not_implemented_in_fake: group DMs');
  const user = users[0]!;
  if (!ctx.ws.users.has(user)) return fail('user_not_found');
  const refused = ctx.ws.dmRefusals.get(user);
  if (refused) return fail(refused);
  const id = ctx.ws.dmChannelOf(user);
  const existed = ctx.ws.channels.has(id);
  ctx.ws.ensureChannel(id, user.toLowerCase());
  return { ok: true, ...(existed ? { already_open: true } : {}), channel: { id } };
}
