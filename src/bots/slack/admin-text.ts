import { fluxAdminCommand, type AdminInput, type AdminSubcommand } from '../../commands/flux-admin.js';
import { subcommandName, type CommandOption, type Subcommand } from '../../commands/definition.js';
import { cutGraphemes } from '../../core/text.js';
import { convert, unescapeSlack } from './flux-text.js';
import { ADMIN_USAGE_PREFIX } from './slack-text.js';

const SUBCOMMANDS: readonly Subcommand[] = fluxAdminCommand.subcommands ?? [];

/** Mentions arrive escaped (`<@U123|ada>`) when the command has "escape channels, users and links" on. */
const MENTION = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;
const USER_ID = /^[UW][A-Z0-9]{6,}$/;

export type ParsedAdminText = { ok: true; input: AdminInput } | { ok: false; text: string };

/**
 * Parses `/flux-admin show|set|reset|grant|ban|unban [<@member>|server] [daily:N] [concurrent:N] [amount] [reason…]`
 * against the subcommand definitions in src/commands (names, ranges and required options come from there).
 */
export function parseAdminText(raw: string): ParsedAdminText {
  const words = unescapeSlack(raw).trim().split(/\s+/).filter(Boolean);
  let name = words.shift()?.toLowerCase();
  // A group (`budget`) takes its subcommand from the next word: `/flux-admin budget set monthly:50`.
  if (name && SUBCOMMANDS.some((s) => s.group === name)) name = `${name} ${words.shift()?.toLowerCase() ?? ''}`.trim();
  const sub = SUBCOMMANDS.find((s) => subcommandName(s) === name);
  if (!sub) return { ok: false, text: `${name ? `Unknown subcommand \`${name}\`. ` : ''}${adminUsage()}` };
  const input: AdminInput = { subcommand: subcommandName(sub) as AdminSubcommand };
  const option = (n: string) => sub.options.find((o) => o.name === n);
  const rest: string[] = [];
  let target = false;
  for (const word of words) {
    const mention = MENTION.exec(word)?.[1] ?? (USER_ID.test(word) ? word : undefined);
    if (!target && option('user') && (mention || word.toLowerCase() === 'server')) {
      target = true;
      if (mention) input.user = mention;
      continue;
    }
    const keyed = /^([a-z_]+):(.+)$/i.exec(word);
    const keyedOption = keyed ? option(keyed[1]!.toLowerCase()) : undefined;
    if (keyed && keyedOption && (keyedOption.type === 'integer' || keyedOption.type === 'number')) {
      const value = numberValue(keyedOption, keyed[2]!);
      if (typeof value === 'string') return { ok: false, text: value };
      (input as unknown as Record<string, number>)[keyedOption.name] = value;
      continue;
    }
    const amount = option('amount');
    if (amount && input.amount === undefined && /^\d+$/.test(word)) {
      const value = numberValue(amount, word);
      if (typeof value === 'string') return { ok: false, text: value };
      input.amount = value;
      continue;
    }
    rest.push(word);
  }
  if (rest.length > 0) {
    if (!option('reason')) return { ok: false, text: `I don’t understand \`${rest.join(' ')}\`. ${subUsage(sub)}` };
    input.reason = cutGraphemes(rest.join(' '), option('reason')?.maxLength ?? 200);
  }
  const missing = sub.options.find((o) => o.required && (input as unknown as Record<string, unknown>)[o.name] === undefined);
  if (missing) return { ok: false, text: `\`${sub.name}\` needs ${missing.name === 'user' ? 'a member (@mention)' : `\`${missing.name}\``}. ${subUsage(sub)}` };
  return { ok: true, input };
}

function numberValue(option: CommandOption, text: string): number | string {
  const converted = convert(option, text);
  if ('error' in converted) return converted.error;
  return converted.value as number;
}

function optionUsage(o: CommandOption): string {
  const shape =
    o.name === 'user' ? (o.required ? '@member' : '@member|server') : o.name === 'amount' ? 'amount' : o.name === 'reason' ? 'reason…' : o.type === 'number' ? `${o.name}:USD` : `${o.name}:N`;
  return o.required ? `<${shape}>` : `[${shape}]`;
}

function subUsage(sub: Subcommand): string {
  return `Usage: \`/flux-admin ${subcommandName(sub)} ${sub.options.map(optionUsage).join(' ')}\``;
}

/** Every subcommand with its arguments and description, generated from the definition. */
export function adminUsage(): string {
  const lines = SUBCOMMANDS.map((s) => `• \`${[subcommandName(s), ...s.options.map(optionUsage)].join(' ')}\` — ${s.description}`);
  return `${ADMIN_USAGE_PREFIX}\n${lines.join('\n')}`;
}
