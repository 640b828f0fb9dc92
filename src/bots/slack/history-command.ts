import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { runHistoryCommand, type KeptFile } from '../../commands/flux-history.js';
import type { ImageHistory } from '../../core/jobs/image-history.js';
import type { Requester } from '../../core/ports.js';
import { imageLocation, KEPT_IMAGE_COMMENT, KEPT_NOT_HANDED_OVER_TEXT, keptHandedOverText, slackTime } from './slack-text.js';
import { openDirectMessage, uploadImage } from './slack-uploads.js';

/**
 * `/flux-history`: the person's latest images and where each went, as private text. Slack's private answers cannot
 * carry files, so the kept images (no channel could take them) are uploaded into the person's direct message with the
 * bot, and the answer says so (or that it could not).
 */
export async function historyText(history: Pick<ImageHistory, 'list'>, client: webApi.WebClient, requester: Requester, log: Logger): Promise<string> {
  const reply = await runHistoryCommand(history, requester, imageLocation, slackTime);
  if (reply.files.length === 0) return reply.text;
  const handed = await handOver(client, requester.userId, reply.files).then(
    () => true,
    (err: unknown) => {
      log.warn({ err, user: requester.userId }, 'could not send the kept images by direct message');
      return false;
    },
  );
  return `${reply.text}\n${handed ? keptHandedOverText(reply.files.length) : KEPT_NOT_HANDED_OVER_TEXT}`;
}

async function handOver(client: webApi.WebClient, userId: string, files: readonly KeptFile[]): Promise<void> {
  const dm = await openDirectMessage(client, userId);
  // One after another, in the list's order.
  for (const file of files) {
    await uploadImage(client, { channelId: dm, filename: file.filename, bytes: file.bytes, title: file.filename, altText: KEPT_IMAGE_COMMENT, comment: KEPT_IMAGE_COMMENT });
  }
}
