import { Routes, type APIMessage, type MessageReaction, type PartialMessageReaction, type PartialUser, type User } from 'discord.js';
import { submitText } from '../../commands/replies.js';
import { InvalidInput } from '../../core/errors.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import { discordTime, reactionRefusalText, REROLL_EMOJIS, statusHeader, statusText } from './discord-text.js';
import { deleteStatus, showQueued } from './flux-command.js';
import { tellRefusal } from './reroll-refusal.js';
import { requesterOf, unexpectedText, type DiscordServices, type StatusMessage } from './services.js';

/**
 * The dedupe key of a reaction reroll. Reaction events carry no id of their own, so the key is the image and the
 * person: a replayed MESSAGE_REACTION_ADD (gateway resume, a second shard session) is charged once, and so is 🔄 and 🔁
 * by the same person, or removing and re-adding the reaction. One reroll per person per image; for another take they
 * react on the new image (the admission layer remembers the key for a day).
 */
export function reactionDedupeKey(messageId: string, userId: string): string {
  return `discord:reaction:${messageId}:${userId}`;
}

/**
 * 🔄 / 🔁 on a delivered image: a reroll charged to the person who reacted, in the image's thread. Works for messages
 * the client never cached and after a restart: the image is found by its message id in the job records, not in the
 * cache. Other messages, other emoji and the bot's own reactions are ignored. Errors are logged, never thrown.
 */
export async function handleReaction(svc: DiscordServices, botUserId: string | undefined, reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser): Promise<void> {
  if (user.id === botUserId || user.bot === true) return;
  if (!reaction.emoji.name || !REROLL_EMOJIS.includes(reaction.emoji.name)) return;
  const message = reaction.message;
  const guildId = message.guildId;
  if (!guildId) return;
  // A cached message tells its author: only the bot's own messages can be images. Uncached ones are looked up.
  if (message.author && message.author.id !== botUserId) return;
  const log = svc.logger.child({ messageId: message.id, user: user.id, module: 'reroll' });
  let status: StatusMessage | undefined;
  let thread: string | undefined;
  try {
    const record = await svc.core.records.find('discord', message.id);
    if (!record) return;
    const channelId = record.threadId ?? record.channelId;
    thread = channelId;
    const header = statusHeader(user.id, record.request.prompt, true);
    // The status message is posted only once the reroll is admitted (see GenerationService.submit).
    const postStatus = async () => {
      const posted = (await svc.rest.post(Routes.channelMessages(channelId), {
        body: { content: statusText(header, { kind: 'submitting' }), allowed_mentions: { parse: [] } },
      })) as APIMessage;
      status = { channelId, messageId: posted.id, header };
      return { statusMessageId: posted.id, extra: { statusChannelId: channelId, reroll: '1' } };
    };
    const result: RerollResult = await svc.core.service.reroll({ platform: 'discord', messageId: message.id }, requesterOf(guildId, user), {
      dedupeKey: reactionDedupeKey(message.id, user.id),
      target: postStatus,
    });
    if (result.status === 'queued' && status) {
      log.info({ jobId: result.jobId }, 'reroll queued');
      return await showQueued(svc, result.jobId, status, submitText(result, discordTime).text, log);
    }
    if (result.status === 'refused') {
      // A reaction has no private answer: the reason goes by DM, once per person and image (see reroll-refusal.ts).
      await tellRefusal(svc, { messageId: message.id, channelId, userId: user.id, text: submitText(result, discordTime).text }, log);
    } else {
      log.info({ status: result.status }, 'reroll not queued');
    }
  } catch (err) {
    if (err instanceof InvalidInput && !status && thread !== undefined) {
      // Its images expired (the bot keeps them for a day): nothing was charged; the person learns why by DM.
      log.info({ err }, 'reroll refused: its input is no longer usable');
      return await tellRefusal(svc, { messageId: message.id, channelId: thread, userId: user.id, text: err.userMessage }, log).catch((e: unknown) =>
        log.warn({ err: e }, 'could not tell the person'),
      );
    }
    log.error({ err }, 'reroll failed');
    if (!status) return;
    await deleteStatus(svc, status, log);
    await svc.rest
      .post(Routes.channelMessages(status.channelId), { body: { content: reactionRefusalText(user.id, unexpectedText(err)), allowed_mentions: { users: [user.id] } } })
      .catch((e: unknown) => log.warn({ err: e }, 'could not tell the person'));
  }
}
