import { MessageFlags, type Interaction } from 'discord.js';
import { runAdmin, runQuota } from './admin-commands.js';
import { isDiscordError } from './discord-delivery.js';
import { GUILD_ONLY_TEXT, UNKNOWN_COMMAND_TEXT } from './discord-text.js';
import { runFlux } from './flux-command.js';
import { replyPrivately, unexpectedText, type DiscordServices } from './services.js';

/** Discord's "Interaction has already been acknowledged": another delivery of this interaction was handled. */
const ALREADY_ACKNOWLEDGED = 40060;

/**
 * Handles one slash command. The ack (an ephemeral defer) goes out first, before any Redis or provider call, so
 * Discord's 3 s limit holds however slow the rest is. Whatever goes wrong afterwards is logged and answered in
 * plain words; nothing thrown here reaches the client.
 */
export async function handleInteraction(svc: DiscordServices, interaction: Interaction): Promise<void> {
  if (!interaction.isChatInputCommand()) return;
  const log = svc.logger.child({ interactionId: interaction.id, command: interaction.commandName, user: interaction.user.id });
  svc.acks.enter();
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (err) {
    // A second delivery of the same interaction finds it acknowledged: the first one owns it (and the dedupe key
    // `discord:interaction:<id>` would charge it once anyway). Any other failure means Discord no longer takes an
    // answer (too late, or unreachable): nothing was submitted, so nothing is charged.
    if (isDiscordError(err, ALREADY_ACKNOWLEDGED)) log.info('duplicate interaction ignored');
    else log.warn({ err }, 'could not acknowledge the interaction');
    return;
  } finally {
    svc.acks.leave();
  }
  await svc.acks.idle();
  try {
    if (!interaction.inGuild()) return await replyPrivately(interaction, GUILD_ONLY_TEXT, log);
    switch (interaction.commandName) {
      case 'flux':
        return await runFlux(svc, interaction, log);
      case 'flux-quota':
        return await runQuota(svc, interaction, log);
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
