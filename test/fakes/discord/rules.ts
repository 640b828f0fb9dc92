import { checkMessageComponents } from './components.js';
import type { CommandOption, UploadedFile } from './types.js';

/** What a route answers: JSON (or nothing, for 204), or bytes for the CDN. */
export interface Reply {
  status: number;
  json?: unknown;
  bytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** An error answer in Discord's shape: `{ message, code, errors? }`. */
export interface ApiError extends Reply {
  json: { message: string; code: number; errors?: unknown };
}

export function apiError(status: number, code: number, message: string, errors?: unknown): ApiError {
  return { status, json: { message, code, ...(errors === undefined ? {} : { errors }) } };
}

/** 400 Invalid Form Body (50035) with the `errors` tree Discord nests by field path. */
export function formError(path: Array<string | number>, code: string, message: string): ApiError {
  let errors: unknown = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return apiError(400, 50035, 'Invalid Form Body', errors);
}

/** Common error answers. */
export const errors = {
  unknownChannel: () => apiError(404, 10003, 'Unknown Channel'),
  unknownGuild: () => apiError(404, 10004, 'Unknown Guild'),
  unknownMember: () => apiError(404, 10007, 'Unknown Member'),
  unknownMessage: () => apiError(404, 10008, 'Unknown Message'),
  unknownUser: () => apiError(404, 10013, 'Unknown User'),
  unknownWebhook: () => apiError(404, 10015, 'Unknown Webhook'),
  unknownInteraction: () => apiError(404, 10062, 'Unknown interaction'),
  unknownApplication: () => apiError(404, 10002, 'Unknown Application'),
  alreadyAcknowledged: () => apiError(400, 40060, 'Interaction has already been acknowledged.'),
  invalidWebhookToken: () => apiError(401, 50027, 'Invalid Webhook Token'),
  maxFollowups: () => apiError(400, 40094, 'This interaction has hit the maximum number of follow up messages'),
  missingAccess: () => apiError(403, 50001, 'Missing Access'),
  missingPermissions: () => apiError(403, 50013, 'Missing Permissions'),
  cannotDm: () => apiError(403, 50007, 'Cannot send messages to this user'),
  invalidRecipient: () => apiError(400, 50033, 'Invalid Recipient(s)'),
  cannotEditOthers: () => apiError(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: () => apiError(400, 50006, 'Cannot send an empty message'),
  tooLarge: () => apiError(413, 40005, 'Request entity too large'),
  threadExists: () => apiError(400, 160004, 'A thread has already been created for this message'),
  wrongChannelType: () => apiError(400, 50024, 'Cannot execute action on this channel type'),
  unauthorized: () => apiError(401, 0, '401: Unauthorized'),
};

export interface MessageBody {
  content?: unknown;
  embeds?: unknown;
  components?: unknown;
  attachments?: unknown;
  sticker_ids?: unknown;
  poll?: unknown;
  flags?: unknown;
  message_reference?: unknown;
  nonce?: unknown;
  enforce_nonce?: unknown;
}

/** Discord's most attachments on one message. */
export const MAX_ATTACHMENTS = 10;

/**
 * Loose checks of a message body, as Discord rejects them: content ≤ 2000 characters, ≤ 10 embeds with title
 * ≤ 256 and description ≤ 4096, ≤ 25 fields; components as components.ts checks them; each file ≤ the upload limit
 * (413), ≤ 10 attachments; a new message must not be empty.
 */
export function checkMessage(body: MessageBody, files: UploadedFile[], opts: { uploadLimitBytes: number; creating: boolean }): ApiError | null {
  if (files.some((f) => f.bytes.length > opts.uploadLimitBytes)) return errors.tooLarge();
  // At most 10 attachments a message: uploads, and entries of `attachments` (kept ones and new ones alike).
  const listed = Array.isArray(body.attachments) ? body.attachments.length : 0;
  if (files.length > MAX_ATTACHMENTS || listed > MAX_ATTACHMENTS) return formError(['attachments'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_ATTACHMENTS} or fewer in length.`);
  const components = checkMessageComponents(body.components);
  if (components) return components;
  if (body.content !== undefined && body.content !== null) {
    if (typeof body.content !== 'string') return formError(['content'], 'BASE_TYPE_STRING', 'Must be a string.');
    if ([...body.content].length > 2000) return formError(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  const embeds = Array.isArray(body.embeds) ? (body.embeds as Array<Record<string, unknown>>) : [];
  if (embeds.length > 10) return formError(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  for (const [i, embed] of embeds.entries()) {
    if (typeof embed.title === 'string' && embed.title.length > 256) return formError(['embeds', i, 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.');
    if (typeof embed.description === 'string' && embed.description.length > 4096) {
      return formError(['embeds', i, 'description'], 'BASE_TYPE_MAX_LENGTH', 'Must be 4096 or fewer in length.');
    }
    if (Array.isArray(embed.fields) && embed.fields.length > 25) return formError(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  }
  if (opts.creating) {
    const hasContent = typeof body.content === 'string' && body.content.length > 0;
    const has = (v: unknown) => Array.isArray(v) && v.length > 0;
    if (!hasContent && embeds.length === 0 && files.length === 0 && !has(body.components) && !has(body.sticker_ids) && body.poll === undefined) {
      return errors.emptyMessage();
    }
  }
  return null;
}

const NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/**
 * The command rules Discord enforces on registration: names 1–32 lowercase word characters, chat-input
 * descriptions 1–100, ≤ 25 options, required options before optional ones, ≤ 25 choices, unique names.
 */
export function checkCommands(commands: unknown[]): ApiError | null {
  const seen = new Set<string>();
  for (const [i, raw] of commands.entries()) {
    const cmd = raw as { name?: unknown; description?: unknown; type?: unknown; options?: unknown; contexts?: unknown; integration_types?: unknown };
    const type = typeof cmd.type === 'number' ? cmd.type : 1;
    const problem = (type === 1 ? checkNamed(cmd, true) : checkMenuCommand(cmd)) ?? checkOptions(cmd.options) ?? checkInstall(cmd);
    if (problem) return formError([i, ...problem.path], problem.code, problem.message);
    const key = `${type}:${String(cmd.name)}`;
    if (seen.has(key)) return formError([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', 'Application command names must be unique');
    seen.add(key);
  }
  return null;
}

/**
 * A context-menu command (type 2 user, 3 message): a name of 1–32 characters that may have capitals and spaces, an empty
 * description and no options.
 */
function checkMenuCommand(cmd: { name?: unknown; description?: unknown; options?: unknown }): Problem | null {
  const name = typeof cmd.name === 'string' ? cmd.name : '';
  if (!/^[-_ \p{L}\p{N}]{1,32}$/u.test(name) || name.trim() !== name) return { path: ['name'], code: 'APPLICATION_COMMAND_INVALID_NAME', message: `Command name is invalid: ${name}` };
  if (cmd.description !== undefined && cmd.description !== '') return { path: ['description'], code: 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION', message: 'Context menu commands cannot have description' };
  if (Array.isArray(cmd.options) && cmd.options.length > 0) return { path: ['options'], code: 'APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS', message: 'Context menu commands cannot have options' };
  return null;
}

/** `integration_types` ⊆ {0 guild, 1 user}, `contexts` ⊆ {0 guild, 1 bot DM, 2 private channel}, neither empty. */
function checkInstall(cmd: { contexts?: unknown; integration_types?: unknown }): Problem | null {
  for (const [field, allowed] of [['integration_types', [0, 1]], ['contexts', [0, 1, 2]]] as const) {
    const value = cmd[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value) || value.length === 0 || value.some((v) => !(allowed as readonly unknown[]).includes(v))) {
      return { path: [field], code: 'BASE_TYPE_CHOICES', message: `Value must be one of {${allowed.join(', ')}}.` };
    }
  }
  return null;
}

interface Problem {
  path: Array<string | number>;
  code: string;
  message: string;
}

function checkNamed(item: { name?: unknown; description?: unknown }, chatInput: boolean): Problem | null {
  const name = typeof item.name === 'string' ? item.name : '';
  if (!NAME.test(name) || (chatInput && name !== name.toLowerCase())) {
    return { path: ['name'], code: 'APPLICATION_COMMAND_INVALID_NAME', message: `Command name is invalid: ${name}` };
  }
  if (chatInput) {
    const description = typeof item.description === 'string' ? item.description : '';
    if (description.length < 1 || description.length > 100) {
      return { path: ['description'], code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' };
    }
  }
  return null;
}

function checkOptions(raw: unknown): Problem | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) return { path: ['options'], code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' };
  const options = raw as CommandOption[];
  if (options.length > 25) return { path: ['options'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' };
  let optionalSeen = false;
  const names = new Set<string>();
  for (const [j, option] of options.entries()) {
    const at = (p: Problem): Problem => ({ ...p, path: ['options', j, ...p.path] });
    const named = checkNamed(option, true);
    if (named) return at(named);
    if (names.has(option.name)) return at({ path: ['name'], code: 'APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME', message: 'Option names must be unique' });
    names.add(option.name);
    if (option.type === 1 || option.type === 2) {
      const nested = checkOptions(option.options);
      if (nested) return at(nested);
      continue;
    }
    if (option.required) {
      if (optionalSeen) {
        return at({ path: ['required'], code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' });
      }
    } else {
      optionalSeen = true;
    }
    if (Array.isArray(option.choices) && option.choices.length > 25) {
      return at({ path: ['choices'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
    }
  }
  return null;
}
