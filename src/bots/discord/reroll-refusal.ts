import { Routes } from 'discord.js';
import type { Logger } from 'pino';
import { sendDirectMessage } from './direct-message.js';
import { isPermanentRefusal } from './discord-errors.js';
import { rerollRefusalDmText, rerollRefusedPublicText } from './discord-text.js';
import type { DiscordServices } from './services.js';
import { SPREAD, spreadName } from '../../core/key-space.js';

/** How long a person who was told why their reroll of an image was refused is not told again (as long as a reroll's dedupe key lives). */
export const REROLL_TOLD_TTL_SECONDS = 86_400;

/** The key that remembers a person was told about a refused reroll of an image. */
export function rerollToldKey(prefix: string, messageId: string, userId: string): string {
  return `${spreadName(prefix)}:${SPREAD.rerollTold}:{${messageId}}:${userId}`;
}

/**
 * Tells a person why their 🔄 was refused (banned, over a limit). A reaction has no private reply, and a refusal
 * can say things that are theirs alone (an admin's ban reason, their usage), so it goes by DM. When they take no DMs,
 * the thread gets one line that mentions them and names no reason, only where to read it privately (/flux-quota).
 * Told at most once per person and image (a Redis key, for a day): reacting again, 🔁 after 🔄, or a replayed event
 * neither spams them nor the thread.
 */
export async function tellRefusal(svc: DiscordServices, refused: { messageId: string; channelId: string; userId: string; text: string }, log: Logger): Promise<void> {
  const key = rerollToldKey(svc.core.prefix, refused.messageId, refused.userId);
  if ((await svc.core.redis.set(key, '1', 'EX', REROLL_TOLD_TTL_SECONDS, 'NX')) !== 'OK') {
    log.info('reroll refused; the person was told already');
    return;
  }
  try {
    await sendDirectMessage(svc.rest, refused.userId, { content: rerollRefusalDmText(refused.channelId, refused.text) });
    log.info('reroll refused; told by DM');
    return;
  } catch (err) {
    if (!isPermanentRefusal(err)) {
      // Discord was not reachable: nobody was told, so the next reaction may try again.
      await svc.core.redis.del(key).catch(() => undefined);
      throw err;
    }
    log.info({ code: err.code }, 'reroll refused; the person takes no DMs, a line without the reason goes in the thread');
  }
  await svc.rest.post(Routes.channelMessages(refused.channelId), {
    body: { content: rerollRefusedPublicText(refused.userId), allowed_mentions: { users: [refused.userId] } },
  });
}
