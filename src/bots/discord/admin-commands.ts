import { subcommandName } from '../../commands/definition.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { Logger } from 'pino';
import { fluxAdminCommand, runAdminCommand, runQuotaCommand, type AdminInput, type AdminSubcommand } from '../../commands/flux-admin.js';
import { ADMIN_PERMISSION } from './commands.js';
import { discordTime } from './discord-text.js';
import { optionValues } from './flux-input.js';
import { placedRequester } from './personal.js';
import { replyPrivately, requesterOf, type DiscordServices } from './services.js';

type GuildInteraction = ChatInputCommandInteraction<'cached' | 'raw'>;

/** `/flux-quota`: the caller's own usage, privately, and how many images are kept for them (see /flux-history). */
export async function runQuota(svc: DiscordServices, interaction: ChatInputCommandInteraction, log: Logger): Promise<void> {
  // In a server that installed the bot, the server's quota; anywhere else, the DM bucket's (personal.ts).
  const reply = await runQuotaCommand(svc.core.admin, placedRequester(interaction), discordTime, svc.core.history);
  await replyPrivately(interaction, reply.text, log);
}

/**
 * Whether the caller may manage quotas: Manage Server (or Administrator, which implies it) in the member permissions
 * Discord sent with this very interaction. `default_member_permissions` only hides the command in clients; a
 * member can still invoke it (an admin may have changed the command's permissions, or a client may skip the check),
 * so it is decided here on every call.
 */
export function isServerAdmin(interaction: GuildInteraction): boolean {
  return interaction.memberPermissions?.has(ADMIN_PERMISSION, true) ?? false;
}

/** `/flux-admin <subcommand>`: the admin quota service, privately. Non-admins are refused before anything is read. */
export async function runAdmin(svc: DiscordServices, interaction: GuildInteraction, log: Logger): Promise<void> {
  const group = interaction.options.getSubcommandGroup(false);
  const name = interaction.options.getSubcommand(true);
  const subcommand = (group ? `${group} ${name}` : name) as AdminSubcommand;
  const def = fluxAdminCommand.subcommands?.find((s) => subcommandName(s) === subcommand);
  // A grouped subcommand's options sit one level deeper (group → subcommand → options).
  const top = interaction.options.data[0];
  const data = (group ? top?.options?.[0]?.options : top?.options) ?? [];
  const values = def ? optionValues(data, def.options) : new Map();
  const num = (name: string) => (typeof values.get(name) === 'number' ? (values.get(name) as number) : undefined);
  const str = (name: string) => (typeof values.get(name) === 'string' ? (values.get(name) as string) : undefined);
  const input: AdminInput = {
    subcommand,
    user: str('user'),
    daily: num('daily'),
    concurrent: num('concurrent'),
    amount: num('amount'),
    reason: str('reason'),
    monthly: num('monthly'),
    person_daily: num('person_daily'),
  };
  const isAdmin = isServerAdmin(interaction);
  if (!isAdmin) log.info({ subcommand }, 'flux-admin refused: no Manage Server permission');
  const reply = await runAdminCommand(
    { admin: svc.core.admin, actor: requesterOf(interaction.guildId, interaction.user), isAdmin, time: discordTime },
    input,
  );
  await replyPrivately(interaction, reply.text, log);
}
