import { messageLink, PermissionFlagsBits as P, Routes, type APIMessage, type Channel, type ChatInputCommandInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { submitText } from '../../commands/replies.js';
import { InvalidInput } from '../../core/errors.js';
import type { DeliveryTarget } from '../../core/ports.js';
import type { SubmitResult } from '../../core/queue/generation-service.js';
import { storeAttachments } from './attachment-images.js';
import { renderStatus } from './discord-delivery.js';
import { isDiscordError, MISSING_ACCESS, MISSING_PERMISSIONS } from './discord-errors.js';
import { discordTime, invalidInputText, missingPermissionsText, queuedReply, statusHeader, statusText } from './discord-text.js';
import { readFluxInput } from './flux-input.js';
import type { FluxRequest } from '../../core/request.js';
import { personalSubmitText, personalTarget, placedRequester } from './personal.js';
import { interactionExtra } from './private-delivery.js';
import { replyPrivately, requesterOf, type DiscordServices, type StatusMessage } from './services.js';

const VIEW_CHANNEL: [bigint, string] = [P.ViewChannel, 'View Channel'];
const sendMessages = (inThread: boolean): [bigint, string] =>
  inThread ? [P.SendMessagesInThreads, 'Send Messages in Threads'] : [P.SendMessages, 'Send Messages'];

/** What the bot needs in a channel to post status and images (thread creation is optional: it falls back). */
function missingPermissions(interaction: ChatInputCommandInteraction, inThread: boolean): string[] {
  const perms = interaction.appPermissions;
  if (!perms) return [];
  const needed: Array<[bigint, string]> = [VIEW_CHANNEL, sendMessages(inThread), [P.EmbedLinks, 'Embed Links'], [P.AttachFiles, 'Attach Files']];
  return needed.filter(([bit]) => !perms.has(bit)).map(([, name]) => name);
}

/**
 * The permission behind Discord refusing the status message, when the pre-check could not see it (permissions
 * changed since the command was sent): 50001 is the channel itself, 50013 posting in it. Undefined for anything else.
 */
function refusedPermission(err: unknown, inThread: boolean): string | undefined {
  if (isDiscordError(err, MISSING_ACCESS)) return VIEW_CHANNEL[1];
  if (isDiscordError(err, MISSING_PERMISSIONS)) return sendMessages(inThread)[1];
  return undefined;
}

/** Whether the channel (a thread: its parent) is marked NSFW. Unknown counts as not NSFW: images are withheld. */
export function channelIsNsfw(channel: Channel | null): boolean {
  if (!channel) return false;
  if (channel.isThread()) return channel.parent?.nsfw ?? false;
  return 'nsfw' in channel ? channel.nsfw : false;
}

/**
 * `/flux` after the (already sent) defer: validate, post the status message that anchors the thread, submit, and
 * answer privately. The status message is a normal bot message, not the interaction reply: it is edited for as long
 * as the job takes, and interaction tokens die after 15 minutes. It is posted after admission and before the job is
 * enqueued (the target is fixed then, and a fast worker may deliver within milliseconds).
 */
export async function runFlux(svc: DiscordServices, interaction: ChatInputCommandInteraction<'cached' | 'raw'>, log: Logger): Promise<void> {
  const input = readFluxInput(interaction.options.data, svc.config);
  if (!input.ok) return replyPrivately(interaction, input.text, log);
  // Guild channels and active threads are cached from the gateway; anything else (a private thread the bot was
  // never shown) is fetched, so a thread is never mistaken for a channel to start threads in.
  const channel = interaction.channel ?? (await interaction.client.channels.fetch(interaction.channelId).catch(() => null));
  const inThread = channel?.isThread() ?? false;
  const missing = missingPermissions(interaction, inThread);
  if (missing.length > 0) return replyPrivately(interaction, missingPermissionsText(missing), log);

  let request: FluxRequest;
  try {
    // Attached reference images are downloaded from Discord's CDN and stored now (their links expire).
    request = await storeAttachments(svc.core.references, input.request, input.attachments, new URL(svc.config.DISCORD_API_URL).host);
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    log.info({ err }, 'reference image refused');
    return replyPrivately(interaction, invalidInputText(err.message), log);
  }
  const requester = requesterOf(interaction.guildId, interaction.user);
  const header = statusHeader(requester.userId, request.prompt, false);
  const channelId = interaction.channelId;
  const limit = interaction.attachmentSizeLimit;
  let status: StatusMessage | undefined;
  // Posted only once the submission is admitted (the service calls this after admission, before enqueueing), so a
  // refused or duplicate request leaves nothing in the channel.
  const postStatus = async (): Promise<DeliveryTarget> => {
    const posted = (await svc.rest.post(Routes.channelMessages(channelId), {
      body: { content: statusText(header, { kind: 'submitting' }), allowed_mentions: { parse: [] } },
    })) as APIMessage;
    status = { channelId, messageId: posted.id, header };
    return {
      platform: 'discord',
      channelId,
      statusMessageId: posted.id,
      ...(inThread ? { threadId: channelId } : {}),
      ...(Number.isInteger(limit) && limit > 0 ? { maxUploadBytes: limit } : {}),
      nsfwAllowed: channelIsNsfw(channel),
      // The interaction travels with the job: should the channel refuse the image, the worker answers through it.
      extra: { statusChannelId: channelId, ...interactionExtra(interaction) },
    };
  };

  let result: SubmitResult;
  try {
    result = await svc.core.service.submit(request, requester, postStatus, { dedupeKey: `discord:interaction:${interaction.id}` });
  } catch (err) {
    // A reference image refused at admission (one that expired, a link that failed): nothing was charged or posted.
    if (err instanceof InvalidInput && !status) return replyPrivately(interaction, invalidInputText(err.message), log);
    if (status) await deleteStatus(svc, status, log);
    // The status post was refused (the charge is refunded): retrying will not help until an admin changes permissions.
    const refused = status ? undefined : refusedPermission(err, inThread);
    if (refused === undefined) throw err;
    log.warn({ err }, 'Discord refused the status message');
    return replyPrivately(interaction, missingPermissionsText([refused]), log);
  }
  const reply = submitText(result, discordTime);
  if (result.status !== 'queued' || !status) return replyPrivately(interaction, reply.text, log);
  log.info({ jobId: result.jobId, position: result.position }, 'flux queued');
  await showQueued(svc, result.jobId, status, reply.text, log);
  await replyPrivately(interaction, queuedReply(reply.text, messageLink(channelId, status.messageId, interaction.guildId)), log);
}

/**
 * `/flux` in personal use (see personal.ts): no status message or thread (the bot cannot post here), the person is
 * counted in the DM bucket, and the image comes as a follow-up of this interaction (by DM once the token is too old
 * or Discord takes no more follow-ups).
 */
export async function runPersonalFlux(svc: DiscordServices, interaction: ChatInputCommandInteraction, log: Logger): Promise<void> {
  const input = readFluxInput(interaction.options.data, svc.config);
  if (!input.ok) return replyPrivately(interaction, input.text, log);
  let request: FluxRequest;
  try {
    request = await storeAttachments(svc.core.references, input.request, input.attachments, new URL(svc.config.DISCORD_API_URL).host);
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    return replyPrivately(interaction, invalidInputText(err.message), log);
  }
  let result: SubmitResult;
  try {
    result = await svc.core.service.submit(request, placedRequester(interaction), personalTarget(interaction), { dedupeKey: `discord:interaction:${interaction.id}` });
  } catch (err) {
    if (err instanceof InvalidInput) return replyPrivately(interaction, invalidInputText(err.message), log);
    throw err;
  }
  if (result.status === 'queued') log.info({ jobId: result.jobId, position: result.position }, 'flux queued (personal)');
  await replyPrivately(interaction, personalSubmitText(result), log);
}

/** Shows "queued" on the status message and lets the tracker keep it current. */
export async function showQueued(svc: DiscordServices, jobId: string, status: StatusMessage, text: string, log: Logger): Promise<void> {
  // The tracker's final "done" looks the job up by id, to say where the image went if the channel refused it.
  if (svc.tracker) return svc.tracker.track(jobId, { ...status, jobId }, { kind: 'queued', text });
  await renderStatus(svc.rest, status, status.header, { kind: 'queued', text }, undefined, jobId).catch((err: unknown) => log.warn({ err }, 'could not update the status message'));
}

export async function deleteStatus(svc: DiscordServices, status: StatusMessage, log: Logger): Promise<void> {
  await svc.rest.delete(Routes.channelMessage(status.channelId, status.messageId)).catch((err: unknown) => log.warn({ err }, 'could not delete the status message'));
}
