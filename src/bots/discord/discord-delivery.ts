import { createHash } from 'node:crypto';
import { Routes, type APIChannel, type APIMessage, type REST } from 'discord.js';
import type { Logger } from 'pino';
import type { DeliveryRefused, FluxError } from '../../core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, RecordedDelivery, DeliveryTarget, Requester } from '../../core/ports.js';
import type { FluxRequest } from '../../core/request.js';
import type { StatusState } from '../shared/status-tracker.js';
import { asDeliveryRefusal, isDiscordError, THREAD_EXISTS } from './discord-errors.js';
import { failureText, originOf, REROLL_EMOJI, statusHeader, statusText, threadName, type JobOrigin } from './discord-text.js';
import { cancelButtons, imageButtons } from './image-buttons.js';
import { imageMessage } from './image-message.js';
import type { FollowupMemo } from './followups.js';
import { deliverPersonally, INVALID_WEBHOOK_TOKEN, isPersonalTarget, notifyPersonally } from './personal.js';
import { deliverPrivately, usableInteraction } from './private-delivery.js';

/** Where the status message of a job lives: `extra.statusChannelId` (a thread), else the target channel. */
export function statusLocation(target: DeliveryTarget): { channelId: string; messageId: string } | undefined {
  if (!target.statusMessageId) return undefined;
  return { channelId: target.extra?.statusChannelId ?? target.channelId, messageId: target.statusMessageId };
}

/** Whether a status is final: its message then has no Cancel button. */
function isFinal(state: StatusState): boolean {
  return state.kind === 'done' || state.kind === 'failed';
}

/**
 * Edits a status message with the bot token (never an interaction token: status messages outlive them). `via`: where
 * a done image went when the channel refused it. `jobId`, when known, puts a Cancel button on it while the job is
 * queued or running; a final state removes it.
 */
export async function renderStatus(
  rest: REST,
  at: { channelId: string; messageId: string },
  header: string,
  state: StatusState,
  via?: DeliveredMessage['via'],
  jobId?: string,
): Promise<void> {
  const components = isFinal(state) ? [] : jobId !== undefined && state.kind !== 'submitting' ? cancelButtons(jobId) : undefined;
  await rest.patch(Routes.channelMessage(at.channelId, at.messageId), {
    body: { content: statusText(header, state, via), allowed_mentions: { parse: [] }, ...(components ? { components } : {}) },
  });
}

/**
 * The Discord side of delivery, on the REST API with the bot token only, so any worker process can run it without a
 * gateway connection. Images go into the job's thread: the thread the command was used in, or one started on the
 * status message; when Discord refuses the thread (no permission, or a channel without threads), into the channel
 * as a reply to the status message. When the channel refuses the image itself for good, `deliver` throws
 * DeliveryRefused and the worker calls `deliverPrivately` (see private-delivery.ts).
 */
export class DiscordDelivery implements DeliveryPort {
  constructor(
    private readonly rest: REST,
    private readonly logger: Logger,
    /** Remembers posted follow-ups, so a re-run of a job posts its follow-up once (see followups.ts). */
    private readonly followups?: FollowupMemo,
  ) {}

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    try {
      if (isPersonalTarget(d.target)) return await deliverPersonally(this.rest, this.logger, d, deliveryNonce(d.jobId), this.followups);
      return await this.post(d);
    } catch (err) {
      // No access, archived, locked, blocked...: asking again cannot help. The worker sends the image privately.
      throw asDeliveryRefusal(err);
    }
  }

  /** The image for the person alone, after the channel refused it: an ephemeral follow-up or a DM. */
  deliverPrivately(d: DeliveryRequest, refused: DeliveryRefused): Promise<DeliveredMessage> {
    return deliverPrivately(this.rest, this.logger, d, refused, deliveryNonce(d.jobId), this.followups);
  }

  /**
   * Adds the buttons (Reroll, Edit, Vary, Delete) and the 🔄 affordance now that the record exists, so a click or a
   * reaction never arrives before the record that makes it work, and marks the status message done. An image given to
   * the person alone (personal use, or privately after the channel refused it) gets the buttons but no 🔄 (nobody can
   * react to an ephemeral message, and reactions in DMs do not reach the bot); a kept one gets neither. The status
   * message of an image that went elsewhere says where it went, when it can still be edited at all.
   */
  async afterRecorded(message: DeliveredMessage, d: RecordedDelivery): Promise<void> {
    const personal = isPersonalTarget(d.target);
    if (personal || message.via === 'private') await this.privateButtons(message, d);
    if (personal) return;
    const origin = originOf(d.target.extra, d.rerollOf);
    if (message.via) return this.status(d.target, d.requester, d.request, origin, { kind: 'done' }, message.via);
    const channelId = message.threadId ?? message.channelId;
    const buttons = this.rest.patch(Routes.channelMessage(channelId, message.messageId), { body: { components: imageButtons(d.jobId, d.imageCount) } });
    const react = this.rest.put(Routes.channelMessageOwnReaction(channelId, message.messageId, encodeURIComponent(REROLL_EMOJI)));
    const results = await Promise.allSettled([buttons, react, this.status(d.target, d.requester, d.request, origin, { kind: 'done' })]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * The buttons of an image given to the person alone. A follow-up is the interaction's message: only its token may
   * edit it, and only while it lives (the job's `extra` carries it; the record never does). A DM is the bot's own
   * message. Either way the image is delivered: an edit that cannot be made (the token expired, 50027) is logged, no
   * failure.
   */
  private async privateButtons(message: DeliveredMessage, d: RecordedDelivery): Promise<void> {
    const body = { components: imageButtons(d.jobId, d.imageCount) };
    const log = this.logger.child({ jobId: d.jobId, messageId: message.messageId });
    try {
      if (!message.followUp) {
        await this.rest.patch(Routes.channelMessage(message.channelId, message.messageId), { body });
        return;
      }
      const interaction = usableInteraction(d.target);
      if (!interaction) return log.info('interaction token too old to add the buttons to the follow-up');
      await this.rest.patch(Routes.webhookMessage(interaction.applicationId, interaction.token, message.messageId), { body, auth: false });
    } catch (err) {
      if (isDiscordError(err, INVALID_WEBHOOK_TOKEN)) log.info('interaction token expired before the buttons could be added');
      else log.warn({ err }, 'could not add the buttons to a privately given image');
    }
  }

  private async post(d: DeliveryRequest): Promise<DeliveredMessage> {
    const where = await this.destination(d.target, d.request.prompt);
    const { body, files, withheld } = imageMessage(d);
    const message = (await this.rest.post(Routes.channelMessages(where.channelId), {
      body: {
        ...body,
        allowed_mentions: { users: [d.requester.userId] },
        ...(where.replyTo ? { message_reference: { message_id: where.replyTo, fail_if_not_exists: false } } : {}),
        // A job re-run after a crash between posting and checkpointing posts with the same nonce: Discord answers the
        // message it already created instead of posting the image twice.
        nonce: deliveryNonce(d.jobId),
        enforce_nonce: true,
      },
      files,
    })) as APIMessage;
    if (withheld) this.logger.info({ jobId: d.jobId }, 'NSFW-flagged image withheld in a non-NSFW channel');
    return { platform: 'discord', messageId: message.id, channelId: d.target.channelId, threadId: where.threadId };
  }

  /** Tells the person why no image came: in the thread when there is one, and on the status message. */
  async notifyFailure(job: { jobId: string; requester: Requester; target: DeliveryTarget; request: FluxRequest }, error: FluxError): Promise<void> {
    if (isPersonalTarget(job.target)) {
      const text = failureText(job.requester.userId, error.userMessage);
      return notifyPersonally(this.rest, this.logger, job.target, job.requester.userId, text, deliveryNonce(`${job.jobId}:failure`), job.jobId);
    }
    const status = this.status(job.target, job.requester, job.request, originOf(job.target.extra), { kind: 'failed', reason: error.userMessage });
    const inThread = job.target.threadId ?? (job.target.statusMessageId ? undefined : job.target.channelId);
    const post = inThread
      ? this.rest.post(Routes.channelMessages(inThread), {
          body: { content: failureText(job.requester.userId, error.userMessage), allowed_mentions: { users: [job.requester.userId] } },
        })
      : Promise.resolve();
    await Promise.all([status, post]);
  }

  private async status(target: DeliveryTarget, requester: Requester, request: FluxRequest, origin: JobOrigin, state: StatusState, via?: DeliveredMessage['via']): Promise<void> {
    const at = statusLocation(target);
    if (!at) return;
    try {
      await renderStatus(this.rest, at, statusHeader(requester.userId, request.prompt, origin), state, via);
    } catch (err) {
      // The status message may have been deleted by a moderator, or the channel that refused the image refuses this
      // edit too; the image itself is what matters.
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
