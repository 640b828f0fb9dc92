import {
  ComponentType,
  messageLink,
  MessageFlags,
  Routes,
  type APIChannel,
  type APIMessage,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { Logger } from 'pino';
import { submitText } from '../../commands/replies.js';
import { downloadBytes } from '../../core/images/download.js';
import { REFERENCE_LIMITS } from '../../core/images/image.js';
import type { DeliveryTarget } from '../../core/ports.js';
import { actionText, EDIT_AGAIN_TEXT } from './action-text.js';
import { isDiscordHost } from './attachment-images.js';
import { isDiscordError, THREAD_EXISTS } from './discord-errors.js';
import { discordTime, queuedReply, statusHeader, statusText, threadName } from './discord-text.js';
import { channelIsNsfw, deleteStatus, showQueued } from './flux-command.js';
import { EDIT_MODEL_INPUT, EDIT_PROMPT_INPUT, editModalWithId } from './image-buttons.js';
import { acknowledge, answerAtOnce, answerError, tell, textInput } from './image-clicks.js';
import { messageImages, type MessageImage } from './message-images.js';
import { isPersonal, personalSubmitText, personalTarget, placedRequester } from './personal.js';
import { interactionExtra } from './private-delivery.js';
import type { DiscordServices, StatusMessage } from './services.js';
import { SPREAD, spreadName } from '../../core/key-space.js';

/**
 * "Edit with FLUX", the message command: on a message with one image, the Edit modal at once; with several, a select
 * to pick one first; with none, a private answer. What the modal needs (the message's image links, where it is) is
 * kept in Redis for 15 minutes under the command's interaction id (a `custom_id` holds 100 characters), so the flow
 * survives a restart; the links come from the interaction itself, which carries the message whole (a bot without the
 * Message Content intent could not read it back). The edit is charged to the person; it goes to the message's thread,
 * or a new thread on the message, with a status message as /flux has; in personal use, through the interaction.
 */

export const NO_IMAGES_TEXT = 'This message has no image I can edit (attach one, or use it on a message with an image). Nothing was charged.';
export const PICK_TEXT = 'This message has several images: which one should I edit?';
export const PICK_EXPIRED_TEXT = 'This Edit with FLUX has expired; use it on the message again. Nothing was charged.';

/** What Edit with FLUX keeps about its message between the command and the modal. */
interface ImagePick {
  /** Who used the command: only they may go on with it (a forged select or modal of someone else's is refused). */
  userId: string;
  channelId: string;
  messageId: string;
  /** The message's existing thread (the message's own id), or the thread the message is in. */
  threadId?: string;
  images: MessageImage[];
}

const PICK_TTL_SECONDS = 15 * 60;
const SELECT_ID = /^flux:pick:(\d{1,20})$/;
const MODAL_ID = /^flux:msg-edit:(\d{1,20}):(\d{1,2}):(\d{1,20})$/;

const pickKey = (svc: DiscordServices, id: string) => `${spreadName(svc.core.prefix)}:${SPREAD.pick}:{${id}}`;
const modalId = (pickId: string, index: number, openerId: string) => `flux:msg-edit:${pickId}:${index}:${openerId}`;

export function isEditWithFluxModal(customId: string): boolean {
  return customId.startsWith('flux:msg-edit:');
}

/** The message command: the modal, the select, or why not. */
export async function runEditWithFlux(svc: DiscordServices, interaction: MessageContextMenuCommandInteraction): Promise<void> {
  const log = svc.logger.child({ interactionId: interaction.id, command: interaction.commandName, user: interaction.user.id });
  const message = interaction.targetMessage;
  const images = messageImages(message);
  if (images.length === 0) return answerAtOnce(interaction, NO_IMAGES_TEXT, log);
  const inThread = interaction.channel?.isThread() ?? false;
  const threadId = inThread ? message.channelId : message.hasThread ? message.id : undefined;
  const pick: ImagePick = { userId: interaction.user.id, channelId: message.channelId, messageId: message.id, ...(threadId ? { threadId } : {}), images };
  try {
    await svc.core.redis.set(pickKey(svc, interaction.id), JSON.stringify(pick), 'EX', PICK_TTL_SECONDS);
  } catch (err) {
    log.error({ err }, 'could not keep the images of the message');
    return answerAtOnce(interaction, PICK_EXPIRED_TEXT, log);
  }
  try {
    if (images.length === 1) {
      await interaction.showModal(editModalWithId(modalId(interaction.id, 0, interaction.id), svc.core.actions.editModel));
      return;
    }
    await interaction.reply({
      content: PICK_TEXT,
      flags: MessageFlags.Ephemeral,
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.StringSelect,
              custom_id: `flux:pick:${interaction.id}`,
              placeholder: 'Choose an image',
              options: images.map((image, i) => ({ label: `Image ${i + 1}`.concat(image.name ? ` (${image.name})` : '').slice(0, 100), value: String(i) })),
            },
          ],
        },
      ],
    });
  } catch (err) {
    log.warn({ err }, 'could not answer Edit with FLUX');
  }
}

/** The select of several images: the Edit modal for the one picked. */
export async function pickImage(svc: DiscordServices, interaction: StringSelectMenuInteraction): Promise<void> {
  const log = svc.logger.child({ interactionId: interaction.id, select: interaction.customId, user: interaction.user.id });
  const pickId = SELECT_ID.exec(interaction.customId)?.[1];
  const index = Number(interaction.values[0]);
  if (pickId === undefined || !Number.isInteger(index) || index < 0) return answerAtOnce(interaction, PICK_EXPIRED_TEXT, log);
  try {
    await interaction.showModal(editModalWithId(modalId(pickId, index, interaction.id), svc.core.actions.editModel));
  } catch (err) {
    log.warn({ err }, 'could not open the edit modal');
  }
}

/** The modal's submission: the picked image stored as a reference image, and an edit of it charged to the person. */
export async function submitEditWithFlux(svc: DiscordServices, interaction: ModalSubmitInteraction): Promise<void> {
  const log = svc.logger.child({ interactionId: interaction.id, modal: interaction.customId, user: interaction.user.id });
  const match = MODAL_ID.exec(interaction.customId);
  if (!(await acknowledge(svc, interaction, log))) return;
  await svc.acks.idle();
  try {
    const raw = match ? await svc.core.redis.get(pickKey(svc, match[1]!)) : null;
    const pick = raw === null ? undefined : (JSON.parse(raw) as ImagePick);
    const image = pick?.userId === interaction.user.id ? pick.images[Number(match![2])] : undefined;
    if (!pick || !image) return await tell(interaction, PICK_EXPIRED_TEXT, log);
    const prompt = textInput(interaction, EDIT_PROMPT_INPUT) ?? '';
    const model = textInput(interaction, EDIT_MODEL_INPUT);
    const reference = await storeImage(svc, image);
    const requester = placedRequester(interaction);
    const personal = isPersonal(interaction);
    let status: StatusMessage | undefined;
    const header = statusHeader(requester.userId, prompt, 'edit');
    const target = personal
      ? personalTarget(interaction, { action: 'edit' })
      : async (): Promise<DeliveryTarget> => {
          const placed = await placeStatus(svc, pick, header, prompt, log);
          status = placed.status;
          const limit = interaction.attachmentSizeLimit;
          return {
            ...placed.target,
            ...(Number.isInteger(limit) && limit > 0 ? { maxUploadBytes: limit } : {}),
            nsfwAllowed: channelIsNsfw(interaction.channel),
            extra: { statusChannelId: placed.status.channelId, action: 'edit', ...interactionExtra(interaction) },
          };
        };
    let result;
    try {
      result = await svc.core.actions.editImage(reference, requester, { dedupeKey: `discord:modal:${match![3]!}`, prompt, model, target });
    } catch (err) {
      if (status) await deleteStatus(svc, status, log);
      throw err;
    }
    if (result.status === 'duplicate') return await tell(interaction, EDIT_AGAIN_TEXT, log);
    if (result.status !== 'queued') return await tell(interaction, personal && 'reason' in result ? personalSubmitText(result) : actionText(result), log);
    log.info({ jobId: result.jobId }, 'edit with FLUX queued');
    const text = submitText(result, discordTime).text;
    if (!status) return await tell(interaction, text, log);
    await showQueued(svc, result.jobId, status, text, log);
    await tell(interaction, queuedReply(text, messageLink(status.channelId, status.messageId, interaction.guildId ?? '@me')), log);
  } catch (err) {
    await answerError(interaction, err, log);
  }
}

/**
 * Downloads and stores the picked image: from Discord's CDN as attachments are; an embed's image on another host
 * through the guarded downloader (private addresses refused unless ALLOW_PRIVATE_URLS).
 */
async function storeImage(svc: DiscordServices, image: MessageImage): Promise<string> {
  const label = { index: 1, name: image.name };
  if (!isDiscordHost(image.url, new URL(svc.config.DISCORD_API_URL).host)) return (await svc.core.references.storeLink(image.url, label)).reference;
  const download = () => downloadBytes(image.url, { maxBytes: REFERENCE_LIMITS.maxBytes, timeoutMs: 30_000, source: 'Discord attachment' });
  return (await svc.core.references.store(download, label)).reference;
}

/**
 * Where the edit goes, once admitted: the message's thread (the one it is in, or already has), else a new thread on
 * the message, with the status message in it. When Discord refuses the thread, the status message goes into the
 * channel, and the delivery starts its thread on that, as for /flux.
 */
async function placeStatus(
  svc: DiscordServices,
  pick: ImagePick,
  header: string,
  prompt: string,
  log: Logger,
): Promise<{ status: StatusMessage; target: Pick<DeliveryTarget, 'platform' | 'channelId' | 'threadId' | 'statusMessageId'> }> {
  const threadId = pick.threadId ?? (await startThread(svc, pick, prompt, log));
  const channelId = threadId ?? pick.channelId;
  const posted = (await svc.rest.post(Routes.channelMessages(channelId), {
    body: { content: statusText(header, { kind: 'submitting' }), allowed_mentions: { parse: [] } },
  })) as APIMessage;
  const status: StatusMessage = { channelId, messageId: posted.id, header };
  return { status, target: { platform: 'discord', channelId: pick.channelId, statusMessageId: posted.id, ...(threadId ? { threadId } : {}) } };
}

/** A thread on the message (its id is the message's); undefined when Discord refuses one here. */
async function startThread(svc: DiscordServices, pick: ImagePick, prompt: string, log: Logger): Promise<string | undefined> {
  try {
    const thread = (await svc.rest.post(Routes.threads(pick.channelId, pick.messageId), { body: { name: threadName(prompt), auto_archive_duration: 1440 } })) as APIChannel;
    return thread.id;
  } catch (err) {
    if (isDiscordError(err, THREAD_EXISTS)) return pick.messageId;
    if (isDiscordError(err) && err.status >= 400 && err.status < 500) {
      log.info({ status: err.status, code: err.code }, 'cannot start a thread on the message; status in the channel');
      return undefined;
    }
    throw err;
  }
}
