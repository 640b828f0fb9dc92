import { MessageFlags, type REST } from 'discord.js';
import type { Logger } from 'pino';
import { DeliveryRefused } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryRequest, DeliveryTarget } from '../../core/ports.js';
import { sendDirectMessage } from './direct-message.js';
import { isDiscordError, isPermanentRefusal } from './discord-errors.js';
import { PRIVATE_FOLLOWUP_NOTICE, privateDmNotice } from './discord-text.js';
import { earlierFollowup, postFollowup, type FollowupMemo } from './followups.js';
import { imageMessage } from './image-message.js';
import { INTERACTION_TOKEN_USE_MS } from './services.js';

/**
 * Keys in `target.extra` that let the worker answer the person through their `/flux` interaction: its token, the
 * application id (the webhook the token belongs to) and when it was created (epoch ms; the token dies 15 minutes
 * later). The token is a secret for its short life: it is never logged (discord.js's errors carry it only in their
 * URL, which the logger scrubs) and never used past INTERACTION_TOKEN_USE_MS. Rerolls replace `extra` as a whole, so
 * another person's reroll never inherits it.
 */
export const INTERACTION_EXTRA = { token: 'interactionToken', applicationId: 'applicationId', createdAt: 'interactionAt' } as const;

/** The `extra` entries for a job submitted by an interaction (see INTERACTION_EXTRA). */
export function interactionExtra(interaction: { token: string; applicationId: string; createdTimestamp: number }): Record<string, string> {
  return {
    [INTERACTION_EXTRA.token]: interaction.token,
    [INTERACTION_EXTRA.applicationId]: interaction.applicationId,
    [INTERACTION_EXTRA.createdAt]: String(interaction.createdTimestamp),
  };
}

/** The job's interaction token and application id while the token may still be used (never past 14 minutes). */
export function usableInteraction(target: DeliveryTarget, now = Date.now()): { token: string; applicationId: string } | undefined {
  const extra = target.extra ?? {};
  const token = extra[INTERACTION_EXTRA.token];
  const applicationId = extra[INTERACTION_EXTRA.applicationId];
  const createdAt = Number(extra[INTERACTION_EXTRA.createdAt]);
  if (!token || !applicationId || !Number.isFinite(createdAt)) return undefined;
  return now - createdAt < INTERACTION_TOKEN_USE_MS ? { token, applicationId } : undefined;
}

/**
 * Gives the image to the person after the channel refused it for good. While their `/flux` interaction token lives,
 * as an ephemeral follow-up: only they see it, in the very channel they asked in, and it needs no access to that
 * channel. Else (a reroll has no interaction; the job took longer than the token lives; the follow-up was refused)
 * by DM. A person who takes no DMs (50007), or any other refusal for good, is DeliveryRefused: the worker then keeps
 * the image for them. Faults that may pass (5xx, network) are thrown as they are, and the worker retries.
 *
 * A DM carries the job's nonce, so a re-run answers the message already posted. A follow-up cannot carry one (Discord
 * has no nonce for webhooks): it is remembered under the nonce instead (`memo`, see followups.ts), and a re-run answers
 * that follow-up.
 */
export async function deliverPrivately(rest: REST, logger: Logger, d: DeliveryRequest, refused: DeliveryRefused, nonce: string, memo?: FollowupMemo): Promise<DeliveredMessage> {
  const once = memo ? { memo, nonce, redelivery: d.redelivery !== undefined } : undefined;
  const earlier = await earlierFollowup(logger.child({ jobId: d.jobId }), once);
  if (earlier) return { platform: 'discord', ...earlier, via: 'private', followUp: true };
  const interaction = usableInteraction(d.target);
  if (interaction) {
    const { body, files } = imageMessage(d, PRIVATE_FOLLOWUP_NOTICE);
    try {
      const message = await postFollowup(rest, logger.child({ jobId: d.jobId }), interaction, { body: { ...body, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } }, files }, once);
      logger.info({ jobId: d.jobId, reason: refused.reason }, 'image sent as an ephemeral follow-up');
      return { platform: 'discord', ...message, via: 'private', followUp: true };
    } catch (err) {
      // Any refusal of the token (expired 50027, unknown webhook 10015) or of the message: the DM may still work.
      if (!(isPermanentRefusal(err) || isDiscordError(err, 50027))) throw err;
      logger.info({ jobId: d.jobId, status: err.status, code: err.code }, 'follow-up refused; sending the image by DM');
    }
  }
  const { body, files } = imageMessage(d, privateDmNotice(d.target.threadId ?? d.target.channelId));
  try {
    const message = await sendDirectMessage(rest, d.requester.userId, { ...body, nonce, enforce_nonce: true }, files);
    logger.info({ jobId: d.jobId, reason: refused.reason }, 'image sent by DM');
    return { platform: 'discord', messageId: message.id, channelId: message.channel_id, via: 'private' };
  } catch (err) {
    if (isPermanentRefusal(err)) throw new DeliveryRefused('discord', String(err.code), { cause: err });
    throw err;
  }
}
