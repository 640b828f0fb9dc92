import { ApplicationIntegrationType, MessageFlags, type BaseInteraction, type RawFile, type REST } from 'discord.js';
import type { Logger } from 'pino';
import { submitText } from '../../commands/replies.js';
import type { SubmitResult } from '../../core/queue/generation-service.js';
import { discordTime } from './discord-text.js';
import type { DeliveredMessage, DeliveryRequest, DeliveryTarget, Requester } from '../../core/ports.js';
import { sendDirectMessage } from './direct-message.js';
import { DISCORD_DM_BUCKET } from './dm-bucket.js';
import { isDiscordError, isPermanentRefusal } from './discord-errors.js';
import { earlierFollowup, postFollowup, type FollowupMemo, type FollowupOnce } from './followups.js';
import { imageMessage } from './image-message.js';
import { interactionExtra, usableInteraction } from './private-delivery.js';

/**
 * Personal use: the bot used where it is not installed as a server app, so it cannot post there with its bot token —
 * a DM (with the bot, or between people), or a server where only the person installed it. Discord says which with
 * the interaction's `authorizing_integration_owners`: a guild install names the interaction's server. Such use is
 * answered through the interaction itself (its follow-ups) and counted in the DM bucket (dm-bucket.ts).
 */

/** `target.extra` key marking a personal target: delivered through the interaction's follow-ups, then by DM. */
export const PERSONAL_EXTRA = 'personal';

/** Discord's answer to a sixth follow-up of an interaction of a user-installed app outside a server that installed it. */
export const MAX_FOLLOWUPS_REACHED = 40094;
/** An expired interaction token. */
export const INVALID_WEBHOOK_TOKEN = 50027;

/** Heads a DM that carries what could not go through the interaction any more. */
export const PERSONAL_DM_NOTICE = 'Here is what you asked for; the place you asked in no longer takes my answers, so it comes here.';

/** The DM bucket is full for today (its refusal would otherwise speak of a server). */
export const DM_BUCKET_FULL_TEXT = 'Everyone using me outside servers has used all of today’s images (the operator’s limit for DMs). Try again tomorrow, or in a server that has me.';

/** The DM bucket is busy, or not enabled by the operator. */
export const DM_BUCKET_BUSY_TEXT = 'I cannot take images outside servers right now (the operator’s limit for DMs). Try again later, or in a server that has me.';

/** What a person reads after a personal submission: as for a server, but the DM bucket's own refusals name it. */
export function personalSubmitText(result: SubmitResult): string {
  if (result.status === 'refused' && (result.reason === 'guild_daily' || result.reason === 'guild_concurrent' || result.reason === 'not_allowed')) {
    return result.reason === 'guild_daily' ? DM_BUCKET_FULL_TEXT : DM_BUCKET_BUSY_TEXT;
  }
  return submitText(result, discordTime).text;
}

/** Whether the bot is used outside a server that installed it (see above). */
export function isPersonal(interaction: Pick<BaseInteraction, 'guildId' | 'authorizingIntegrationOwners'>): boolean {
  if (!interaction.guildId) return true;
  return interaction.authorizingIntegrationOwners[ApplicationIntegrationType.GuildInstall] !== interaction.guildId;
}

/** The requester of an interaction: in its server, or in the DM bucket for personal use. */
export function placedRequester(interaction: Pick<BaseInteraction, 'guildId' | 'authorizingIntegrationOwners' | 'user'>): Requester {
  const user = interaction.user;
  const displayName = user.globalName ?? user.username ?? undefined;
  const guildId = isPersonal(interaction) ? DISCORD_DM_BUCKET : interaction.guildId!;
  return { platform: 'discord', guildId, userId: user.id, ...(displayName ? { displayName } : {}) };
}

/** Where a personal job's image goes: the interaction (follow-ups while its token lives), never a channel post. */
export function personalTarget(
  interaction: { token: string; applicationId: string; createdTimestamp: number; channelId: string | null; attachmentSizeLimit: number },
  extra: Record<string, string> = {},
): DeliveryTarget {
  const limit = interaction.attachmentSizeLimit;
  return {
    platform: 'discord',
    channelId: interaction.channelId ?? DISCORD_DM_BUCKET,
    ...(Number.isInteger(limit) && limit > 0 ? { maxUploadBytes: limit } : {}),
    // No channel here is known to be age-restricted: NSFW-flagged images are withheld.
    nsfwAllowed: false,
    extra: { ...extra, [PERSONAL_EXTRA]: '1', ...interactionExtra(interaction) },
  };
}

export function isPersonalTarget(target: DeliveryTarget): boolean {
  return target.extra?.[PERSONAL_EXTRA] === '1';
}

/** Whether Discord refused a follow-up in a way a DM may still get around: expired token, unknown webhook, 5 used. */
function followupRefused(err: unknown): boolean {
  return isPermanentRefusal(err) || isDiscordError(err, INVALID_WEBHOOK_TOKEN) || isDiscordError(err, MAX_FOLLOWUPS_REACHED);
}

/**
 * Posts a personal job's message (an image, a failure notice): as a follow-up of its interaction while the token may be
 * used (never past 14 minutes) and Discord takes more follow-ups (5 per interaction for a user-installed app), else by
 * DM with the bot token. A DM carries `nonce`; a follow-up cannot, so an image's follow-up is remembered (`once`, see
 * followups.ts) and a re-run answers it instead of posting again. `via: 'private'` when it went by DM; `followUp`
 * when it is the interaction's.
 */
export async function postPersonally(
  rest: REST,
  logger: Logger,
  target: DeliveryTarget,
  userId: string,
  message: { body: Record<string, unknown>; files: RawFile[] },
  nonce: string,
  jobId: string,
  once?: FollowupOnce,
): Promise<DeliveredMessage> {
  const earlier = await earlierFollowup(logger.child({ jobId }), once);
  if (earlier) return { platform: 'discord', ...earlier, followUp: true };
  const interaction = usableInteraction(target);
  if (interaction) {
    try {
      const posted = await postFollowup(rest, logger.child({ jobId }), interaction, { body: { ...message.body, allowed_mentions: { parse: [] } }, files: message.files }, once);
      return { platform: 'discord', ...posted, followUp: true };
    } catch (err) {
      if (!followupRefused(err)) throw err;
      logger.info({ jobId, status: (err as { status?: number }).status, code: (err as { code?: unknown }).code }, 'follow-up refused; sending by DM');
    }
  } else {
    logger.info({ jobId }, 'interaction token too old for a follow-up; sending by DM');
  }
  // A DM is the person's alone: no ephemeral flag (a channel message cannot carry it).
  const { flags: _flags, ...body } = message.body;
  const content = typeof body.content === 'string' ? `${PERSONAL_DM_NOTICE}\n${body.content}` : PERSONAL_DM_NOTICE;
  const posted = await sendDirectMessage(rest, userId, { ...body, content, nonce, enforce_nonce: true }, message.files);
  return { platform: 'discord', messageId: posted.id, channelId: posted.channel_id, via: 'private' };
}

/** A personal job's image: see postPersonally. `memo` remembers its follow-up, so a re-run of the job posts it once. */
export function deliverPersonally(rest: REST, logger: Logger, d: DeliveryRequest, nonce: string, memo?: FollowupMemo): Promise<DeliveredMessage> {
  const { body, files } = imageMessage(d);
  const once = memo ? { memo, nonce, redelivery: d.redelivery !== undefined } : undefined;
  return postPersonally(rest, logger, d.target, d.requester.userId, { body, files }, nonce, d.jobId, once);
}

/** Tells the person privately why no image came (an ephemeral follow-up, else a DM). */
export async function notifyPersonally(rest: REST, logger: Logger, target: DeliveryTarget, userId: string, content: string, nonce: string, jobId: string): Promise<void> {
  await postPersonally(rest, logger, target, userId, { body: { content, flags: MessageFlags.Ephemeral }, files: [] }, nonce, jobId);
}
