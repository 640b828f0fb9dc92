import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { errorText } from '../../commands/replies.js';
import { DeliveryRefused, type FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, RecordedDelivery, DeliveryTarget, Requester } from '../../core/ports.js';
import { imageCount, type FluxRequest } from '../../core/request.js';
import { cutGraphemes } from '../../core/text.js';
import { imageButtonsMessage, statusBlocks } from './image-buttons.js';
import { slackError } from './slack-errors.js';
import { failureText, imageCaption, privateImageNote, statusHeader, statusText } from './slack-text.js';
import { galleryFileName } from './delivered-image.js';
import { DEFAULT_SHARE_POLLING, findUpload, openDirectMessage, pollShares, shareTs, uploadImage, uploadImages, type FileWithShares, type SharePolling } from './slack-uploads.js';

export { DEFAULT_SHARE_POLLING, shareTs, type SharePolling } from './slack-uploads.js';
export { slackError } from './slack-errors.js';

/** The reaction that rerolls an image; the bot adds it to every image it posts as an affordance. */
export const REROLL_REACTION = 'arrows_counterclockwise';

/** A refusal of the channel that only says "an earlier run already gave this image to the person privately". */
const DELIVERED_PRIVATELY = 'delivered_privately';

export interface SlackDeliveryOptions {
  /** How long afterRecorded polls files.info for an upload's message ts. Default {@link DEFAULT_SHARE_POLLING}. */
  polling?: SharePolling;
  /**
   * Saves a copy of the job record of `fromMessageId` (`file:<id>`) under the message ts found after it was saved, so
   * a 🔄 on the image finds it. Without it such an image cannot be rerolled by reaction.
   */
  aliasRecord?: (fromMessageId: string, ts: string, threadTs: string) => Promise<void>;
}

/**
 * Posts images into the thread with the bot token and the files upload v2 flow, from any worker process (never an
 * interaction token or response_url, which expire); when the channel refuses for good, into the person's direct
 * message. Also marks the status message, posts the image's buttons (Reroll, Edit, Vary, Delete) in its thread and adds
 * the 🔄 reaction.
 *
 * `deliver` returns as soon as Slack has the image (the job's in-flight slot is released right after): when Slack has
 * not shared the upload yet, its message ts is looked up later, in afterRecorded. Waiting for it here kept the person's
 * slot taken for up to half a minute after they could see the image ("You already have 2 images in progress").
 */
export class SlackDelivery implements DeliveryPort {
  private botUserId: Promise<string> | undefined;
  private readonly polling: SharePolling;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly logger: Logger,
    private readonly options: SlackDeliveryOptions = {},
  ) {
    this.polling = options.polling ?? DEFAULT_SHARE_POLLING;
  }

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const { channelId, threadId } = d.target;
    const names = fileNames(d);
    if (d.redelivery) {
      const earlier = await this.findEarlier(d, [names.channel, names.private]);
      // Given privately by an earlier run: the worker asks deliverPrivately, whose own lookup finds that upload.
      if (earlier?.name === names.private) throw new DeliveryRefused('slack', DELIVERED_PRIVATELY);
      if (earlier) return posted(earlier, channelId, threadId, d.jobId);
    }
    // Without a thread (no status message) the image goes to the channel itself and starts its own thread.
    const file = await this.upload(d, { channelId, threadId, comment: caption(d) }, false);
    return posted(file, channelId, threadId, d.jobId);
  }

  /** The channel refused the image for good: it goes to the person's direct message with the bot, saying why. */
  async deliverPrivately(d: DeliveryRequest, refused: DeliveryRefused): Promise<DeliveredMessage> {
    const names = fileNames(d);
    const dm = await openDirectMessage(this.client, d.requester.userId);
    if (d.redelivery || refused.reason === DELIVERED_PRIVATELY) {
      const earlier = await this.findEarlier(d, [names.private]);
      if (earlier) return { ...posted(earlier, dm, undefined, d.jobId), via: 'private' };
    }
    const comment = `${caption(d)}\n${privateImageNote(d.target.channelId, refused.reason)}`;
    const file = await this.upload(d, { channelId: dm, comment }, true);
    return { ...posted(file, dm, undefined, d.jobId), via: 'private' };
  }

  /**
   * One upload: the image, or a gallery's images as ONE message (one completeUploadExternal with every file, one
   * comment). Returns the first file, which finds the message.
   */
  private async upload(d: DeliveryRequest, to: { channelId: string; threadId?: string | undefined; comment: string }, privately: boolean): Promise<FileWithShares | undefined> {
    const gallery = galleryOf(d);
    if (!gallery) {
      const names = fileNames(d);
      return uploadImage(this.client, { ...to, filename: privately ? names.private : names.channel, bytes: d.image.bytes, ...texts(d) });
    }
    const files = gallery.map((image, i) => ({
      filename: galleryFileName(d.jobId, i, image.format, privately),
      bytes: image.bytes,
      ...texts(d, `${i + 1} of ${gallery.length}`),
    }));
    return (await uploadImages(this.client, { ...to, files }))[0];
  }

  /**
   * The record is saved and the in-flight slot released: marks the status message and adds the 🔄 (only now, so a
   * reaction never arrives before the record that makes it work). An upload whose message ts was unknown at delivery
   * is looked up here; its record is then saved under that ts too. Nothing here throws for a status message that
   * cannot be edited: it is often in the very channel that refused the image.
   */
  async afterRecorded(message: DeliveredMessage, d: RecordedDelivery): Promise<void> {
    const status = this.updateStatus(d.target, d.requester, d.request, d.rerollOf !== undefined, message.via ?? 'done').catch((err: unknown) =>
      this.logger.warn({ err, jobId: d.jobId }, 'could not update the status message'),
    );
    if (message.via === 'kept') return status;
    let ts: string | undefined = message.messageId;
    if (ts.startsWith('job:')) return status;
    if (ts.startsWith('file:')) {
      await status;
      ts = await this.findTs(message, d.jobId);
      if (ts === undefined) return;
    }
    // The buttons first, then the 🔄: once the 🔄 is there, the image's buttons are too. A missing message of buttons
    // or 🔄 costs only the affordance (a person's own 🔄 still rerolls).
    await this.client.chat
      .postMessage({ channel: message.channelId, thread_ts: message.threadId ?? ts, ...imageButtonsMessage({ messageId: ts, jobId: d.jobId }, d.imageCount) })
      .catch((err: unknown) => this.logger.warn({ err, jobId: d.jobId }, 'could not post the buttons of the image'));
    const react = this.client.reactions.add({ channel: message.channelId, timestamp: ts, name: REROLL_REACTION }).catch((err: unknown) => {
      if (slackError(err) !== 'already_reacted') this.logger.warn({ err, jobId: d.jobId }, 'could not add the 🔄 reaction to the image');
    });
    await Promise.all([status, react]);
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

  private async updateStatus(target: DeliveryTarget, requester: Requester, request: FluxRequest, reroll: boolean, kind: 'done' | 'failed' | 'private' | 'kept'): Promise<void> {
    if (!target.statusMessageId) return;
    const header = statusHeader(requester.userId, request.prompt, reroll);
    const text = kind === 'failed' ? statusText(header, { kind }) : statusText(header, { kind: 'done' }, kind === 'done' ? undefined : kind);
    // Blocks given explicitly: the status message's Cancel button goes with the job's end.
    await this.client.chat.update({ channel: target.channelId, ts: target.statusMessageId, text, blocks: statusBlocks(text) });
  }

  /** The message ts of an upload Slack had not shared at delivery; its record is saved under it too. */
  private async findTs(message: DeliveredMessage, jobId: string): Promise<string | undefined> {
    const fileId = message.messageId.slice('file:'.length);
    const ts = await pollShares(this.client, this.polling, this.logger, { fileId, channelId: message.channelId, threadId: message.threadId, jobId });
    if (ts === undefined) {
      // The image is posted; only its ts is unknown, so a reaction cannot find it. Posting again would duplicate it.
      this.logger.warn({ jobId, fileId }, 'Slack did not report where the upload was shared; reroll by reaction unavailable');
      return undefined;
    }
    try {
      await this.options.aliasRecord?.(message.messageId, ts, message.threadId ?? ts);
    } catch (err) {
      this.logger.warn({ err, jobId }, 'could not save the job record under the image message; reroll by reaction unavailable');
      return undefined;
    }
    return ts;
  }

  /**
   * This job's earlier upload named one of `names`, if an earlier run made one. A lookup that fails must not cost
   * the image: then it is posted (perhaps a second time) rather than lost.
   */
  private async findEarlier(d: DeliveryRequest, names: readonly string[]): Promise<FileWithShares | undefined> {
    try {
      const user = await this.botUser();
      const earlier = await findUpload(this.client, user, names, d.redelivery?.since ?? Date.now());
      if (earlier) this.logger.info({ jobId: d.jobId, fileId: earlier.id }, 'image already posted by an earlier run of this job; not posting again');
      return earlier;
    } catch (err) {
      this.logger.warn({ err, jobId: d.jobId }, 'could not look for an earlier upload of this job; posting it');
      return undefined;
    }
  }

  private async botUser(): Promise<string> {
    this.botUserId ??= this.client.auth.test().then((r) => {
      if (typeof r.user_id !== 'string') throw new Error('auth.test did not name the bot user');
      return r.user_id;
    });
    return this.botUserId.catch((err: unknown) => {
      this.botUserId = undefined;
      throw err;
    });
  }
}

/**
 * The job id in the name finds this job's upload again: Slack's uploads have no idempotency key (Discord's messages
 * have a nonce), so a job run again after a crash or a failed attempt looks for its earlier upload first. The private
 * copy has its own name, so a re-run can tell where the earlier run put the image.
 */
function fileNames(d: DeliveryRequest): { channel: string; private: string } {
  const gallery = galleryOf(d);
  if (gallery) return { channel: galleryFileName(d.jobId, 0, gallery[0]!.format, false), private: galleryFileName(d.jobId, 0, gallery[0]!.format, true) };
  const base = `flux-${d.image.seed}-${d.jobId}`;
  return { channel: `${base}.${d.image.format}`, private: `${base}-dm.${d.image.format}` };
}

/** A gallery's images (two or more, posted as one message); undefined for one image. */
function galleryOf(d: DeliveryRequest): DeliveryRequest['images'] {
  return d.images !== undefined && d.images.length >= 2 ? d.images : undefined;
}

/** Title and alt text, cut on whole characters: half an emoji makes the Web API client throw "URI malformed". */
function texts(d: DeliveryRequest, which?: string): { title: string; altText: string } {
  const suffix = which === undefined ? '' : ` (${which})`;
  return { title: `${cutGraphemes(d.request.prompt, 250 - suffix.length)}${suffix}`, altText: `${cutGraphemes(d.request.prompt, 1000 - suffix.length)}${suffix}` };
}

function caption(d: DeliveryRequest): string {
  const images = d.images ?? [d.image];
  const asked = imageCount(d.request);
  return imageCaption({
    prompt: d.request.prompt,
    model: d.model,
    seed: d.image.seed,
    ...(images.length >= 2 ? { seeds: images.map((i) => i.seed) } : {}),
    width: d.image.width,
    height: d.image.height,
    generationMs: d.generationMs,
    userId: d.requester.userId,
    provider: d.image.provider,
    reroll: d.rerollOf !== undefined,
    costMicros: d.costMicros,
    ...(asked >= 2 ? { gallery: { shown: images.length, asked, ...(d.shortfall === undefined ? {} : { shortfall: d.shortfall }) } } : {}),
  });
}

/** The posted image: its message ts when Slack already reports the share, else `file:<id>` (afterRecorded finds the ts). */
function posted(file: FileWithShares | undefined, channelId: string, threadId: string | undefined, jobId: string): DeliveredMessage {
  const ts = shareTs(file, channelId, threadId);
  // No file id at all (an odd answer): nothing to look the ts up by.
  if (ts === undefined) return { platform: 'slack', messageId: file?.id ? `file:${file.id}` : `job:${jobId}`, channelId, threadId };
  return { platform: 'slack', messageId: ts, channelId, threadId: threadId ?? ts };
}
