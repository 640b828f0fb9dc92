import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { errorText } from '../../commands/replies.js';
import type { FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../../core/ports.js';
import type { FluxRequest } from '../../core/request.js';
import { failureText, imageCaption, statusHeader, statusText } from './slack-text.js';

/** The reaction that rerolls an image; the bot adds it to every image it posts as an affordance. */
export const REROLL_REACTION = 'arrows_counterclockwise';

/** How long to wait for Slack to share an upload before giving up on the message ts (Slack shares asynchronously). */
export interface SharePolling {
  /** files.info calls at most. Default 6. */
  attempts: number;
  /** Wait before poll `n` (0-based). Default 500 ms doubling, about 30 s in all. */
  delayMs: (attempt: number) => number;
}

export const DEFAULT_SHARE_POLLING: SharePolling = { attempts: 6, delayMs: (n) => 500 * 2 ** n };

type ShareMap = Record<string, Record<string, Array<{ ts?: string; thread_ts?: string }>> | undefined>;
interface FileWithShares {
  id?: string;
  shares?: ShareMap;
}

/**
 * Posts images into the thread with the bot token and the files upload v2 flow, from any worker process (never an
 * interaction token or response_url, which expire). Also marks the status message and adds the 🔄 reaction.
 */
export class SlackDelivery implements DeliveryPort {
  constructor(
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
    private readonly polling: SharePolling = DEFAULT_SHARE_POLLING,
  ) {}

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const { channelId, threadId } = d.target;
    const ext = d.image.format;
    // Without a thread (no status message) the image goes to the channel itself and starts its own thread.
    const destination = threadId === undefined ? { channel_id: channelId } : { channel_id: channelId, thread_ts: threadId };
    const result = await this.client.filesUploadV2({
      ...destination,
      file: d.image.bytes,
      filename: `flux-${d.image.seed}.${ext}`,
      title: d.request.prompt.slice(0, 250),
      alt_text: d.request.prompt.slice(0, 1000),
      initial_comment: imageCaption({
        prompt: d.request.prompt,
        model: d.model,
        seed: d.image.seed,
        width: d.image.width,
        height: d.image.height,
        generationMs: d.generationMs,
        userId: d.requester.userId,
        provider: d.image.provider,
        reroll: d.rerollOf !== undefined,
      }),
    });
    const completed = (result.files as unknown as Array<{ files?: FileWithShares[] }>)[0]?.files?.[0];
    const ts = shareTs(completed, channelId, threadId) ?? (completed?.id ? await this.pollShares(completed.id, channelId, threadId) : undefined);
    if (ts === undefined) {
      // The image is posted; only its ts is unknown, so a reaction cannot find it. Posting again would duplicate it.
      this.logger.warn({ jobId: d.jobId, fileId: completed?.id }, 'Slack did not report where the upload was shared; reroll by reaction unavailable');
      return { platform: 'slack', messageId: `file:${completed?.id ?? d.jobId}`, channelId, threadId: threadId ?? undefined };
    }
    return { platform: 'slack', messageId: ts, channelId, threadId: threadId ?? ts };
  }

  async afterRecorded(message: DeliveredMessage, d: Omit<DeliveryRequest, 'image'>): Promise<void> {
    if (!message.messageId.startsWith('file:')) {
      await this.client.reactions.add({ channel: message.channelId, timestamp: message.messageId, name: REROLL_REACTION }).catch((err: unknown) => {
        if (slackError(err) !== 'already_reacted') throw err;
      });
    }
    await this.updateStatus(d.target, d.requester, d.request, d.rerollOf !== undefined, 'done');
  }

  async notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void> {
    const { channelId, threadId } = job.target;
    await this.client.chat.postMessage({
      channel: channelId,
      ...(threadId === undefined ? {} : { thread_ts: threadId }),
      text: failureText(job.requester.userId, errorText(error)),
    });
    await this.updateStatus(job.target, job.requester, job.request, job.target.extra?.reroll === '1', 'failed').catch((err: unknown) =>
      this.logger.warn({ err, jobId: job.jobId }, 'could not mark the status message failed'),
    );
  }

  private async updateStatus(target: DeliveryTarget, requester: Requester, request: FluxRequest, reroll: boolean, kind: 'done' | 'failed'): Promise<void> {
    if (!target.statusMessageId) return;
    await this.client.chat.update({
      channel: target.channelId,
      ts: target.statusMessageId,
      text: statusText(statusHeader(requester.userId, request.prompt, reroll), { kind }),
    });
  }

  /** Slack shares uploads asynchronously: poll files.info (bounded) until the share in our channel appears. */
  private async pollShares(fileId: string, channelId: string, threadId: string | undefined): Promise<string | undefined> {
    for (let attempt = 0; attempt < this.polling.attempts; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.polling.delayMs(attempt)));
      const info = await this.client.files.info({ file: fileId });
      const ts = shareTs(info.file as FileWithShares | undefined, channelId, threadId);
      if (ts !== undefined) return ts;
    }
    return undefined;
  }
}

/** The ts of the message that carries the file in `channelId` (in the thread, when there is one). */
export function shareTs(file: FileWithShares | undefined, channelId: string, threadId: string | undefined): string | undefined {
  const entries = [...(file?.shares?.public?.[channelId] ?? []), ...(file?.shares?.private?.[channelId] ?? [])];
  const match = entries.find((e) => threadId === undefined || e.thread_ts === threadId) ?? entries[0];
  return match?.ts;
}

/** The Slack error code of a Web API platform error (`already_reacted`, `not_in_channel`, …). */
export function slackError(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}
