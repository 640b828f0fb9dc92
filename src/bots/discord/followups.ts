import { Routes, type APIMessage, type RawFile, type REST } from 'discord.js';
import type { RedisClient } from '../../core/redis-connection.js';
import type { Logger } from 'pino';

/**
 * Interaction follow-ups posted by a delivery. Discord takes no nonce on a webhook, so a job re-run after a crash
 * between a follow-up landing and the job's checkpoint would post the image a second time. The memo closes that
 * window down to the instant between Discord's answer and one Redis write: the follow-up's message id is remembered,
 * under the delivery's nonce, as soon as the post returns, and a re-run (`redelivery`) answers that message instead of
 * posting again.
 */

/** Where an earlier run's follow-up went. */
export interface PostedFollowup {
  messageId: string;
  channelId: string;
}

export interface FollowupMemo {
  remember(key: string, posted: PostedFollowup): Promise<void>;
  recall(key: string): Promise<PostedFollowup | undefined>;
}

/**
 * A day: longer than any job's retries take (a re-run after that is no re-run of this post), short enough that Redis
 * holds nothing for long.
 */
const MEMO_TTL_SECONDS = 24 * 3600;

/** The memo in Redis: `<prefix>:discord:followup:<nonce>` → the message, for a day. */
export function redisFollowupMemo(redis: RedisClient, prefix: string): FollowupMemo {
  const key = (nonce: string) => `${prefix}:discord:followup:${nonce}`;
  return {
    async remember(nonce, posted) {
      await redis.set(key(nonce), JSON.stringify(posted), 'EX', MEMO_TTL_SECONDS);
    },
    async recall(nonce) {
      const raw = await redis.get(key(nonce));
      if (raw === null) return undefined;
      const parsed = JSON.parse(raw) as Partial<PostedFollowup>;
      return typeof parsed.messageId === 'string' && typeof parsed.channelId === 'string' ? { messageId: parsed.messageId, channelId: parsed.channelId } : undefined;
    },
  };
}

/** What a delivery that may post a follow-up is told about the memo: `nonce` keys it; `redelivery` makes it look first. */
export interface FollowupOnce {
  memo: FollowupMemo;
  nonce: string;
  redelivery: boolean;
}

/**
 * The follow-up an earlier run of this delivery posted, when this is a re-run (`redelivery`) and the memo has it. A memo
 * that cannot be read is logged and passed over: the image still reaches the person (at worst twice, as without it).
 */
export async function earlierFollowup(logger: Logger, once: FollowupOnce | undefined): Promise<PostedFollowup | undefined> {
  if (!once?.redelivery) return undefined;
  const earlier = await once.memo.recall(once.nonce).catch((err: unknown) => void logger.warn({ err }, 'could not look up an earlier follow-up'));
  if (earlier) logger.info({ messageId: earlier.messageId }, 'the follow-up was already posted by an earlier run');
  return earlier ?? undefined;
}

/**
 * Posts a follow-up of an interaction (its token authorizes; the bot token is not sent) and remembers it at once
 * (`once`). A memo that cannot be written is logged: the follow-up is posted all the same.
 */
export async function postFollowup(
  rest: REST,
  logger: Logger,
  interaction: { applicationId: string; token: string },
  message: { body: Record<string, unknown>; files: RawFile[] },
  once: FollowupOnce | undefined,
): Promise<PostedFollowup> {
  const posted = (await rest.post(Routes.webhook(interaction.applicationId, interaction.token), {
    body: message.body,
    files: message.files,
    auth: false,
    query: new URLSearchParams({ wait: 'true' }),
  })) as APIMessage;
  const result = { messageId: posted.id, channelId: posted.channel_id };
  await once?.memo.remember(once.nonce, result).catch((err: unknown) => logger.warn({ err }, 'could not remember the follow-up'));
  return result;
}
