import type { DiscordCall } from '../http.js';
import { messageJson } from '../payloads.js';
import { checkModal } from '../components.js';
import { checkMessage, errors, formError, type MessageBody, type Reply } from '../rules.js';
import type { FakeInteraction, FakeMessage } from '../types.js';
import { noContent, ok, type RouteContext, type RouteDef } from './context.js';
import { createMessage, editMessage, emitMessage, FLAG_EPHEMERAL, FLAG_LOADING, messageReply } from './message-ops.js';

/** Callback types that create the original response message. */
const REPLY = 4;
const DEFERRED_REPLY = 5;
/** Callback types that answer a click (or a modal opened from one) on the message the click was on. */
const DEFERRED_UPDATE = 6;
const UPDATE = 7;
const MODAL = 9;
const KNOWN_CALLBACK_TYPES = new Set([1, REPLY, DEFERRED_REPLY, DEFERRED_UPDATE, UPDATE, 8, MODAL, 10, 12]);

/** Follow-ups Discord takes per interaction of a user-installed app that the server (or DM) has not installed. */
export const MAX_USER_INSTALL_FOLLOWUPS = 5;

const invalidForInteraction = () => formError(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Interaction response type is not valid for this interaction type.');

/**
 * `POST /interactions/{id}/{token}/callback`: once per interaction, within the ack deadline. A deferred update (6) or an
 * update (7) is for a click, or a modal opened from one: it answers on the click's message, which becomes the
 * interaction's original message. A modal (9) is checked as Discord checks it (components.ts); a modal submission
 * cannot answer with another modal.
 */
function callback(ctx: RouteContext, call: DiscordCall): Reply {
  const interaction = ctx.state.interactions.get(call.params.interactionId!);
  if (!interaction || interaction.token !== call.params.token) return errors.unknownInteraction();
  if (interaction.callbackType !== null) return errors.alreadyAcknowledged();
  if (Date.now() - interaction.createdAt >= ctx.settings.ackDeadlineMs) return errors.unknownInteraction();
  const body = (call.body ?? {}) as { type?: unknown; data?: MessageBody };
  if (typeof body.type !== 'number' || !KNOWN_CALLBACK_TYPES.has(body.type)) return formError(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of known callback types.');
  const data = body.data ?? {};
  const flags = typeof data.flags === 'number' ? data.flags : 0;
  const kind = interaction.type ?? 2;
  let message: FakeMessage | null = null;
  if (body.type === REPLY) {
    const problem = checkMessage(data, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: true });
    if (problem) return problem;
    message = createMessage(ctx, interaction.channelId, data, call.files, responseFields(ctx, interaction, flags & FLAG_EPHEMERAL));
  } else if (body.type === DEFERRED_REPLY) {
    message = createMessage(ctx, interaction.channelId, {}, [], responseFields(ctx, interaction, (flags & FLAG_EPHEMERAL) | FLAG_LOADING));
  } else if (body.type === DEFERRED_UPDATE || body.type === UPDATE) {
    const clicked = interaction.messageId === undefined ? undefined : ctx.state.messages.get(interaction.messageId);
    if (kind === 2 || !clicked) return invalidForInteraction();
    if (body.type === UPDATE) {
      const problem = checkMessage(data, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: false });
      if (problem) return problem;
      editMessage(ctx, clicked, data, call.files);
      emitMessage(ctx, 'MESSAGE_UPDATE', clicked);
    }
    interaction.originalMessageId = clicked.id;
  } else if (body.type === MODAL) {
    if (kind === 5) return invalidForInteraction();
    const modal = checkModal(body.data);
    if ('status' in modal) return modal;
    interaction.modal = modal;
  }
  interaction.callbackType = body.type;
  interaction.ephemeral = (flags & FLAG_EPHEMERAL) !== 0;
  if (message) {
    interaction.originalMessageId = message.id;
    emitMessage(ctx, 'MESSAGE_CREATE', message);
  }
  if (call.query.get('with_response') !== 'true') return noContent();
  return ok({
    interaction: {
      id: interaction.id,
      type: kind,
      response_message_id: message?.id ?? null,
      response_message_loading: body.type === DEFERRED_REPLY,
      response_message_ephemeral: interaction.ephemeral,
    },
    resource: { type: body.type, ...(message ? { message: messageJson(ctx.state, message) } : {}) },
  });
}

/** Fields shared by every message an interaction's webhook creates. */
function responseFields(ctx: RouteContext, interaction: FakeInteraction, flags: number): Partial<FakeMessage> {
  return {
    flags,
    type: 20, // CHAT_INPUT_COMMAND
    webhookId: interaction.applicationId,
    interaction: { id: interaction.id, name: interaction.commandName, user: interaction.user },
    author: ctx.state.bot,
  };
}

/** The interaction a webhook route addresses, or the error Discord gives (unknown webhook, expired token). */
function webhookInteraction(ctx: RouteContext, call: DiscordCall): FakeInteraction | Reply {
  const interaction = ctx.state.interactionByToken(call.params.token!);
  if (!interaction || call.params.appId !== interaction.applicationId) return errors.unknownWebhook();
  if (interaction.tokenExpired || Date.now() - interaction.createdAt >= ctx.settings.interactionTokenTtlMs) return errors.invalidWebhookToken();
  return interaction;
}

const isReply = (x: FakeInteraction | Reply): x is Reply => 'status' in x;

/** The message a webhook message route addresses: `@original` or one of the interaction's follow-ups. */
function webhookMessage(ctx: RouteContext, call: DiscordCall): { interaction: FakeInteraction; message: FakeMessage } | Reply {
  const interaction = webhookInteraction(ctx, call);
  if (isReply(interaction)) return interaction;
  const wanted = call.params.messageId ?? '@original';
  const owned = wanted === interaction.originalMessageId || interaction.followupIds.includes(wanted);
  const id = wanted === '@original' ? interaction.originalMessageId : owned ? wanted : null;
  const message = id === null ? undefined : ctx.state.messages.get(id);
  if (!message || message.deleted) return errors.unknownMessage();
  return { interaction, message };
}

function getWebhookMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const found = webhookMessage(ctx, call);
  return 'status' in found ? found : messageReply(ctx, found.message);
}

function editWebhookMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const found = webhookMessage(ctx, call);
  if ('status' in found) return found;
  const body = (call.body ?? {}) as MessageBody;
  const problem = checkMessage(body, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: false });
  if (problem) return problem;
  editMessage(ctx, found.message, body, call.files);
  emitMessage(ctx, 'MESSAGE_UPDATE', found.message);
  return messageReply(ctx, found.message);
}

function deleteWebhookMessage(ctx: RouteContext, call: DiscordCall): Reply {
  const found = webhookMessage(ctx, call);
  if ('status' in found) return found;
  found.message.deleted = true;
  emitMessage(ctx, 'MESSAGE_DELETE', found.message);
  return noContent();
}

/** `POST /webhooks/{app}/{token}`: a follow-up, only after the interaction was acknowledged. */
function createFollowup(ctx: RouteContext, call: DiscordCall): Reply {
  const interaction = webhookInteraction(ctx, call);
  if (isReply(interaction)) return interaction;
  if (interaction.callbackType === null) return errors.unknownWebhook();
  // A user-installed app outside a server that installed it gets 5 follow-ups per interaction.
  if (interaction.userInstallOnly && interaction.followupIds.length >= MAX_USER_INSTALL_FOLLOWUPS) return errors.maxFollowups();
  const body = (call.body ?? {}) as MessageBody;
  const problem = checkMessage(body, call.files, { uploadLimitBytes: ctx.settings.uploadLimitBytes, creating: true });
  if (problem) return problem;
  const flags = typeof body.flags === 'number' ? body.flags & FLAG_EPHEMERAL : 0;
  const message = createMessage(ctx, interaction.channelId, body, call.files, responseFields(ctx, interaction, flags));
  interaction.followupIds.push(message.id);
  emitMessage(ctx, 'MESSAGE_CREATE', message);
  return call.query.get('wait') === 'true' ? messageReply(ctx, message) : noContent();
}

const ORIGINAL = '/webhooks/:appId/:token/messages/@original';
const FOLLOWUP = '/webhooks/:appId/:token/messages/:messageId';

/** Interaction callback and interaction webhook routes (no bot auth: the token in the path is the credential). */
export const interactionRoutes: RouteDef[] = [
  { method: 'POST', pattern: '/interactions/:interactionId/:token/callback', name: 'interactionCallback', auth: false, handle: callback },
  { method: 'GET', pattern: ORIGINAL, name: 'getOriginal', auth: false, handle: getWebhookMessage },
  { method: 'PATCH', pattern: ORIGINAL, name: 'editOriginal', auth: false, handle: editWebhookMessage },
  { method: 'DELETE', pattern: ORIGINAL, name: 'deleteOriginal', auth: false, handle: deleteWebhookMessage },
  { method: 'POST', pattern: '/webhooks/:appId/:token', name: 'createFollowup', auth: false, handle: createFollowup },
  { method: 'GET', pattern: FOLLOWUP, name: 'getFollowup', auth: false, handle: getWebhookMessage },
  { method: 'PATCH', pattern: FOLLOWUP, name: 'editFollowup', auth: false, handle: editWebhookMessage },
  { method: 'DELETE', pattern: FOLLOWUP, name: 'deleteFollowup', auth: false, handle: deleteWebhookMessage },
];
