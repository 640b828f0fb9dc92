import {
  MessageFlags,
  messageLink,
  PermissionFlagsBits,
  Routes,
  type APIMessage,
  type ButtonInteraction,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { Logger } from 'pino';
import { InvalidInput } from '../../core/errors.js';
import type { DeliveryTarget, Requester } from '../../core/ports.js';
import type { RerollResult } from '../../core/queue/generation-service.js';
import type { JobRecord } from '../../core/jobs/job-records.js';
import type { ActionResult, ImageRef } from '../../core/queue/image-actions.js';
import {
  actionText,
  cancelText,
  canceledReason,
  DELETED_TEXT,
  deleteText,
  EDIT_AGAIN_TEXT,
  noSuchImageText,
  NOT_FOUND_TEXT,
  OTHER_GUILD_TEXT,
  OTHER_PLACE_FROM_PERSONAL_TEXT,
  OTHER_PLACE_PERSONAL_TEXT,
  UNKNOWN_BUTTON_TEXT,
} from './action-text.js';
import { ADMIN_PERMISSION } from './commands.js';
import { renderStatus } from './discord-delivery.js';
import { acknowledgeOnce } from './acknowledge.js';
import { ALREADY_ACKNOWLEDGED, isDiscordError, isPermanentRefusal } from './discord-errors.js';
import { DISCORD_DM_BUCKET } from './dm-bucket.js';
import { discordTime, GUILD_ONLY_TEXT, invalidInputText, queuedReply, statusHeader, statusText, type JobOrigin } from './discord-text.js';
import { deleteStatus, showQueued } from './flux-command.js';
import { EDIT_MODEL_INPUT, EDIT_PROMPT_INPUT, editModal, parseButtonId, parseEditModalId } from './image-buttons.js';
import { messageImage } from './image-source.js';
import { isPersonal, personalSubmitText, personalTarget, placedRequester } from './personal.js';
import { interactionExtra } from './private-delivery.js';
import { INTERACTION_TOKEN_USE_MS, unexpectedText, type DiscordServices, type StatusMessage } from './services.js';
import { submitText } from '../../commands/replies.js';

type Answerable = ButtonInteraction | ModalSubmitInteraction;
/** Anything the bot may answer with an ephemeral reply as its ack. */
type Repliable = Answerable | MessageContextMenuCommandInteraction | StringSelectMenuInteraction;

/**
 * A click on one of the bot's buttons (Reroll, Edit, Vary, Delete under an image; Cancel on a status message). The
 * click is acknowledged first, before any slower work: a deferred update (the message stays as it is), or for Edit
 * the modal. Every answer after that is private (an ephemeral follow-up). What a button needs is read from the job
 * record of the message it is on, so it works after restarts and on messages the client never cached; the click's id
 * is the dedupe key, so a replayed click is charged once.
 */
export async function handleButton(svc: DiscordServices, interaction: ButtonInteraction): Promise<void> {
  const log = svc.logger.child({ interactionId: interaction.id, button: interaction.customId, user: interaction.user.id });
  const parsed = parseButtonId(interaction.customId);
  const personal = isPersonal(interaction);
  if (!parsed || (!personal && !interaction.inGuild())) {
    log.info('unknown button or outside a server');
    return answerAtOnce(interaction, parsed ? GUILD_ONLY_TEXT : UNKNOWN_BUTTON_TEXT, log);
  }
  if (parsed.action === 'edit') return openEdit(svc, interaction, parsed.jobId, parsed.image, log);
  if (!(await acknowledge(svc, interaction, log))) return;
  await svc.acks.idle();
  const ref: ImageRef = { platform: 'discord', messageId: interaction.message.id };
  try {
    switch (parsed.action) {
      case 'reroll':
      case 'vary':
        return await submitAction(svc, interaction, parsed.action, parsed.jobId, parsed.image, log);
      case 'delete':
        return await deleteImage(svc, interaction, ref, parsed.jobId, log);
      case 'cancel':
        return await cancel(svc, interaction, placedRequester(interaction), parsed.jobId, log);
    }
  } catch (err) {
    log.error({ err }, 'button failed');
    await tell(interaction, unexpectedText(err), log);
  }
}

/**
 * Who acts, and how what they make reaches them. In a server that installed the bot: its member, with a status
 * message where the image is. In personal use (a DM, a server where only the person installed it): the person in the
 * DM bucket, and what they make comes through their click or modal (follow-ups, then a DM), as /flux's image does
 * there. A server's image given privately (its channel refused it: a DM) stays that server's when its own requester
 * clicks it in the DM.
 */
interface ClickPlace {
  requester: Requester;
  personal: boolean;
}

function placeClick(interaction: ButtonInteraction | ModalSubmitInteraction, record: JobRecord | undefined): ClickPlace {
  const requester = placedRequester(interaction);
  if (!isPersonal(interaction)) return { requester, personal: false };
  const own = record?.via === 'private' && record.requester.platform === 'discord' && record.requester.userId === requester.userId;
  return { requester: own ? { ...requester, guildId: record.requester.guildId } : requester, personal: true };
}

/**
 * Why an image of another place than the click's is refused, in words that say which: personal use (the DM bucket)
 * and a server are never the same place, whichever way round.
 */
function otherPlaceText(place: ClickPlace, owner: string | undefined): string {
  if (place.requester.guildId === DISCORD_DM_BUCKET) return OTHER_PLACE_PERSONAL_TEXT;
  return owner === DISCORD_DM_BUCKET ? OTHER_PLACE_FROM_PERSONAL_TEXT : OTHER_GUILD_TEXT;
}

/**
 * Delete: by the requester, or, in a server that installed the bot, by someone who may manage messages there (in
 * personal use nobody manages the bot's messages). A follow-up (an image given through an interaction) is deleted
 * with the click's own token: after the deferred update, the message the button is on is the click's original
 * message. Anything else is the bot's own message.
 */
async function deleteImage(svc: DiscordServices, interaction: ButtonInteraction, ref: ImageRef, jobId: string, log: Logger): Promise<void> {
  const record = await svc.core.records.find('discord', ref.messageId);
  const place = placeClick(interaction, record);
  const canManage = !place.personal && (interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages, true) ?? false);
  const result = await svc.core.actions.delete(ref, place.requester, { canManage, jobId });
  if (result.status !== 'allowed') return tell(interaction, result.status === 'other_guild' ? otherPlaceText(place, record?.requester.guildId) : deleteText(result), log);
  if (interaction.message.webhookId) await svc.rest.delete(Routes.webhookMessage(interaction.applicationId, interaction.token, '@original'), { auth: false });
  else await svc.rest.delete(Routes.channelMessage(result.channelId, result.messageId));
  await svc.core.actions.forget(ref);
  log.info('image deleted');
  return tell(interaction, DELETED_TEXT, log);
}

/**
 * The Edit modal's submission: an edit of the image (the modal's id names it, and the click that opened it), charged
 * to the person, delivered where the image is. The click's id is the dedupe key: the same modal submitted twice is
 * one edit, charged once.
 */
export async function handleEditModal(svc: DiscordServices, interaction: ModalSubmitInteraction): Promise<void> {
  const log = svc.logger.child({ interactionId: interaction.id, modal: interaction.customId, user: interaction.user.id });
  const parsed = parseEditModalId(interaction.customId);
  if (!parsed || (!isPersonal(interaction) && !interaction.inGuild())) return answerAtOnce(interaction, parsed ? GUILD_ONLY_TEXT : UNKNOWN_BUTTON_TEXT, log);
  if (!(await acknowledge(svc, interaction, log))) return;
  await svc.acks.idle();
  const prompt = textInput(interaction, EDIT_PROMPT_INPUT) ?? '';
  const model = textInput(interaction, EDIT_MODEL_INPUT);
  try {
    const record = await svc.core.records.find('discord', parsed.messageId);
    const place = placeClick(interaction, record);
    const requester = place.requester;
    const missing = missingImage(record, parsed.jobId, requester, parsed.image);
    if (missing !== undefined) return await tell(interaction, missing, log);
    const channelId = record ? (record.threadId ?? record.channelId) : (interaction.channelId ?? '');
    const { result, status } = await withTarget(svc, interaction, place, channelId, statusHeader(requester.userId, prompt, 'edit'), 'edit', log, (target) =>
      svc.core.actions.edit({ platform: 'discord', messageId: parsed.messageId }, requester, {
        dedupeKey: `discord:modal:${parsed.clickId}`,
        jobId: parsed.jobId,
        index: parsed.image - 1,
        prompt,
        model,
        image: (at) => messageImage(svc.rest, svc.config.DISCORD_API_URL, at, interaction.message),
        target,
      }),
    );
    await answerResult(svc, interaction, result, status, place, record?.requester.guildId, log);
  } catch (err) {
    await answerError(interaction, err, log);
  }
}

/**
 * Reroll or Vary of the image the button is on (Vary: image `image` of a gallery, 1-based), with a status message in
 * the image's thread once admitted. A gallery's Reroll makes the whole set again, charged to the clicker.
 */
async function submitAction(svc: DiscordServices, interaction: ButtonInteraction, action: 'reroll' | 'vary', jobId: string, image: number, log: Logger): Promise<void> {
  const ref: ImageRef = { platform: 'discord', messageId: interaction.message.id };
  try {
    const record = await svc.core.records.find('discord', ref.messageId);
    if (!record) return await tell(interaction, NOT_FOUND_TEXT, log);
    const place = placeClick(interaction, record);
    const requester = place.requester;
    const missing = action === 'vary' ? missingImage(record, jobId, requester, image) : undefined;
    if (missing !== undefined) return await tell(interaction, missing, log);
    const origin: JobOrigin = action === 'reroll' ? true : 'vary';
    const channelId = record.threadId ?? record.channelId;
    const opts = { dedupeKey: `discord:interaction:${interaction.id}`, jobId };
    const { result, status } = await withTarget(svc, interaction, place, channelId, statusHeader(requester.userId, record.request.prompt, origin), origin, log, (target) =>
      action === 'reroll'
        ? svc.core.actions.reroll(ref, requester, { ...opts, target })
        : svc.core.actions.vary(ref, requester, { ...opts, target, index: image - 1, image: (at) => messageImage(svc.rest, svc.config.DISCORD_API_URL, at, interaction.message) }),
    );
    await answerResult(svc, interaction, result, status, place, record.requester.guildId, log);
  } catch (err) {
    await answerError(interaction, err, log);
  }
}

/** The `extra` that names what a job made from an image is (its caption and status header say so). */
function originExtra(origin: JobOrigin): Record<string, string> {
  return origin === true ? { reroll: '1' } : origin === false ? {} : { action: origin };
}

type Run = (target: () => Promise<Partial<DeliveryTarget>>) => Promise<ActionResult | RerollResult>;

/**
 * Runs an action with its target: in personal use the click's own interaction (follow-ups, then a DM; no status
 * message, as the bot cannot post there), else a status message where the image is (see withStatus).
 */
async function withTarget(
  svc: DiscordServices,
  interaction: Answerable,
  place: ClickPlace,
  channelId: string,
  header: string,
  origin: JobOrigin,
  log: Logger,
  run: Run,
): Promise<{ result: ActionResult | RerollResult; status: StatusMessage | undefined }> {
  if (!place.personal) return withStatus(svc, interaction, channelId, header, origin, log, run);
  return { result: await run(() => Promise.resolve(personalTarget(interaction, originExtra(origin)))), status: undefined };
}

/**
 * Runs an action whose status message is posted once it is admitted (the target function of GenerationService.submit)
 * in `channelId`; a failure after the post removes the post again. The click's interaction travels with the job, as
 * /flux's does: should the channel refuse the image, the worker answers through it. A channel that refuses the status
 * message itself for good (where an image was given privately because the channel refused it) gets none, and the
 * image comes privately too.
 */
async function withStatus(svc: DiscordServices, interaction: Answerable, channelId: string, header: string, origin: JobOrigin, log: Logger, run: Run): Promise<{ result: ActionResult | RerollResult; status: StatusMessage | undefined }> {
  let status: StatusMessage | undefined;
  const postStatus = async (): Promise<Partial<DeliveryTarget>> => {
    const extra = { ...originExtra(origin), ...interactionExtra(interaction) };
    let posted: APIMessage;
    try {
      posted = (await svc.rest.post(Routes.channelMessages(channelId), {
        body: { content: statusText(header, { kind: 'submitting' }), allowed_mentions: { parse: [] } },
      })) as APIMessage;
    } catch (err) {
      if (!isPermanentRefusal(err)) throw err;
      log.info({ status: err.status, code: err.code }, 'the channel refuses the status message; the image will come privately');
      return { extra };
    }
    status = { channelId, messageId: posted.id, header };
    return { statusMessageId: posted.id, extra: { statusChannelId: channelId, ...extra } };
  };
  try {
    return { result: await run(postStatus), status };
  } catch (err) {
    if (status) await deleteStatus(svc, status, log);
    throw err;
  }
}

/**
 * Queued: the status message shows it (with Cancel), and the person gets a private link to it; without a status
 * message (personal use), the queue text alone. Anything else: why (the DM bucket's own refusals name it). `owner`:
 * the place of the image's record.
 */
async function answerResult(
  svc: DiscordServices,
  interaction: Answerable,
  result: ActionResult | RerollResult,
  status: StatusMessage | undefined,
  place: ClickPlace,
  owner: string | undefined,
  log: Logger,
): Promise<void> {
  if (result.status === 'queued') {
    log.info({ jobId: result.jobId, personal: place.personal }, 'queued from a button');
    const text = submitText(result, discordTime).text;
    if (!status) return tell(interaction, text, log);
    await showQueued(svc, result.jobId, status, text, log);
    const link = interaction.guildId ? messageLink(status.channelId, status.messageId, interaction.guildId) : undefined;
    return tell(interaction, queuedReply(text, link), log);
  }
  log.info({ status: result.status }, 'not queued');
  if (result.status === 'duplicate' && interaction.isModalSubmit()) return tell(interaction, EDIT_AGAIN_TEXT, log);
  if (result.status === 'other_guild') return tell(interaction, otherPlaceText(place, owner), log);
  if (result.status === 'refused' && place.requester.guildId === DISCORD_DM_BUCKET) return tell(interaction, personalSubmitText(result), log);
  return tell(interaction, actionText(result), log);
}

export async function answerError(interaction: Answerable, err: unknown, log: Logger): Promise<void> {
  if (err instanceof InvalidInput) {
    // The image could not be used (an expired reference of a reroll, a file past the limits): nothing was charged.
    log.info({ err }, 'refused: its image is not usable');
    return tell(interaction, invalidInputText(err.message), log);
  }
  log.error({ err }, 'action failed');
  return tell(interaction, unexpectedText(err), log);
}

/** Cancel on a status message: a queued job is removed and refunded at once; a running one is asked to stop. */
async function cancel(svc: DiscordServices, interaction: ButtonInteraction, requester: Requester, jobId: string, log: Logger): Promise<void> {
  const admin = interaction.memberPermissions?.has(ADMIN_PERMISSION, true) ?? false;
  const result = await svc.core.actions.cancel(jobId, requester, { admin });
  log.info({ jobId, status: result.status }, 'cancel');
  if (result.status === 'canceled') {
    // Nothing else will edit this status message (the job is gone): it says so, and loses its button. Its first line
    // is the header, whoever's process posted it.
    const header = interaction.message.content.split('\n')[0] ?? '';
    await renderStatus(svc.rest, { channelId: interaction.message.channelId, messageId: interaction.message.id }, header, { kind: 'failed', reason: canceledReason(interaction.user.id) }).catch(
      (err: unknown) => log.warn({ err }, 'could not update the status message'),
    );
  }
  await tell(interaction, cancelText(result), log);
}

/**
 * Why image `image` (1-based) of the record's message cannot be varied or edited: a V4 on a message of three images (a
 * gallery that came short, or a forged id), said before anything is posted. Undefined when it is there, or when the
 * record is not this job's or server's (the action itself then answers that).
 */
function missingImage(record: JobRecord | undefined, jobId: string, requester: Requester, image: number): string | undefined {
  if (!record || record.jobId !== jobId || record.requester.guildId !== requester.guildId) return undefined;
  const count = record.images ?? 1;
  return image > count ? noSuchImageText(image, count) : undefined;
}

/** Edit: the modal, once the image is known to be this place's (an unusable button gets its answer instead). */
async function openEdit(svc: DiscordServices, interaction: ButtonInteraction, jobId: string, image: number, log: Logger): Promise<void> {
  let refusal: string | undefined;
  try {
    const record = await svc.core.records.find('discord', interaction.message.id);
    const place = placeClick(interaction, record);
    if (!record || record.jobId !== jobId) refusal = NOT_FOUND_TEXT;
    else if (record.requester.guildId !== place.requester.guildId) refusal = otherPlaceText(place, record.requester.guildId);
    else refusal = missingImage(record, jobId, place.requester, image);
  } catch (err) {
    refusal = unexpectedText(err);
  }
  if (refusal !== undefined) return answerAtOnce(interaction, refusal, log);
  try {
    await interaction.showModal(editModal(interaction.message.id, jobId, interaction.id, svc.core.actions.editModel, image));
  } catch (err) {
    if (isDiscordError(err, ALREADY_ACKNOWLEDGED)) log.info('duplicate click ignored');
    else log.warn({ err }, 'could not open the edit modal');
  }
}

/**
 * The ack: a deferred update for a click (the message stays as it is), a deferred ephemeral reply for a modal, sent
 * from the ack thread like a command's (see acknowledge.ts). False when the interaction is not ours to answer.
 */
export async function acknowledge(svc: DiscordServices, interaction: Answerable, log: Logger): Promise<boolean> {
  svc.acks.enter();
  try {
    return await acknowledgeOnce(svc, interaction, interaction.isButton() ? 'update' : 'reply', log);
  } finally {
    svc.acks.leave();
  }
}

/** An answer that is the ack itself (an ephemeral reply): for clicks refused before any work. */
export async function answerAtOnce(interaction: Repliable, content: string, log: Logger): Promise<void> {
  try {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  } catch (err) {
    if (isDiscordError(err, ALREADY_ACKNOWLEDGED)) log.info('duplicate interaction ignored');
    else log.warn({ err }, 'could not answer the interaction');
  }
}

/** A private answer after the ack, while the interaction token lives: the deferred reply's edit, or an ephemeral follow-up. */
export async function tell(interaction: Answerable, content: string, log: Logger): Promise<void> {
  if (Date.now() - interaction.createdTimestamp >= INTERACTION_TOKEN_USE_MS) return log.warn('interaction token too old to answer; reply dropped');
  try {
    if (interaction.isModalSubmit()) await interaction.editReply({ content, allowedMentions: { parse: [] } });
    else await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
  } catch (err) {
    log.warn({ err }, 'could not answer the interaction');
  }
}

export function textInput(interaction: ModalSubmitInteraction, id: string): string | undefined {
  try {
    return interaction.fields.getTextInputValue(id);
  } catch {
    return undefined;
  }
}
