import { userInfo } from 'node:os';
import { Command } from 'commander';
import type { FluxbotCore } from '../core/core.js';
import type { AuditEntry } from '../core/quotas/audit-log.js';
import { MAX_GRANT, type QuotaSnapshot } from '../core/quotas/quota-admin.js';
import type { QuotaTarget } from '../core/quotas/types.js';
import { MAX_LIMIT } from '../core/quotas/validate.js';
import { toMicros } from '../core/prices.js';
import { budgetText } from '../commands/flux-admin.js';
import { CliExit, common, emit, guildSubject, settings, userSubject, withCore, wholeNumber, type CliIo } from './common.js';

interface SubjectOptions {
  user?: string;
  guild?: string;
  json?: boolean;
}

const USER_HELP = 'a person: discord:<server id>:<user id>, slack:<team id>:<user id> or web:<space>:<session>';
const GUILD_HELP = 'a server or workspace: discord:<server id>, slack:<team id> or web:<space>';

/** `fluxbot quota …`: the same admin quota service as /flux-admin, for operators. Actor: `cli:<os user>`. */
export function quotaCommand(version: string, io: CliIo): Command {
  const quota = common(new Command('quota'), version, false).description('show and change quotas, grants and bans (audited as cli:<os user>)');
  const actor = `cli:${safeUser()}`;
  const subject = (c: Command, userOnly = false) => {
    c.option('--user <key>', USER_HELP, userSubject);
    if (!userOnly) c.option('--guild <key>', GUILD_HELP, guildSubject);
    return common(c, version);
  };
  const run = (work: (core: FluxbotCore) => Promise<void>) => withCore(settings(), io, work);
  const show = async (core: FluxbotCore, t: QuotaTarget, json?: boolean) => {
    const snapshot = await core.admin.show(t);
    emit(io, json, snapshot, () => describeSnapshot(snapshot));
  };

  quota.addCommand(
    subject(new Command('show').description('usage today, limits, grant balance, jobs in flight, ban')).action(async (o: SubjectOptions) => {
      const t = target(o);
      await run((core) => show(core, t, o.json));
    }),
  );
  quota.addCommand(
    subject(new Command('set').description('override the daily and/or concurrent limit'))
      .option('--daily <n>', `images per day (0 to ${MAX_LIMIT}; -1 restores the default)`, wholeNumber('--daily', -1, MAX_LIMIT))
      .option('--concurrent <n>', `jobs in flight at once (1 to ${MAX_LIMIT}; -1 restores the default)`, wholeNumber('--concurrent', -1, MAX_LIMIT))
      .action(async (o: SubjectOptions & { daily?: number; concurrent?: number }) => {
        const t = target(o);
        if (o.daily === undefined && o.concurrent === undefined) throw new CliExit('give --daily, --concurrent or both');
        const limit = (n: number) => (n < 0 ? null : n);
        await run(async (core) => {
          await core.admin.setLimits(actor, t, {
            ...(o.daily === undefined ? {} : { daily: limit(o.daily) }),
            ...(o.concurrent === undefined ? {} : { concurrent: limit(o.concurrent) }),
          });
          await show(core, t, o.json);
        });
      }),
  );
  quota.addCommand(
    subject(new Command('reset').description("set today's usage back to 0")).action(async (o: SubjectOptions) => {
      const t = target(o);
      await run(async (core) => {
        await core.admin.resetToday(actor, t);
        await show(core, t, o.json);
      });
    }),
  );
  quota.addCommand(
    subject(new Command('grant').description('give extra images, spent once the daily quota is used up'))
      .requiredOption('--amount <n>', `images to add (1 to ${MAX_GRANT}; QUOTA_MAX_GRANT caps the balance)`, wholeNumber('--amount', 1, MAX_GRANT))
      .action(async (o: SubjectOptions & { amount: number }) => {
        const t = target(o);
        await run(async (core) => {
          const grantBalance = await core.admin.grant(actor, t, o.amount);
          emit(io, o.json, { grantBalance }, () => `${t.kind} ${t.key}: grant balance ${grantBalance}`);
        });
      }),
  );
  quota.addCommand(
    subject(new Command('ban').description('refuse every request from a person'), true)
      .option('--reason <text>', 'shown to the person (at most 500 characters)')
      .action(async (o: SubjectOptions & { reason?: string }) => {
        const key = target(o).key;
        await run(async (core) => {
          await core.admin.ban(actor, key, o.reason);
          emit(io, o.json, { banned: key }, () => `banned ${key}${o.reason ? ` (${o.reason})` : ''}`);
        });
      }),
  );
  quota.addCommand(
    subject(new Command('unban').description('lift a ban'), true).action(async (o: SubjectOptions) => {
      const key = target(o).key;
      await run(async (core) => {
        const wasBanned = await core.admin.unban(actor, key);
        emit(io, o.json, { wasBanned }, () => (wasBanned ? `unbanned ${key}` : `${key} was not banned`));
      });
    }),
  );
  quota.addCommand(
    common(new Command('audit').description('the newest quota changes, newest first'), version)
      .option('--limit <n>', 'how many (1 to 1000)', wholeNumber('--limit', 1, 1000), 20)
      .action(async (o: { limit: number; json?: boolean }) => {
        await run(async (core) => {
          const entries = await core.admin.audit(o.limit);
          if (o.json) for (const entry of entries) io.out(JSON.stringify(entry));
          else if (entries.length === 0) io.out('no quota changes yet');
          else for (const entry of entries) io.out(describeAudit(entry));
        });
      }),
  );
  quota.addCommand(budgetCommand(version, io, actor, run));
  return quota;
}

/** A dollar amount option: `12.50`, or -1 to restore the default. */
function dollars(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (n < 0 && n !== -1) || n > 1e9) throw new CliExit(`${flag} must be US dollars such as 25 or 12.50 (or -1 for the default)`);
    return n;
  };
}

/** `fluxbot quota budget show|set --guild KEY`: a server's money, as `/flux-admin budget`. */
function budgetCommand(version: string, io: CliIo, actor: string, run: (work: (core: FluxbotCore) => Promise<void>) => Promise<void>): Command {
  const budget = common(new Command('budget'), version, false).description("a server's monthly and per-person daily budgets in US dollars");
  const show = async (core: FluxbotCore, guild: string, json?: boolean) => {
    const b = await core.admin.budget(guild);
    emit(io, json, b, () => budgetText(b, (ms) => new Date(ms).toISOString()).split('\n'));
  };
  budget.addCommand(
    common(new Command('show').description('budgets and what the server spent this month'), version)
      .requiredOption('--guild <key>', GUILD_HELP, guildSubject)
      .action(async (o: { guild: string; json?: boolean }) => run((core) => show(core, o.guild, o.json))),
  );
  budget.addCommand(
    common(new Command('set').description('set the monthly budget and/or the per-person daily budget'), version)
      .requiredOption('--guild <key>', GUILD_HELP, guildSubject)
      .option('--monthly <usd>', 'US dollars per month for the server (-1 restores the default)', dollars('--monthly'))
      .option('--person-daily <usd>', 'US dollars per person per day (-1 restores the default)', dollars('--person-daily'))
      .action(async (o: { guild: string; monthly?: number; personDaily?: number; json?: boolean }) => {
        if (o.monthly === undefined && o.personDaily === undefined) throw new CliExit('give --monthly, --person-daily or both');
        const micros = (v: number) => (v < 0 ? null : toMicros(v));
        await run(async (core) => {
          await core.admin.setBudget(actor, o.guild, {
            ...(o.monthly === undefined ? {} : { monthly: micros(o.monthly) }),
            ...(o.personDaily === undefined ? {} : { personDaily: micros(o.personDaily) }),
          });
          await show(core, o.guild, o.json);
        });
      }),
  );
  return budget;
}

function target(o: SubjectOptions): QuotaTarget {
  if (o.user && o.guild) throw new CliExit('give --user or --guild, not both');
  if (o.user) return { kind: 'user', key: o.user };
  if (o.guild) return { kind: 'guild', key: o.guild };
  throw new CliExit('give --user KEY or --guild KEY (see --help)');
}

function describeSnapshot(s: QuotaSnapshot): string[] {
  const source = (overridden: boolean) => (overridden ? 'set by an admin' : 'default');
  return [
    `${s.target.kind} ${s.target.key}, ${s.day}`,
    `  used today     ${s.usedToday} of ${s.daily.value} (${source(s.daily.overridden)})${s.usedFromGrantToday ? `, ${s.usedFromGrantToday} from the grant` : ''}`,
    `  in flight      ${s.inFlight} of ${s.concurrent.value} (${source(s.concurrent.overridden)})`,
    `  grant balance  ${s.grantBalance}`,
    ...(s.banned ? [`  banned         since ${new Date(s.banned.at).toISOString()} by ${s.banned.by}${s.banned.reason ? `: ${s.banned.reason}` : ''}`] : []),
    `  resets at      ${new Date(s.resetsAt).toISOString()}`,
  ];
}

function describeAudit(e: AuditEntry): string {
  const details = Object.entries(e.details)
    .map(([k, v]) => `${k}=${v === null ? 'default' : String(v)}`)
    .join(' ');
  return `${new Date(e.at).toISOString()}  ${e.actor}  ${e.action}  ${e.target}${details ? `  ${details}` : ''}`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
