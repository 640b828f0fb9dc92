import type { ImageHistory } from '../core/jobs/image-history.js';
import { InvalidInput, isFluxError } from '../core/errors.js';
import type { BudgetSnapshot, QuotaAdmin } from '../core/quotas/quota-admin.js';
import { formatUsd, toMicros } from '../core/prices.js';
import type { QuotaTarget } from '../core/quotas/types.js';
import { guildKey, userKey, type Requester } from '../core/ports.js';
import type { CommandDefinition, CommandOption } from './definition.js';
import { plainTime, type Reply, type TimeFormatter } from './replies.js';

const who: CommandOption = { name: 'user', description: 'The member (leave empty for the whole server)', type: 'user' };
const member: CommandOption = { name: 'user', description: 'The member', type: 'user', required: true };

/** `/flux-admin`: the admin quota service. Admin-only, and checked again on the server side for every call. */
export const fluxAdminCommand: CommandDefinition = {
  name: 'flux-admin',
  description: 'Manage image quotas (server admins)',
  adminOnly: true,
  ephemeral: true,
  subcommands: [
    { name: 'show', description: 'Show usage and limits of a member or the server', options: [who] },
    {
      name: 'set',
      description: 'Set daily and concurrent limits of a member or the server (-1 restores the default)',
      options: [
        who,
        { name: 'daily', description: 'Images per day (-1: default)', type: 'integer', min: -1, max: 1_000_000 },
        { name: 'concurrent', description: 'Images in progress at once (-1: default)', type: 'integer', min: -1, max: 1_000_000 },
      ],
    },
    { name: 'reset', description: 'Reset today’s usage of a member or the server', options: [who] },
    {
      name: 'grant',
      description: 'Grant extra images to a member or the server',
      options: [{ name: 'amount', description: 'Extra images', type: 'integer', required: true, min: 1, max: 10_000 }, who],
    },
    { name: 'ban', description: 'Stop a member from generating images', options: [member, { name: 'reason', description: 'Why', type: 'string', maxLength: 200 }] },
    { name: 'unban', description: 'Allow a member to generate images again', options: [member] },
    {
      group: 'budget',
      name: 'set',
      description: 'Set the server’s monthly and per-person daily budgets in US dollars (-1: default)',
      options: [
        { name: 'monthly', description: 'US dollars per month for the whole server (-1: default)', type: 'number', min: -1, max: 1_000_000_000 },
        { name: 'person_daily', description: 'US dollars per person per day (-1: default)', type: 'number', min: -1, max: 1_000_000_000 },
      ],
    },
    { group: 'budget', name: 'show', description: 'Show the server’s budgets and what it spent this month', options: [] },
  ],
};

export type AdminSubcommand = 'show' | 'set' | 'reset' | 'grant' | 'ban' | 'unban' | 'budget set' | 'budget show';

export interface AdminInput {
  subcommand: AdminSubcommand;
  /** Platform user id of the member; absent = the whole server/workspace. */
  user?: string | undefined;
  daily?: number | undefined;
  concurrent?: number | undefined;
  amount?: number | undefined;
  reason?: string | undefined;
  /** `budget set`: US dollars; -1 restores the default. */
  monthly?: number | undefined;
  person_daily?: number | undefined;
}

export interface AdminContext {
  admin: QuotaAdmin;
  actor: Requester;
  /** Decided by the adapter from the platform (Manage Server; Slack admin/owner or SLACK_ADMIN_USER_IDS). */
  isAdmin: boolean;
  time?: TimeFormatter;
}

/** Runs one admin subcommand. Refuses non-admins before touching anything. */
export async function runAdminCommand(ctx: AdminContext, input: AdminInput): Promise<Reply> {
  const reply = (text: string): Reply => ({ text, ephemeral: true });
  if (!ctx.isAdmin) return reply('Only server admins can manage image quotas.');
  const time = ctx.time ?? plainTime;
  const actor = userKey(ctx.actor);
  const target: QuotaTarget = input.user
    ? { kind: 'user', key: userKey({ ...ctx.actor, userId: input.user }) }
    : { kind: 'guild', key: guildKey(ctx.actor) };
  const name = input.user ? `<@${input.user}>` : 'this server'; // the same mention markup on Discord and Slack
  try {
    switch (input.subcommand) {
      case 'show': {
        const s = await ctx.admin.show(target);
        const lines = [
          `Quota for ${name} (today: ${s.day})`,
          `Used today: ${s.usedToday} of ${s.daily.value}${s.daily.overridden ? ' (custom limit)' : ''}`,
          `In progress: ${s.inFlight} of ${s.concurrent.value}${s.concurrent.overridden ? ' (custom limit)' : ''}`,
          `Granted extra images left: ${s.grantBalance}`,
          `Resets ${time(s.resetsAt)}`,
        ];
        if (s.banned) lines.push(`Banned${s.banned.reason ? `: ${s.banned.reason}` : ''}`);
        return reply(lines.join('\n'));
      }
      case 'set': {
        if (input.daily === undefined && input.concurrent === undefined) throw new InvalidInput('give daily, concurrent or both', 'daily');
        const norm = (v: number | undefined) => (v === undefined ? undefined : v < 0 ? null : v);
        const daily = norm(input.daily);
        const concurrent = norm(input.concurrent);
        await ctx.admin.setLimits(actor, target, { ...(daily === undefined ? {} : { daily }), ...(concurrent === undefined ? {} : { concurrent }) });
        const s = await ctx.admin.show(target);
        return reply(`Limits for ${name}: ${s.daily.value} per day, ${s.concurrent.value} at once.`);
      }
      case 'reset':
        await ctx.admin.resetToday(actor, target);
        return reply(`Today’s usage of ${name} is reset.`);
      case 'grant': {
        if (input.amount === undefined) throw new InvalidInput('amount is required', 'amount');
        const balance = await ctx.admin.grant(actor, target, input.amount);
        return reply(`Granted ${input.amount} extra image${input.amount === 1 ? '' : 's'} to ${name} (now ${balance} extra).`);
      }
      case 'ban':
        if (!input.user) throw new InvalidInput('ban needs a member', 'user');
        await ctx.admin.ban(actor, target.key, input.reason);
        return reply(`${name} can no longer generate images here.`);
      case 'unban': {
        if (!input.user) throw new InvalidInput('unban needs a member', 'user');
        const was = await ctx.admin.unban(actor, target.key);
        return reply(was ? `${name} can generate images again.` : `${name} was not banned.`);
      }
      case 'budget set': {
        if (input.monthly === undefined && input.person_daily === undefined) throw new InvalidInput('give monthly, person_daily or both (US dollars)', 'monthly');
        const micros = (v: number | undefined) => (v === undefined ? undefined : v < 0 ? null : toMicros(v));
        const monthly = micros(input.monthly);
        const personDaily = micros(input.person_daily);
        await ctx.admin.setBudget(actor, guildKey(ctx.actor), {
          ...(monthly === undefined ? {} : { monthly }),
          ...(personDaily === undefined ? {} : { personDaily }),
        });
        return reply(budgetText(await ctx.admin.budget(guildKey(ctx.actor)), time));
      }
      case 'budget show':
        return reply(budgetText(await ctx.admin.budget(guildKey(ctx.actor)), time));
    }
  } catch (err) {
    if (isFluxError(err) && err.code === 'invalid_input') return reply(`Not changed: ${err.userMessage}`);
    throw err;
  }
}

/** A server's budgets and spending, as `/flux-admin budget show` answers. */
export function budgetText(b: BudgetSnapshot, time: TimeFormatter): string {
  const custom = (e: { overridden: boolean }) => (e.overridden ? ' (set for this server)' : ' (the operator’s default)');
  const lines = [
    b.monthly
      ? `Spent this month (${b.month}): ${formatUsd(b.spentThisMonth)} of ${formatUsd(b.monthly.value)}${custom(b.monthly)}; ${formatUsd(Math.max(0, b.monthly.value - b.spentThisMonth))} left.`
      : `Spent this month (${b.month}): ${formatUsd(b.spentThisMonth)}; no monthly budget.`,
    b.personDaily ? `Each person may spend ${formatUsd(b.personDaily.value)} a day${custom(b.personDaily)}.` : 'No per-person daily budget.',
  ];
  if (b.operatorMonthly !== undefined) lines.push(`Every server together: ${formatUsd(b.operatorSpent)} of the operator’s ${formatUsd(b.operatorMonthly)} this month.`);
  lines.push(`Monthly budgets reset ${time(b.monthResetsAt)}. Images in progress count at their estimate until they finish.`);
  return lines.join('\n');
}

/**
 * `/flux-quota`: what a person sees about themselves; with `history`, also how many images are kept for them (no
 * channel could take them) and where to get them.
 */
export async function runQuotaCommand(
  admin: QuotaAdmin,
  requester: Requester,
  time: TimeFormatter = plainTime,
  history?: Pick<ImageHistory, 'keptCount'>,
): Promise<Reply> {
  const v = await admin.userView(userKey(requester), guildKey(requester));
  if (v.banned) return { text: `You are not allowed to generate images on this server${v.banReason ? ` (${v.banReason})` : ''}.`, ephemeral: true };
  const lines = [
    `You have used ${v.usedToday} of ${v.dailyLimit} images today; ${v.remaining} left${v.grantBalance > 0 ? ` (including ${v.grantBalance} extra granted)` : ''}.`,
    `In progress: ${v.inFlight} of ${v.concurrentLimit}.`,
    `Your quota resets ${time(v.resetsAt)}.`,
  ];
  if (v.personDailyBudget !== undefined) {
    lines.push(`You spent ${formatUsd(v.spentToday)} of your ${formatUsd(v.personDailyBudget)} daily budget today.`);
  } else if (v.spentToday > 0) {
    lines.push(`Your images cost ${formatUsd(v.spentToday)} today.`);
  }
  if (v.guildMonthlyBudget !== undefined) {
    lines.push(`This server spent ${formatUsd(v.guildSpentThisMonth)} of its ${formatUsd(v.guildMonthlyBudget)} monthly budget (resets ${time(v.monthResetsAt)}).`);
  }
  const kept = history ? await history.keptCount(requester) : 0;
  if (kept > 0) lines.push(`${kept} image${kept === 1 ? ' is' : 's are'} kept for you (the channel refused ${kept === 1 ? 'it' : 'them'}): use /flux-history to get ${kept === 1 ? 'it' : 'them'}.`);
  return { text: lines.join('\n'), ephemeral: true };
}
