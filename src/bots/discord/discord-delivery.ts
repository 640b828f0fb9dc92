import { createHash } from 'node:crypto';
import { DiscordAPIError, Routes, type APIChannel, type APIMessage, type REST, type RawFile } from 'discord.js';
import type { Logger } from 'pino';
import type { FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../../core/ports.js';
import type { FluxRequest } from '../../core/request.js';
import type { StatusState } from '../shared/status-tracker.js';
import { failureText, imageContent, imageEmbed, REROLL_EMOJI, statusHeader, statusText, threadName } from './discord-text.js';

/** Discord's "Missing Access" (the bot cannot see the channel) and "Missing Permissions": not ours to retry. */
export const MISSING_ACCESS = 50001;
export const MISSING_PERMISSIONS = 50013;
/** A thread already exists on the message (a retried delivery, or a reroll of an image in it). */
const THREAD_EXISTS = 160004;

/** Where the status message of a job lives: `extra.statusChannelId` (a thread), else the target channel. */
export function statusLocation(target: DeliveryTarget): { channelId: string; messageId: string } | undefined {
  if (!target.statusMessageId) return undefined;
  return { channelId: target.extra?.statusChannelId ?? target.channelId, messageId: target.statusMessageId };
}

/** Edits a status message with the bot token (never an interaction token: status messages outlive them). */
export async function renderStatus(rest: REST, at: { channelId: string; messageId: string }, header: string, state: StatusState): Promise<void> {
  await rest.patch(Routes.channelMessage(at.channelId, at.messageId), {
    body: { content: statusText(header, state), allowed_mentions: { parse: [] } },
  });
}

export const isDiscordError = (err: unknown, ...codes: number[]): err is DiscordAPIError =>
  err instanceof DiscordAPIError && (codes.length === 0 || codes.includes(Number(err.code)));

/**
 * The Discord side of delivery, on the REST API with the bot token only, so any worker process can run it without a
 * gateway connection. Images go into the job's thread: the thread the command was used in, or one started on the
 * status message; when Discord refuses the thread (no permission, or a channel without threads), into the channel
 * as a reply to the status message.
 */
export class DiscordDelivery implements DeliveryPort {
  constructor(
    private readonly rest: REST,
    private readonly logger: Logger,
  ) {}

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const where = await this.destination(d.target, d.request.prompt);
    const nsfw = d.image.nsfw;
    const withheld = nsfw && d.target.nsfwAllowed !== true;
    const spoiler = nsfw && !withheld;
    const name = `${spoiler ? 'SPOILER_' : ''}flux-${d.image.seed}.${d.image.format}`;
    const files: RawFile[] = withheld ? [] : [{ name, data: d.image.bytes, contentType: d.image.contentType }];
    const facts = { ...d.request, seed: d.image.seed, width: d.image.width, height: d.image.height, generationMs: d.generationMs, provider: d.image.provider, model: d.model };
    const body = {
      content: imageContent(d.requester.userId, d.rerollOf !== undefined, spoiler),
      // An embed image cannot be a spoiler: a flagged image is shown only as the spoilered attachment.
      embeds: [imageEmbed(facts, { attachmentName: spoiler || withheld ? undefined : name, withheld })],
      allowed_mentions: { users: [d.requester.userId] },
      ...(where.replyTo ? { message_reference: { message_id: where.replyTo, fail_if_not_exists: false } } : {}),
      ...(files.length > 0 ? { attachments: [{ id: 0, filename: name }] } : {}),
      // A job re-run after a crash between posting and checkpointing posts with the same nonce: Discord answers the
      // message it already created instead of posting the image twice.
      nonce: deliveryNonce(d.jobId),
      enforce_nonce: true,
    };
    const message = (await this.rest.post(Routes.channelMessages(where.channelId), { body, files })) as APIMessage;
    if (withheld) this.logger.info({ jobId: d.jobId }, 'NSFW-flagged image withheld in a non-NSFW channel');
    return { platform: 'discord', messageId: message.id, channelId: d.target.channelId, threadId: where.threadId };
  }

  /** Adds the 🔄 affordance (now that the record exists) and marks the status message done. */
  async afterRecorded(message: DeliveredMessage, d: Omit<DeliveryRequest, 'image'>): Promise<void> {
    const channelId = message.threadId ?? message.channelId;
    const react = this.rest.put(Routes.channelMessageOwnReaction(channelId, message.messageId, encodeURIComponent(REROLL_EMOJI)));
    await Promise.all([react, this.status(d.target, d.requester, d.request, d.rerollOf !== undefined, { kind: 'done' })]);
  }

  /** Tells the person why no image came: in the thread when there is one, and on the status message. */
  async notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void> {
    const reroll = job.target.extra?.reroll === '1';
    const status = this.status(job.target, job.requester, job.request, reroll, { kind: 'failed', reason: error.userMessage });
    const inThread = job.target.threadId ?? (job.target.statusMessageId ? undefined : job.target.channelId);
    const post = inThread
      ? this.rest.post(Routes.channelMessages(inThread), {
          body: { content: failureText(job.requester.userId, error.userMessage), allowed_mentions: { users: [job.requester.userId] } },
        })
      : Promise.resolve();
    await Promise.all([status, post]);
  }

  private async status(target: DeliveryTarget, requester: Requester, request: FluxRequest, reroll: boolean, state: StatusState): Promise<void> {
    const at = statusLocation(target);
    if (!at) return;
    try {
      await renderStatus(this.rest, at, statusHeader(requester.userId, request.prompt, reroll), state);
    } catch (err) {
      // The status message may have been deleted by a moderator; the image itself is what matters.
      this.logger.warn({ err, messageId: at.messageId }, 'could not update the status message');
    }
  }

  /**
   * The channel to post in. A thread started on a message takes the message's id on Discord, so a retried delivery
   * that finds the thread already there ("already has a thread") simply uses it.
   */
  private async destination(target: DeliveryTarget, prompt: string): Promise<{ channelId: string; threadId?: string; replyTo?: string }> {
    if (target.threadId) return { channelId: target.threadId, threadId: target.threadId };
    const status = statusLocation(target);
    if (!status) return { channelId: target.channelId };
    try {
      const thread = (await this.rest.post(Routes.threads(status.channelId, status.messageId), {
        body: { name: threadName(prompt), auto_archive_duration: 1440 },
      })) as APIChannel;
      return { channelId: thread.id, threadId: thread.id };
    } catch (err) {
      if (isDiscordError(err, THREAD_EXISTS)) return { channelId: status.messageId, threadId: status.messageId };
      // Any other refusal means no thread here, and asking again would not change that: no access (50001, 50013, 403),
      // a channel type without threads (50024: a voice or stage channel's text chat, or a thread the command was not
      // known to be in). The image, already generated, goes into the channel instead. 5xx and network errors rethrow.
      if (isDiscordError(err) && err.status >= 400 && err.status < 500) {
        this.logger.info({ channelId: status.channelId, status: err.status, code: err.code }, 'cannot start a thread here; posting in the channel');
        return { channelId: status.channelId, replyTo: status.messageId };
      }
      throw err;
    }
  }
}

/** Discord nonces are at most 25 characters: a digest of the job id (one job, one image message). */
export function deliveryNonce(jobId: string): string {
  return createHash('sha256').update(`fluxbot:${jobId}`).digest('base64url').slice(0, 25);
}
