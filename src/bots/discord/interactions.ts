import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import { runAdmin, runQuota } from './admin-commands.js';
import { ALREADY_ACKNOWLEDGED, isDiscordError } from './discord-errors.js';
import { GUILD_ONLY_TEXT, UNKNOWN_COMMAND_TEXT } from './discord-text.js';
import { isEditWithFluxModal, pickImage, runEditWithFlux, submitEditWithFlux } from './edit-with-flux.js';
import { runFlux, runPersonalFlux } from './flux-command.js';
import { isPersonal } from './personal.js';
import { runHistory } from './history-command.js';
import { handleButton, handleEditModal } from './image-clicks.js';
import { replyPrivately, unexpectedText, type DiscordServices } from './services.js';

/**
 * The ephemeral defer, from the ack thread when there is one (see ack-thread.ts), else through discord.js. False when
 * the interaction is not ours to answer: a second delivery of the same interaction finds it acknowledged (the first
 * one owns it, and the dedupe key `discord:interaction:<id>` would charge it once anyway); any other failure means
 * Discord no longer takes an answer (too late, or unreachable): nothing was submitted, so nothing is charged.
 */
async function acknowledge(svc: DiscordServices, interaction: ChatInputCommandInteraction, log: Logger): Promise<boolean> {
  const outcome = await svc.acker?.defer(interaction.id, interaction.token, MessageFlags.Ephemeral);
  if (outcome?.ok === true) return markDeferred(interaction);
  // Status 0: the thread's callback timed out or its connection broke, so Discord's answer is unknown; like a `lost`
  // ack it may have landed. Both are acked again through discord.js, where "already acknowledged" then means ours.
  const mayHaveLanded = outcome?.ok === 'lost' || (outcome?.ok === false && outcome.status === 0);
  if (outcome?.ok === false && !mayHaveLanded) {
    if (outcome.code === ALREADY_ACKNOWLEDGED) log.info('duplicate interaction ignored');
    else log.warn({ status: outcome.status, code: outcome.code, reason: outcome.message }, 'could not acknowledge the interaction');
    return false;
  }
  if (outcome?.ok === false) log.warn({ reason: outcome.message }, 'no answer to the ack thread’s callback; acking through discord.js');
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    return true;
  } catch (err) {
    if (isDiscordError(err, ALREADY_ACKNOWLEDGED)) {
      // The ack thread's callback had landed after all (the thread died, or its answer never came back): ours.
      if (mayHaveLanded) return markDeferred(interaction);
      log.info('duplicate interaction ignored');
    } else {
      log.warn({ err }, 'could not acknowledge the interaction');
    }
    return false;
  }
}

/** What discord.js's deferReply records after its own callback, so editReply and followUp work as usual. */
function markDeferred(interaction: ChatInputCommandInteraction): true {
  interaction.deferred = true;
  interaction.ephemeral = true;
  return true;
}

/**
 * Handles one slash command. The ack (an ephemeral defer) goes out first, before any Redis or provider call, so
 * Discord's 3 s limit holds however slow the rest is. Whatever goes wrong afterwards is logged and answered in
 * plain words; nothing thrown here reaches the client.
 */
export async function handleInteraction(svc: DiscordServices, interaction: Interaction): Promise<void> {
  if (interaction.isButton()) return handleButton(svc, interaction);
  if (interaction.isModalSubmit()) return isEditWithFluxModal(interaction.customId) ? submitEditWithFlux(svc, interaction) : handleEditModal(svc, interaction);
  if (interaction.isStringSelectMenu()) return pickImage(svc, interaction);
  if (interaction.isMessageContextMenuCommand()) return runEditWithFlux(svc, interaction);
  if (!interaction.isChatInputCommand()) return;
  const log = svc.logger.child({ interactionId: interaction.id, command: interaction.commandName, user: interaction.user.id });
  svc.acks.enter();
  let acked: boolean;
  try {
    acked = await acknowledge(svc, interaction, log);
  } finally {
    svc.acks.leave();
  }
  if (!acked) return;
  await svc.acks.idle();
  try {
    // Personal use (a DM, a server where only the person installed the bot): answered through the interaction.
    if (isPersonal(interaction)) {
      switch (interaction.commandName) {
        case 'flux':
          return await runPersonalFlux(svc, interaction, log);
        case 'flux-quota':
          return await runQuota(svc, interaction, log);
        case 'flux-history':
          return await runHistory(svc, interaction, log);
        default:
          return await replyPrivately(interaction, GUILD_ONLY_TEXT, log);
      }
    }
    if (!interaction.inGuild()) return await replyPrivately(interaction, GUILD_ONLY_TEXT, log);
    switch (interaction.commandName) {
      case 'flux':
        return await runFlux(svc, interaction, log);
      case 'flux-quota':
        return await runQuota(svc, interaction, log);
      case 'flux-history':
        return await runHistory(svc, interaction, log);
      case 'flux-admin':
        return await runAdmin(svc, interaction, log);
      default:
        return await replyPrivately(interaction, UNKNOWN_COMMAND_TEXT, log);
    }
  } catch (err) {
    log.error({ err }, 'command failed');
    await replyPrivately(interaction, unexpectedText(err), log);
  }
}
