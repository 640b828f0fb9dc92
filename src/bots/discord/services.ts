import type { AttachmentPayload, ChatInputCommandInteraction, REST } from 'discord.js';
import type { Logger } from 'pino';
import { errorText, UNAVAILABLE_TEXT } from '../../commands/replies.js';
import type { Config } from '../../config.js';
import type { FluxbotCore } from '../../core/core.js';
import { isFluxError } from '../../core/errors.js';
import type { Requester } from '../../core/ports.js';
import type { AckGate } from '../shared/ack-gate.js';
import type { AckThread } from './ack-thread.js';
import type { StatusTracker } from '../shared/status-tracker.js';

/** A status message the bot role keeps current. */
export interface StatusMessage {
  channelId: string;
  messageId: string;
  header: string;
  /** The job it shows, once queued (the final "done" says where the image went if the channel refused it). */
  jobId?: string;
}

/** What the Discord handlers share. */
export interface DiscordServices {
  core: FluxbotCore;
  config: Config;
  logger: Logger;
  /** REST with the bot token: status messages, threads, reactions (never an interaction token for these). */
  rest: REST;
  /** Present when the process has a progress feed (bot role). */
  tracker: StatusTracker<StatusMessage> | undefined;
  /** Acks of a burst go out before any command's slower work. */
  acks: AckGate;
  /** Sends the acks from a worker thread (absent: through discord.js's REST). */
  acker?: AckThread | undefined;
}

/** Interaction tokens die after 15 minutes; past this age the bot no longer uses one (a margin for clock skew). */
export const INTERACTION_TOKEN_USE_MS = 14 * 60_000;

/**
 * Answers the person privately through the interaction token, but only while it is valid. Everything that may
 * happen later (progress, the image, failures) goes through the bot token instead. `files` are attached; when Discord
 * refuses them (too large, say) the text goes alone, followed by `withoutFiles`.
 */
export async function replyPrivately(
  interaction: ChatInputCommandInteraction,
  content: string,
  log: Logger,
  attach?: { files: AttachmentPayload[]; withoutFiles: string },
): Promise<void> {
  if (Date.now() - interaction.createdTimestamp >= INTERACTION_TOKEN_USE_MS) {
    log.warn('interaction token too old to answer; reply dropped');
    return;
  }
  try {
    await interaction.editReply({ content, allowedMentions: { parse: [] }, ...(attach && attach.files.length > 0 ? { files: attach.files } : {}) });
  } catch (err) {
    log.warn({ err }, 'could not answer the interaction');
    if (attach && attach.files.length > 0) await replyPrivately(interaction, `${content}\n${attach.withoutFiles}`, log);
  }
}

/** What a person reads when something failed unexpectedly: Redis away → "temporarily unavailable". */
export function unexpectedText(err: unknown): string {
  if (isFluxError(err)) return errorText(err);
  return UNAVAILABLE_TEXT;
}

/** The requester of a guild interaction or reaction. */
export function requesterOf(guildId: string, user: { id: string; globalName?: string | null; username?: string | null }): Requester {
  const displayName = user.globalName ?? user.username ?? undefined;
  return { platform: 'discord', guildId, userId: user.id, ...(displayName ? { displayName } : {}) };
}
