import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOption,
  type APIApplicationCommandSubcommandOption,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { CommandDefinition, CommandOption, OptionType, Subcommand } from '../../commands/definition.js';
import { fluxAdminCommand } from '../../commands/flux-admin.js';
import { fluxHistoryCommand } from '../../commands/flux-history.js';
import { fluxCommand, fluxQuotaCommand } from '../../commands/flux.js';

/** The commands this bot offers, as platform-neutral definitions. */
export const DISCORD_COMMANDS: readonly CommandDefinition[] = [fluxCommand, fluxQuotaCommand, fluxHistoryCommand, fluxAdminCommand];

/** What admin-only commands require by default (Discord hides them from others; the bot checks again on each call). */
export const ADMIN_PERMISSION = PermissionFlagsBits.ManageGuild;

const OPTION_TYPES: Record<OptionType, ApplicationCommandOptionType> = {
  string: ApplicationCommandOptionType.String,
  integer: ApplicationCommandOptionType.Integer,
  number: ApplicationCommandOptionType.Number,
  boolean: ApplicationCommandOptionType.Boolean,
  attachment: ApplicationCommandOptionType.Attachment,
  user: ApplicationCommandOptionType.User,
};

/** One option as Discord JSON: typed, with choices, min/max values and max length where the definition has them. */
export function toDiscordOption(option: CommandOption): APIApplicationCommandBasicOption {
  const json: Record<string, unknown> = {
    type: OPTION_TYPES[option.type],
    name: option.name,
    description: option.description,
    required: option.required ?? false,
  };
  if (option.choices) json.choices = option.choices.map((c) => ({ name: c, value: c }));
  if (option.min !== undefined) json.min_value = option.min;
  if (option.max !== undefined) json.max_value = option.max;
  if (option.maxLength !== undefined) json.max_length = option.maxLength;
  return json as unknown as APIApplicationCommandBasicOption;
}

/** Discord lists required options before optional ones (it refuses the command otherwise). */
function ordered(options: readonly CommandOption[]): CommandOption[] {
  return [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
}

/** Subcommands, those of a group nested in one SUB_COMMAND_GROUP option where the group first appears. */
function subcommandOptions(subs: readonly Subcommand[]): APIApplicationCommandOption[] {
  const out: APIApplicationCommandOption[] = [];
  const groups = new Map<string, APIApplicationCommandSubcommandOption[]>();
  for (const sub of subs) {
    const option: APIApplicationCommandSubcommandOption = {
      type: ApplicationCommandOptionType.Subcommand,
      name: sub.name,
      description: sub.description,
      options: ordered(sub.options).map(toDiscordOption) as APIApplicationCommandBasicOption[],
    };
    if (!sub.group) {
      out.push(option);
      continue;
    }
    let members = groups.get(sub.group);
    if (!members) {
      members = [];
      groups.set(sub.group, members);
      out.push({ type: ApplicationCommandOptionType.SubcommandGroup, name: sub.group, description: `${sub.group[0]!.toUpperCase()}${sub.group.slice(1)}`, options: members });
    }
    members.push(option);
  }
  return out;
}

/**
 * A command definition as a Discord chat-input command. Admin-only commands get `default_member_permissions` =
 * Manage Server, which only hides them: the handler checks the caller's permissions again on every call.
 */
export function toDiscordCommand(def: CommandDefinition): RESTPutAPIApplicationCommandsJSONBody[number] {
  const options: APIApplicationCommandOption[] = def.subcommands ? subcommandOptions(def.subcommands) : ordered(def.options ?? []).map(toDiscordOption);
  return {
    type: ApplicationCommandType.ChatInput,
    name: def.name,
    description: def.description,
    ...(options.length > 0 ? { options } : {}),
    default_member_permissions: def.adminOnly ? ADMIN_PERMISSION.toString() : null,
    ...(def.adminOnly ? SERVER_ONLY : EVERYWHERE),
  };
}

/**
 * Where a command is offered. Everyone's commands: installed to a server or to a person, and used in servers, in the
 * DM with the bot and in other DMs (personal use, answered through the interaction: see personal.ts). Admin commands
 * manage a server's quotas: a server install, in that server only.
 */
const EVERYWHERE = {
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
};
const SERVER_ONLY = { integration_types: [ApplicationIntegrationType.GuildInstall], contexts: [InteractionContextType.Guild] };

/** The message context-menu command (right-click a message → Apps) that edits an image of that message. */
export const EDIT_WITH_FLUX = 'Edit with FLUX';

/** The registration payload: every command, generated from the definitions, and the Edit with FLUX message command. */
export function discordCommandPayload(defs: readonly CommandDefinition[] = DISCORD_COMMANDS): RESTPutAPIApplicationCommandsJSONBody {
  return [...defs.map(toDiscordCommand), { type: ApplicationCommandType.Message, name: EDIT_WITH_FLUX, default_member_permissions: null, ...EVERYWHERE }];
}
