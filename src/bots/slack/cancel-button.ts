import type { App } from '@slack/bolt';
import { actorOf, tell, type ActorBody } from './action-context.js';
import { cancelText, canceledStatusLine, FORGED_BUTTON_TEXT } from './action-text.js';
import { isWorkspaceAdmin } from './commands.js';
import { CANCEL_ACTION, parseJobId, statusBlocks } from './image-buttons.js';
import { userTextFor } from './slack-errors.js';
import type { SlackServices } from './submit-flow.js';

type CancelBody = ActorBody & { container?: { type?: string; message_ts?: string; channel_id?: string }; message?: { text?: string; thread_ts?: string } };

/**
 * The Cancel button of a status message (a queued or running job): its requester, or a workspace admin (as /flux-admin
 * decides), cancels it; a queued job is refunded at once, a running one is asked to stop. Anyone else is told
 * privately. A job of another workspace is refused whoever asks.
 */
export function registerCancelButton(app: App, svc: SlackServices): void {
  app.action(CANCEL_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const b = body as CancelBody;
    const actor = actorOf(b);
    const where = { user: actor.userId, channel: b.channel?.id, threadTs: b.message?.thread_ts };
    const jobId = parseJobId((action as { value?: unknown }).value);
    if (!jobId) return void (await tell(client, where, FORGED_BUTTON_TEXT).catch(() => undefined));
    try {
      const admin = await isWorkspaceAdmin(client, svc.config.SLACK_ADMIN_USER_IDS, actor.userId);
      const result = await svc.core.actions.cancel(jobId, actor, { admin });
      svc.logger.info({ jobId, user: actor.userId, status: result.status }, 'cancel button');
      const container = b.container;
      if (result.status === 'canceled' && container?.type === 'message' && container.channel_id && container.message_ts) {
        // The status message keeps its first line (who asked for what) and says who canceled; its button goes.
        const header = (b.message?.text ?? '').split('\n')[0] ?? '';
        const text = `${header}\n${canceledStatusLine(actor.userId)}`;
        await client.chat.update({ channel: container.channel_id, ts: container.message_ts, text, blocks: statusBlocks(text) }).catch((err: unknown) =>
          svc.logger.warn({ err, jobId }, 'could not mark the status message canceled'),
        );
      }
      await tell(client, where, cancelText(result));
    } catch (err) {
      svc.logger.warn({ err, jobId }, 'cancel failed');
      await tell(client, where, userTextFor(err)).catch(() => undefined);
    }
  });
}
