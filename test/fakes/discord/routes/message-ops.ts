import { randomBytes } from 'node:crypto';
import type { APIAttachment, APIEmbed } from 'discord.js';
import { snowflake } from '../ids.js';
import { messageJson } from '../payloads.js';
import type { FakeMessage, UploadedFile } from '../types.js';
import type { MessageBody } from '../rules.js';
import type { RouteContext } from './context.js';

/** Discord's message flags the fake cares about. */
export const FLAG_EPHEMERAL = 1 << 6;
export const FLAG_LOADING = 1 << 7;
export const FLAG_HAS_THREAD = 1 << 5;

/**
 * Stores bytes under the fake's CDN and returns the attachment object Discord would, with a signed-looking URL
 * (`?ex=&is=&hm=`) like Discord's, so code that derives names from URLs must cope with a query string.
 */
export function storeAttachment(
  ctx: RouteContext,
  dir: string,
  file: { filename: string; contentType: string; bytes: Buffer; width?: number; height?: number; description?: string },
): APIAttachment {
  const id = snowflake();
  const key = `/cdn/${dir}/${id}/${file.filename}`;
  ctx.state.files.set(key, { bytes: file.bytes, contentType: file.contentType });
  const now = Math.floor(Date.now() / 1000);
  const query = `ex=${(now + 86_400).toString(16)}&is=${now.toString(16)}&hm=${randomBytes(32).toString('hex')}`;
  const url = `${ctx.baseUrl}/cdn/${dir}/${id}/${encodeURIComponent(file.filename)}?${query}`;
  return {
    id,
    filename: file.filename,
    size: file.bytes.length,
    url,
    proxy_url: url,
    content_type: file.contentType,
    ...(file.width === undefined ? {} : { width: file.width, height: file.height ?? null }),
    ...(file.description === undefined ? {} : { description: file.description }),
  };
}

/**
 * The attachments a create or edit leaves on a message. `body.attachments` lists kept attachments by id and new
 * uploads by their `files[n]` index; when absent, an edit keeps the old ones and appends the uploads.
 */
function resolveAttachments(ctx: RouteContext, channelId: string, body: MessageBody, files: UploadedFile[], existing: APIAttachment[]): APIAttachment[] {
  const store = (file: UploadedFile, description?: string) =>
    storeAttachment(ctx, `attachments/${channelId}`, { ...file, ...(description === undefined ? {} : { description }) });
  if (!Array.isArray(body.attachments)) return [...existing, ...files.map((f) => store(f))];
  const used = new Set<UploadedFile>();
  const result: APIAttachment[] = [];
  for (const entry of body.attachments as Array<{ id?: unknown; description?: unknown }>) {
    const id = String(entry.id);
    const kept = existing.find((a) => a.id === id);
    const upload = files.find((f) => f.field === `files[${id}]`);
    if (kept) result.push(kept);
    else if (upload) {
      used.add(upload);
      result.push(store(upload, typeof entry.description === 'string' ? entry.description : undefined));
    }
  }
  for (const file of files) if (!used.has(file)) result.push(store(file));
  return result;
}

/** Stores a new message from a create body (channel message, interaction reply or follow-up). */
export function createMessage(ctx: RouteContext, channelId: string, body: MessageBody, files: UploadedFile[], extra: Partial<FakeMessage> = {}): FakeMessage {
  return ctx.state.addMessage({
    channelId,
    content: typeof body.content === 'string' ? body.content : '',
    embeds: Array.isArray(body.embeds) ? (body.embeds as APIEmbed[]) : [],
    components: Array.isArray(body.components) ? (body.components as unknown[]) : [],
    attachments: resolveAttachments(ctx, channelId, body, files, []),
    ...(body.message_reference === undefined ? {} : { reference: body.message_reference }),
    ...extra,
    flags: (extra.flags ?? 0) | (typeof body.flags === 'number' ? body.flags & ~FLAG_LOADING : 0),
  });
}

/** Applies an edit body; a deferred ("thinking") message stops loading on its first edit. */
export function editMessage(ctx: RouteContext, message: FakeMessage, body: MessageBody, files: UploadedFile[]): void {
  const wasLoading = (message.flags & FLAG_LOADING) !== 0;
  if (body.content !== undefined) message.content = typeof body.content === 'string' ? body.content : '';
  if (body.embeds !== undefined) message.embeds = Array.isArray(body.embeds) ? (body.embeds as APIEmbed[]) : [];
  if (body.components !== undefined) message.components = Array.isArray(body.components) ? (body.components as unknown[]) : [];
  if (body.attachments !== undefined || files.length > 0) message.attachments = resolveAttachments(ctx, message.channelId, body, files, message.attachments);
  message.flags &= ~FLAG_LOADING;
  if (!wasLoading) message.editedTimestamp = new Date().toISOString();
}

/** The DirectMessages intent: message events of DMs need it instead of GuildMessages. */
const DIRECT_MESSAGES = 1 << 12;

/** MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE on the gateway (if intents allow; never for ephemeral ones). */
export function emitMessage(ctx: RouteContext, t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE' | 'MESSAGE_DELETE', message: FakeMessage): void {
  if ((message.flags & FLAG_EPHEMERAL) !== 0) return;
  const guild = message.guildId === null ? {} : { guild_id: message.guildId };
  const d = t === 'MESSAGE_DELETE' ? { id: message.id, channel_id: message.channelId, ...guild } : { ...messageJson(ctx.state, message), ...guild };
  const channel = ctx.state.channels.get(message.channelId);
  ctx.gateway.emit(t, d, channel && ctx.state.isDm(channel) ? DIRECT_MESSAGES : undefined);
}

/** The JSON answer for a stored message. */
export const messageReply = (ctx: RouteContext, message: FakeMessage) => ({ status: 200, json: messageJson(ctx.state, message) });
