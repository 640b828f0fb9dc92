import { messageLink, type AttachmentPayload, type ChatInputCommandInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { runHistoryCommand, type KeptFile } from '../../commands/flux-history.js';
import type { JobRecord } from '../../core/jobs/job-records.js';
import { discordTime, fitLines, KEPT_NOT_ATTACHED_TEXT, MAX_CONTENT } from './discord-text.js';
import { isPersonal, placedRequester } from './personal.js';
import { replyPrivately, type DiscordServices } from './services.js';

/** Discord takes at most 10 attachments on one message. */
const MAX_ATTACHMENTS = 10;

/** Where a posted image is: a link to its message (in its thread, when it went into one). */
export function imageLink(guildId: string, record: Pick<JobRecord, 'channelId' | 'threadId' | 'messageId'>): string {
  return messageLink(record.threadId ?? record.channelId, record.messageId, guildId);
}

/** The kept images that can go on one answer: at most 10, each within the upload limit Discord gave the interaction. */
function attachable(files: readonly KeptFile[], limitBytes: number): AttachmentPayload[] {
  const fits = (f: KeptFile) => !(Number.isInteger(limitBytes) && limitBytes > 0) || f.bytes.length <= limitBytes;
  return files
    .filter(fits)
    .slice(0, MAX_ATTACHMENTS)
    .map((f) => ({ attachment: f.bytes, name: f.filename }));
}

/**
 * `/flux-history`: the caller's latest images, privately, each with a link to where it was posted; the ones the bot
 * kept for them (no channel, follow-up or DM could take them) are attached again.
 */
export async function runHistory(svc: DiscordServices, interaction: ChatInputCommandInteraction, log: Logger): Promise<void> {
  // Links of personal images (follow-ups, DMs) have no server in them: `@me`.
  const requester = placedRequester(interaction);
  const guildId = isPersonal(interaction) ? '@me' : requester.guildId;
  const reply = await runHistoryCommand(svc.core.history, requester, (record) => imageLink(guildId, record), discordTime);
  const files = attachable(reply.files, interaction.attachmentSizeLimit);
  // Room for the line added should the files be refused.
  const text = fitLines(reply.text, MAX_CONTENT - KEPT_NOT_ATTACHED_TEXT.length - 1);
  await replyPrivately(interaction, text, log, { files, withoutFiles: KEPT_NOT_ATTACHED_TEXT });
}
