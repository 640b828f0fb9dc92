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
  private botUserId: Promise<string> | undefined;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
    private readonly polling: SharePolling = DEFAULT_SHARE_POLLING,
  ) {}

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const { channelId, threadId } = d.target;
    // The job id in the name finds this job's upload again: Slack's uploads have no idempotency key (Discord's
    // messages have a nonce), so a job run again after a crash or a failed attempt looks for its earlier upload first.
    const filename = `flux-${d.image.seed}-${d.jobId}.${d.image.format}`;
    if (d.redelivery) {
      // A lookup that fails must not cost the image: then it is posted (perhaps a second time) rather than lost.
      const earlier = await this.findUpload(filename, d.redelivery.since).catch((err: unknown) => {
        this.logger.warn({ err, jobId: d.jobId }, 'could not look for an earlier upload of this job; posting it');
        return undefined;
      });
      if (earlier) {
        this.logger.info({ jobId: d.jobId, fileId: earlier.id }, 'image already posted by an earlier run of this job; not posting again');
        return this.posted(earlier, d, channelId, threadId);
      }
    }
    // Without a thread (no status message) the image goes to the channel itself and starts its own thread.
    const destination = threadId === undefined ? { channel_id: channelId } : { channel_id: channelId, thread_ts: threadId };
    const result = await this.client.filesUploadV2({
      ...destination,
      file: d.image.bytes,
      filename,
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
    return this.posted(completed, d, channelId, threadId);
  }

  /** The message carrying an uploaded file: its ts from the file's shares, polled for while Slack is still sharing it. */
  private async posted(file: FileWithShares | undefined, d: DeliveryRequest, channelId: string, threadId: string | undefined): Promise<DeliveredMessage> {
    const ts = shareTs(file, channelId, threadId) ?? (file?.id ? await this.pollShares(file.id, channelId, threadId, d.jobId) : undefined);
    if (ts === undefined) {
      // The image is posted; only its ts is unknown, so a reaction cannot find it. Posting again would duplicate it.
      this.logger.warn({ jobId: d.jobId, fileId: file?.id }, 'Slack did not report where the upload was shared; reroll by reaction unavailable');
      return { platform: 'slack', messageId: `file:${file?.id ?? d.jobId}`, channelId, threadId: threadId ?? undefined };
    }
    return { platform: 'slack', messageId: ts, channelId, threadId: threadId ?? ts };
  }

  /**
   * This bot's upload named `filename` since `since` (epoch ms), if there is one: files.list filtered to the bot's own
   * uploads (by user, not by channel: an upload Slack has not finished sharing is in no channel yet), newest first.
   */
  private async findUpload(filename: string, since: number): Promise<FileWithShares | undefined> {
    this.botUserId ??= this.client.auth.test().then((r) => {
      if (typeof r.user_id !== 'string') throw new Error('auth.test did not name the bot user');
      return r.user_id;
    });
    const user = await this.botUserId.catch((err: unknown) => {
      this.botUserId = undefined;
      throw err;
    });
    const list = await this.client.files.list({ user, ts_from: String(Math.floor(since / 1000) - 60), types: 'images', count: 100 });
    return (list.files as Array<FileWithShares & { name?: string }> | undefined)?.find((f) => f.name === filename);
  }

  async afterRecorded(message: DeliveredMessage, d: Omit<DeliveryRequest, 'image'>): Promise<void> {
    if (!message.messageId.startsWith('file:')) {
      // A missing 🔄 costs only the affordance (a person's own 🔄 still rerolls); the status must still say done.
      await this.client.reactions.add({ channel: message.channelId, timestamp: message.messageId, name: REROLL_REACTION }).catch((err: unknown) => {
        if (slackError(err) !== 'already_reacted') this.logger.warn({ err, jobId: d.jobId }, 'could not add the 🔄 reaction to the image');
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

  /**
   * Slack shares uploads asynchronously: poll files.info (bounded) until the share in our channel appears. The image
   * is posted by then, so a failed files.info (missing_scope, file_not_found, 5xx after the client's retries) ends the
   * polling with the ts unknown instead of failing the delivery, whose retry would post the image again.
   */
  private async pollShares(fileId: string, channelId: string, threadId: string | undefined, jobId: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < this.polling.attempts; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.polling.delayMs(attempt)));
      const info = await this.client.files.info({ file: fileId }).catch((err: unknown) => {
        this.logger.warn({ err, jobId, fileId }, 'files.info failed while looking for where the upload was shared');
        return undefined;
      });
      if (!info) return undefined;
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
