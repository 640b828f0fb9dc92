import type { Interaction } from 'discord.js';
import { runAdmin, runQuota } from './admin-commands.js';
import { acknowledgeOnce } from './acknowledge.js';
import { GUILD_ONLY_TEXT, UNKNOWN_COMMAND_TEXT } from './discord-text.js';
import { isEditWithFluxModal, pickImage, runEditWithFlux, submitEditWithFlux } from './edit-with-flux.js';
import { runFlux, runPersonalFlux } from './flux-command.js';
import { isPersonal } from './personal.js';
import { runHistory } from './history-command.js';
import { handleButton, handleEditModal } from './image-clicks.js';
import { replyPrivately, unexpectedText, type DiscordServices } from './services.js';

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
    acked = await acknowledgeOnce(svc, interaction, 'reply', log);
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
