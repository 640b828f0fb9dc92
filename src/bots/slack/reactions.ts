import type { App } from '@slack/bolt';
import type { Requester } from '../../core/ports.js';
import { InputImageExpired } from '../../core/images/input-store.js';
import { replyPrivately } from './private-reply.js';
import { REROLL_REACTION } from './slack-delivery.js';
import { userTextFor } from './slack-errors.js';
import { statusHeader, statusText } from './slack-text.js';
import { deleteQuietly, settle, type SlackServices } from './submit-flow.js';

/** Reactions that reroll an image (🔄 and 🔁). */
export const REROLL_REACTIONS: ReadonlySet<string> = new Set([REROLL_REACTION, 'repeat']);

/**
 * `reaction_added` with 🔄/🔁 on an image the bot delivered → a reroll charged to the person who reacted, in the same
 * thread. The image is found by its ts in the job records, so this works after restarts. Everything else (other
 * reactions, other messages, the bot's own reactions) is ignored. A redelivered event (same event_id) is charged once.
 * Refusals (banned, over quota, an expired image prompt) go to the person who reacted only: never into the thread.
 */
export function registerReactions(app: App, svc: SlackServices): void {
  app.event('reaction_added', async ({ event, body, context, client }) => {
    if (event.item.type !== 'message' || !REROLL_REACTIONS.has(event.reaction)) return;
    if (event.user === context.botUserId) return;
    const { channel, ts } = event.item;
    const teamId = body.team_id;
    const log = svc.logger.child({ eventId: body.event_id, user: event.user, rerollOf: ts });
    const requester: Requester = { platform: 'slack', guildId: teamId, userId: event.user };
    const reply = (text: string, threadTs?: string) => replyPrivately(client, { channel, user: event.user, threadTs }, text);
    let statusTs: string | undefined;
    try {
      const record = await svc.core.records.find('slack', ts);
      // Only images this workspace's bot posted in this very channel; any other message is not ours to reroll.
      if (!record || record.channelId !== channel || record.requester.guildId !== teamId) return;
      const threadTs = record.threadId ?? ts;
      // Its image prompt (stored for a day) may be gone: say so before anything is charged or posted.
      const expired = await svc.core.inputs.check(record.request).catch((err: unknown) => {
        if (err instanceof InputImageExpired) return err;
        throw err;
      });
      if (expired) return void (await reply(expired.userMessage, threadTs));
      const header = statusHeader(event.user, record.request.prompt, true);
      // The status message is posted only once the reroll is admitted (see GenerationService.submit).
      const postStatus = async () => {
        const posted = await client.chat.postMessage({ channel, thread_ts: threadTs, text: statusText(header, { kind: 'queued', text: 'Queued…' }) });
        statusTs = posted.ts;
        if (!statusTs) throw new Error('chat.postMessage returned no ts');
        return { statusMessageId: statusTs, extra: { ...record.target.extra, reroll: '1' } };
      };
      const dedupeKey = `slack:event:${body.event_id}`;
      const result = await svc.core.service.reroll({ platform: 'slack', messageId: ts }, requester, { dedupeKey, target: postStatus });
      if (result.status === 'not_found' || result.status === 'duplicate') {
        // Duplicate: Slack redelivered the event and the first delivery is already rerolling.
        log.info({ status: result.status }, 'reroll not submitted');
        return;
      }
      const call = { client, requester, channelId: channel, dedupeKey, reply: (text: string) => reply(text, threadTs) };
      await settle(svc, call, result, statusTs === undefined ? undefined : { channel, ts: statusTs, header });
    } catch (err) {
      log.warn({ err }, 'reroll failed');
      if (statusTs) await deleteQuietly(client, channel, statusTs, log);
      await reply(userTextFor(err)).catch(() => undefined);
    }
  });
}
