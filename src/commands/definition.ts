/**
 * Platform-neutral command definitions. Each adapter turns them into its own shape: Discord application-command
 * option JSON, Slack `key:value` parsing and a modal. Keeping them as data means both platforms offer exactly the
 * same fields with the same ranges.
 */
export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'attachment' | 'user';

export interface CommandOption {
  name: string;
  description: string;
  type: OptionType;
  required?: boolean;
  /** Allowed values for string options (Discord choices, Slack select). */
  choices?: readonly string[];
  min?: number;
  max?: number;
  maxLength?: number;
}

export interface Subcommand {
  name: string;
  description: string;
  options: readonly CommandOption[];
  /** A subcommand group it belongs to (`/flux-admin budget set`: group `budget`, name `set`). */
  group?: string;
}

/** A subcommand's full name: `set`, or `budget set` within a group. */
export function subcommandName(sub: Pick<Subcommand, 'name' | 'group'>): string {
  return sub.group ? `${sub.group} ${sub.name}` : sub.name;
}

export interface CommandDefinition {
  name: string;
  description: string;
  options?: readonly CommandOption[];
  subcommands?: readonly Subcommand[];
  /** Only server admins (Discord: Manage Server; Slack: admins/owners or SLACK_ADMIN_USER_IDS). Checked server-side. */
  adminOnly?: boolean;
  /** Replies only the caller sees. */
  ephemeral?: boolean;
}
