import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction, type ModalSubmitInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { ALREADY_ACKNOWLEDGED, isDiscordError } from './discord-errors.js';
import type { DiscordServices } from './services.js';

type Acknowledgeable = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction;

/** `reply`: an ephemeral deferred reply (a command, a modal); `update`: a deferred update (a click: the message stays). */
export type AckKind = 'reply' | 'update';

/**
 * The ack, from the ack thread when there is one (see ack-thread.ts), else through discord.js. False when the
 * interaction is not ours to answer: a second delivery of the same interaction finds it acknowledged (the first one
 * owns it, and its dedupe key would charge it once anyway); any other failure means Discord no longer takes an answer
 * (too late, or unreachable): nothing was submitted, so nothing is charged.
 */
export async function acknowledgeOnce(svc: DiscordServices, interaction: Acknowledgeable, kind: AckKind, log: Logger): Promise<boolean> {
  const outcome = await svc.acker?.defer(interaction.id, interaction.token, kind === 'reply' ? MessageFlags.Ephemeral : 0, kind === 'reply' ? 5 : 6);
  if (outcome?.ok === true) return markDeferred(interaction, kind);
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
    if (kind === 'update' && interaction.isButton()) await interaction.deferUpdate();
    else await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    return true;
  } catch (err) {
    if (isDiscordError(err, ALREADY_ACKNOWLEDGED)) {
      // The ack thread's callback had landed after all (the thread died, or its answer never came back): ours.
      if (mayHaveLanded) return markDeferred(interaction, kind);
      log.info('duplicate interaction ignored');
    } else {
      log.warn({ err }, 'could not acknowledge the interaction');
    }
    return false;
  }
}

/** What discord.js's deferReply / deferUpdate record after their own callback, so editReply and followUp work as usual. */
function markDeferred(interaction: Acknowledgeable, kind: AckKind): true {
  interaction.deferred = true;
  if (kind === 'reply') interaction.ephemeral = true;
  return true;
}
