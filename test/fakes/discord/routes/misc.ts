import type { DiscordCall } from '../http.js';
import { GATEWAY_PATH } from '../gateway.js';
import { snowflake } from '../ids.js';
import { channelJson, guildJson, memberJson, userJson } from '../payloads.js';
import { checkCommands, errors, formError, type Reply } from '../rules.js';
import type { CommandOption, FakeCommand } from '../types.js';
import { ok, type RouteContext, type RouteDef } from './context.js';

function gatewayBot(ctx: RouteContext): Reply {
  return ok({
    url: `${ctx.baseUrl.replace(/^http/, 'ws')}${GATEWAY_PATH}`,
    shards: ctx.gateway.shardCount,
    // max_concurrency = shards: discord.js identifies every shard at once instead of one per 5 s.
    session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: ctx.gateway.shardCount },
  });
}

/** The command scope of the path (`global` or a guild id), or the error for a wrong app or guild. */
function scopeOf(ctx: RouteContext, call: DiscordCall): string | Reply {
  if (call.params.appId !== ctx.state.applicationId) return errors.unknownApplication();
  const guildId = call.params.guildId;
  if (guildId === undefined) return 'global';
  return ctx.state.guilds.has(guildId) ? guildId : errors.unknownGuild();
}

/** Stores a command, keeping the id of an existing one with the same name and type (as Discord does). */
function upsert(ctx: RouteContext, scope: string, current: FakeCommand[], raw: Record<string, unknown>): FakeCommand {
  const type = typeof raw.type === 'number' ? raw.type : 1;
  const existing = current.find((c) => c.name === raw.name && c.type === type);
  return {
    default_member_permissions: null,
    nsfw: false,
    contexts: null,
    integration_types: [0],
    name_localizations: null,
    description_localizations: null,
    ...raw,
    id: existing?.id ?? snowflake(),
    application_id: ctx.state.applicationId,
    ...(scope === 'global' ? {} : { guild_id: scope }),
    version: snowflake(),
    type,
    name: String(raw.name),
    description: typeof raw.description === 'string' ? raw.description : '',
    ...(Array.isArray(raw.options) ? { options: raw.options as CommandOption[] } : {}),
  } as FakeCommand;
}

function getCommands(ctx: RouteContext, call: DiscordCall): Reply {
  const scope = scopeOf(ctx, call);
  return typeof scope === 'string' ? ok(ctx.state.commands.get(scope) ?? []) : scope;
}

/** `PUT .../commands`: replaces the scope's commands (bulk overwrite). */
function putCommands(ctx: RouteContext, call: DiscordCall): Reply {
  const scope = scopeOf(ctx, call);
  if (typeof scope !== 'string') return scope;
  if (!Array.isArray(call.body)) return formError([], 'BASE_TYPE_ARRAY', 'Must be an array.');
  const problem = checkCommands(call.body);
  if (problem) return problem;
  const current = ctx.state.commands.get(scope) ?? [];
  const next = (call.body as Array<Record<string, unknown>>).map((raw) => upsert(ctx, scope, current, raw));
  ctx.state.commands.set(scope, next);
  return ok(next);
}

/** `POST .../commands`: creates or replaces one command. */
function createCommand(ctx: RouteContext, call: DiscordCall): Reply {
  const scope = scopeOf(ctx, call);
  if (typeof scope !== 'string') return scope;
  const problem = checkCommands([call.body]);
  if (problem) return problem;
  const current = ctx.state.commands.get(scope) ?? [];
  const command = upsert(ctx, scope, current, call.body as Record<string, unknown>);
  ctx.state.commands.set(scope, [...current.filter((c) => c.id !== command.id), command]);
  return ok(command, 201);
}

function getGuild(ctx: RouteContext, call: DiscordCall): Reply {
  const guild = ctx.state.guilds.get(call.params.guildId!);
  if (guild && !ctx.state.botIn(guild.id)) return errors.missingAccess();
  return guild ? ok(guildJson(guild)) : errors.unknownGuild();
}

function getMember(ctx: RouteContext, call: DiscordCall): Reply {
  const guild = ctx.state.guilds.get(call.params.guildId!);
  if (!guild) return errors.unknownGuild();
  if (!ctx.state.botIn(guild.id)) return errors.missingAccess();
  const member = guild.members.get(call.params.userId!);
  return member ? ok(memberJson(member)) : errors.unknownMember();
}

function getUser(ctx: RouteContext, call: DiscordCall): Reply {
  const id = call.params.userId ?? ctx.state.bot.id;
  const user = ctx.state.users.get(id);
  return user ? ok(userJson(user)) : errors.unknownUser();
}

/**
 * `POST /users/@me/channels {recipient_id}`: the bot's DM channel with a user, the same one every time. Opening it
 * works even when the user takes no DMs (the post in it is refused, 50007); an unknown user or a bot is refused here.
 */
function createDm(ctx: RouteContext, call: DiscordCall): Reply {
  const body = (call.body ?? {}) as { recipient_id?: unknown };
  if (typeof body.recipient_id !== 'string') return formError(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
  const user = ctx.state.users.get(body.recipient_id);
  if (!user || user.bot) return errors.invalidRecipient();
  return ok(channelJson(ctx.state, ctx.state.openDm(user)));
}

/** Serves bytes stored by uploads and `addAttachment`; the signed query string is ignored. */
function cdn(ctx: RouteContext, call: DiscordCall): Reply {
  const file = ctx.state.files.get(call.path);
  if (!file) return { status: 404, json: { message: '404: Not Found', code: 0 } };
  return { status: 200, bytes: file.bytes, contentType: file.contentType };
}

const GLOBAL = '/applications/:appId/commands';
const GUILD = '/applications/:appId/guilds/:guildId/commands';

/** Gateway discovery, application commands, guilds, members, users, DM channels and the CDN. */
export const miscRoutes: RouteDef[] = [
  { method: 'GET', pattern: '/gateway/bot', name: 'getGatewayBot', auth: true, handle: gatewayBot },
  { method: 'GET', pattern: GLOBAL, name: 'getGlobalCommands', auth: true, handle: getCommands },
  { method: 'PUT', pattern: GLOBAL, name: 'putGlobalCommands', auth: true, handle: putCommands },
  { method: 'POST', pattern: GLOBAL, name: 'createGlobalCommand', auth: true, handle: createCommand },
  { method: 'GET', pattern: GUILD, name: 'getGuildCommands', auth: true, handle: getCommands },
  { method: 'PUT', pattern: GUILD, name: 'putGuildCommands', auth: true, handle: putCommands },
  { method: 'POST', pattern: GUILD, name: 'createGuildCommand', auth: true, handle: createCommand },
  { method: 'GET', pattern: '/guilds/:guildId', name: 'getGuild', auth: true, handle: getGuild },
  { method: 'GET', pattern: '/guilds/:guildId/members/:userId', name: 'getMember', auth: true, handle: getMember },
  { method: 'GET', pattern: '/users/@me', name: 'getCurrentUser', auth: true, handle: getUser },
  { method: 'POST', pattern: '/users/@me/channels', name: 'createDm', auth: true, handle: createDm },
  { method: 'GET', pattern: '/users/:userId', name: 'getUser', auth: true, handle: getUser },
  { method: 'GET', pattern: '/cdn/:kind/:owner/:attachmentId/:filename', name: 'cdn', auth: false, cdn: true, handle: cdn },
];
