import type { ChainableCommander } from 'ioredis';
import { InvalidInput } from '../errors.js';
import { appendAudit, auditArgs, readAudit, type AuditAction, type AuditEntry } from './audit-log.js';
import { QuotaContext, type QuotaOptions } from './context.js';
import { execOrThrow, readSubjects, type BanInfo, type SubjectState } from './subject-state.js';
import type { QuotaTarget } from './types.js';
import { MAX_LIMIT, requireCount, requireKey, requireTarget } from './validate.js';

/** Largest single grant: a typo guard, not a policy. */
export const MAX_GRANT = 10_000;
const MAX_BAN_REASON = 500;
const MAX_AUDIT_READ = 1000;

/**
 * KEYS[1] grant balance, KEYS[2] audit stream; ARGV[1] amount, ARGV[2] largest balance or '', ARGV[3..] the audit
 * entry's XADD arguments. Returns the new balance (the grant and its audit entry written together), or
 * -(balance + 1) when the grant would pass the largest balance: then nothing is written.
 */
const GRANT_WITHIN_LUA = `
local balance = tonumber(redis.call('GET', KEYS[1]) or '0')
local max = tonumber(ARGV[2])
if max and balance + tonumber(ARGV[1]) > max then return -(balance + 1) end
redis.call('XADD', KEYS[2], unpack(ARGV, 3))
return redis.call('INCRBY', KEYS[1], ARGV[1])
`;

/** A limit in force, and whether an admin override (rather than the default) set it. */
export interface EffectiveLimit {
  value: number;
  overridden: boolean;
}

/** What an admin sees about a user or a guild. */
export interface QuotaSnapshot {
  target: QuotaTarget;
  /** The quota day shown (`YYYY-MM-DD` in the configured zone). */
  day: string;
  /** Images charged today, from the daily quota and from the grant. */
  usedToday: number;
  /** The part of usedToday paid from the grant balance. */
  usedFromGrantToday: number;
  daily: EffectiveLimit;
  concurrent: EffectiveLimit;
  grantBalance: number;
  inFlight: number;
  /** Present while the user is banned (never for guilds). */
  banned?: BanInfo;
  /** Next local midnight, epoch ms. */
  resetsAt: number;
}

/** What a person sees about themselves. */
export interface UserQuotaView {
  usedToday: number;
  dailyLimit: number;
  /** Images they can still make today: daily quota left plus grant, capped by what the guild has left. */
  remaining: number;
  grantBalance: number;
  inFlight: number;
  concurrentLimit: number;
  resetsAt: number;
  banned: boolean;
  banReason?: string;
  /** Micro-dollars: what the person spent today, and their daily budget in this server when there is one. */
  spentToday: number;
  personDailyBudget?: number;
  /** Micro-dollars: what the server spent this month, and its monthly budget when there is one. */
  guildSpentThisMonth: number;
  guildMonthlyBudget?: number;
  monthResetsAt: number;
}

/** A limits change: a number sets an override, null returns to the default, absent leaves it alone. */
/** A budget in micro-dollars: the server's own, or the operator's default (`overridden: false`). */
export interface EffectiveBudget {
  value: number;
  overridden: boolean;
}

/** A server's money: budgets, what it spent this month, the operator's cap on every server together. */
export interface BudgetSnapshot {
  month: string;
  /** Absent: no monthly budget. */
  monthly?: EffectiveBudget;
  /** Absent: no per-person daily budget. */
  personDaily?: EffectiveBudget;
  spentThisMonth: number;
  /** The operator's monthly budget across every server (BUDGET_MONTHLY_USD) and what all of them spent. */
  operatorMonthly?: number;
  operatorSpent: number;
  /** When the monthly budgets reset (epoch ms). */
  monthResetsAt: number;
}

/** A change to a server's budgets, micro-dollars; `null` restores the operator's default. */
export interface BudgetChange {
  monthly?: number | null;
  personDaily?: number | null;
}

/** The largest budget a server admin may set: a billion dollars, far past any real one (keeps the numbers exact). */
export const MAX_BUDGET_MICROS = 1e15;

export interface LimitsChange {
  daily?: number | null;
  concurrent?: number | null;
}

/**
 * The operators' side of quotas: inspect, override limits, reset a day, grant extra images, ban. Every change is
 * written together with an entry in the audit stream (one MULTI) and applies to the very next admission.
 * Arguments are validated before anything is written; bad ones throw InvalidInput.
 */
export class QuotaAdmin {
  private readonly ctx: QuotaContext;

  constructor(options: QuotaOptions) {
    this.ctx = new QuotaContext(options);
  }

  /** Today's usage, effective limits, grant balance, in-flight count and ban of a user or guild. */
  async show(target: QuotaTarget): Promise<QuotaSnapshot> {
    const t = requireTarget(target);
    const { day, resetAt } = this.ctx.today();
    const [state] = (await readSubjects(this.ctx, [t], day)) as [SubjectState];
    const snapshot: QuotaSnapshot = {
      target: t,
      day,
      usedToday: state.usedDaily + state.usedGrant,
      usedFromGrantToday: state.usedGrant,
      daily: effective(state.dailyOverride, this.ctx.defaultDaily(t.kind, t.key)),
      concurrent: effective(state.concurrentOverride, this.ctx.defaultConcurrent(t.kind)),
      grantBalance: state.grantBalance,
      inFlight: state.inFlight,
      resetsAt: resetAt,
    };
    if (state.ban !== undefined) snapshot.banned = state.ban;
    return snapshot;
  }

  /** Overrides the daily and/or in-flight limit of a user or guild (null returns a limit to the default). */
  async setLimits(actor: string, target: QuotaTarget, change: LimitsChange): Promise<void> {
    const who = requireKey(actor, 'actor');
    const t = requireTarget(target);
    if (typeof change !== 'object' || change === null) throw new InvalidInput('give a daily or a concurrent limit', 'limits');
    const details: Record<string, number | null> = {};
    for (const field of ['daily', 'concurrent'] as const) {
      const value = change[field];
      if (value === undefined) continue;
      details[field] = value === null ? null : requireCount(value, field, 0, MAX_LIMIT);
    }
    const ceiling = this.ctx.defaults.maxDailyPerGuild;
    if (typeof details.daily === 'number' && ceiling !== undefined && details.daily > ceiling) {
      throw new InvalidInput(`daily can be at most ${ceiling}: the operator's largest daily limit (QUOTA_MAX_DAILY_PER_GUILD)`, 'daily');
    }
    if (Object.keys(details).length === 0) throw new InvalidInput('give a daily or a concurrent limit', 'limits');
    const key = this.ctx.keys.limits(t.kind, t.key);
    const multi = this.ctx.redis.multi();
    for (const [field, value] of Object.entries(details)) {
      if (value === null) multi.hdel(key, field);
      else multi.hset(key, field, value);
    }
    await this.commit(multi, who, 'set_limits', t, details);
  }

  /**
   * Forgets today's usage. The day's generation is bumped so refunds of jobs charged before the reset do not
   * lower the fresh count.
   */
  /** A server's budgets and spending. */
  async budget(guildKey: string): Promise<BudgetSnapshot> {
    const guild: QuotaTarget = { kind: 'guild', key: requireKey(guildKey, 'guildKey') };
    const today = this.ctx.today();
    const [[g], total] = await Promise.all([
      readSubjects(this.ctx, [guild], today.day) as Promise<[SubjectState]>,
      this.ctx.redis.hget(this.ctx.keys.totalMonth(today.month), 'spent'),
    ]);
    const { guildMonthlyBudget, personDailyBudget, monthlyBudget } = this.ctx.defaults;
    const snapshot: BudgetSnapshot = {
      month: today.month,
      spentThisMonth: g.spentMonth,
      operatorSpent: Number(total ?? 0),
      monthResetsAt: today.monthResetAt,
    };
    const monthly = budgetOf(g.budgetMonthly, guildMonthlyBudget);
    const personDaily = budgetOf(g.budgetPersonDaily, personDailyBudget);
    if (monthly) snapshot.monthly = monthly;
    if (personDaily) snapshot.personDaily = personDaily;
    if (monthlyBudget !== undefined) snapshot.operatorMonthly = monthlyBudget;
    return snapshot;
  }

  /** Sets (or, with null, restores the default of) a server's monthly and per-person daily budgets. Audited. */
  async setBudget(actor: string, guildKey: string, change: BudgetChange): Promise<void> {
    const who = requireKey(actor, 'actor');
    const t: QuotaTarget = { kind: 'guild', key: requireKey(guildKey, 'guildKey') };
    if (typeof change !== 'object' || change === null) throw new InvalidInput('give a monthly or a per-person daily budget', 'monthly');
    const fields = { monthly: 'budget_monthly', personDaily: 'budget_person_daily' } as const;
    const key = this.ctx.keys.limits(t.kind, t.key);
    const multi = this.ctx.redis.multi();
    const details: Record<string, number | null> = {};
    for (const name of ['monthly', 'personDaily'] as const) {
      const value = change[name];
      if (value === undefined) continue;
      if (value === null) {
        multi.hdel(key, fields[name]);
        details[name] = null;
      } else {
        details[name] = requireCount(value, name === 'monthly' ? 'monthly' : 'person_daily', 0, MAX_BUDGET_MICROS);
        multi.hset(key, fields[name], details[name]);
      }
    }
    if (Object.keys(details).length === 0) throw new InvalidInput('give a monthly or a per-person daily budget', 'monthly');
    await this.commit(multi, who, 'set_budget', t, details);
  }

  async resetToday(actor: string, target: QuotaTarget): Promise<void> {
    const who = requireKey(actor, 'actor');
    const t = requireTarget(target);
    const { day, dayKeyTtlMs } = this.ctx.today();
    const key = this.ctx.keys.day(t.kind, t.key, day);
    const multi = this.ctx.redis.multi().hset(key, 'daily', 0, 'grant', 0).hincrby(key, 'gen', 1).pexpire(key, dayKeyTtlMs);
    await this.commit(multi, who, 'reset_today', t, { day });
  }

  /**
   * Adds extra images, spent once the daily quota is used up; they do not expire. Returns the new balance. With the
   * operator's QUOTA_MAX_GRANT, a grant that would take the balance past it is refused (checked and added in one
   * script, so two grants at once cannot both pass).
   */
  async grant(actor: string, target: QuotaTarget, amount: number): Promise<number> {
    const who = requireKey(actor, 'actor');
    const t = requireTarget(target);
    const n = requireCount(amount, 'amount', 1, MAX_GRANT);
    const max = this.ctx.defaults.maxGrant;
    const key = this.ctx.keys.grant(t.kind, t.key);
    const audit = auditArgs({ actor: who, action: 'grant', target: `${t.kind}:${t.key}`, details: { amount: n }, at: this.ctx.now() });
    const balance = Number(await this.ctx.redis.eval(GRANT_WITHIN_LUA, 2, key, this.ctx.keys.audit, n, max ?? '', ...audit));
    if (balance < 0) {
      throw new InvalidInput(`the grant balance can be at most ${max ?? 0} (the operator's QUOTA_MAX_GRANT); it is ${-balance - 1} now`, 'amount');
    }
    return balance;
  }

  /** Refuses every further admission of the user until unbanned; jobs already admitted still run. */
  async ban(actor: string, userKey: string, reason?: string): Promise<void> {
    const who = requireKey(actor, 'actor');
    const t: QuotaTarget = { kind: 'user', key: requireKey(userKey, 'userKey') };
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_BAN_REASON)) {
      throw new InvalidInput(`reason must be text of at most ${MAX_BAN_REASON} characters`, 'reason');
    }
    const key = this.ctx.keys.ban(t.key);
    const at = this.ctx.now();
    // Replace the whole hash so an earlier ban's reason does not linger.
    const multi = this.ctx.redis.multi().del(key).hset(key, 'by', who, 'at', at);
    if (reason) multi.hset(key, 'reason', reason);
    await this.commit(multi, who, 'ban', t, reason ? { reason } : {}, at);
  }

  /** Lifts a ban; returns whether the user was banned. */
  async unban(actor: string, userKey: string): Promise<boolean> {
    const who = requireKey(actor, 'actor');
    const t: QuotaTarget = { kind: 'user', key: requireKey(userKey, 'userKey') };
    const replies = await this.commit(this.ctx.redis.multi().del(this.ctx.keys.ban(t.key)), who, 'unban', t, {});
    return Number(replies[0]) > 0;
  }

  /** The newest `limit` audit entries, newest first. */
  async audit(limit = 20): Promise<AuditEntry[]> {
    return readAudit(this.ctx, requireCount(limit, 'limit', 1, MAX_AUDIT_READ));
  }

  /** What a person may see about their own quota in this guild/workspace. */
  async userView(userKey: string, guildKey: string): Promise<UserQuotaView> {
    const user: QuotaTarget = { kind: 'user', key: requireKey(userKey, 'userKey') };
    const guild: QuotaTarget = { kind: 'guild', key: requireKey(guildKey, 'guildKey') };
    const { day, resetAt, monthResetAt } = this.ctx.today();
    const [u, g] = (await readSubjects(this.ctx, [user, guild], day)) as [SubjectState, SubjectState];
    const dailyLimit = this.ceiled(u.dailyOverride ?? this.ctx.defaultDaily('user', guildKey));
    const guildDaily = this.ceiled(g.dailyOverride ?? this.ctx.defaultDaily('guild', guildKey));
    const userLeft = Math.max(0, dailyLimit - u.usedDaily) + u.grantBalance;
    const guildLeft = Math.max(0, guildDaily - g.usedDaily) + g.grantBalance;
    const view: UserQuotaView = {
      usedToday: u.usedDaily + u.usedGrant,
      dailyLimit,
      remaining: u.ban === undefined ? Math.min(userLeft, guildLeft) : 0,
      grantBalance: u.grantBalance,
      inFlight: u.inFlight,
      concurrentLimit: u.concurrentOverride ?? this.ctx.defaultConcurrent('user'),
      resetsAt: resetAt,
      banned: u.ban !== undefined,
      spentToday: u.spentToday,
      guildSpentThisMonth: g.spentMonth,
      monthResetsAt: monthResetAt,
    };
    if (u.ban?.reason !== undefined) view.banReason = u.ban.reason;
    const personDaily = budgetOf(g.budgetPersonDaily, this.ctx.defaults.personDailyBudget);
    const monthly = budgetOf(g.budgetMonthly, this.ctx.defaults.guildMonthlyBudget);
    if (personDaily) view.personDailyBudget = personDaily.value;
    if (monthly) view.guildMonthlyBudget = monthly.value;
    return view;
  }

  /** A daily limit as admission applies it: never past the operator's QUOTA_MAX_DAILY_PER_GUILD. */
  private ceiled(daily: number): number {
    const ceiling = this.ctx.defaults.maxDailyPerGuild;
    return ceiling === undefined ? daily : Math.min(daily, ceiling);
  }

  /** Appends the audit entry to the change and runs both as one transaction. */
  private async commit(
    multi: ChainableCommander,
    actor: string,
    action: AuditAction,
    target: QuotaTarget,
    details: Record<string, unknown>,
    at = this.ctx.now(),
  ): Promise<unknown[]> {
    appendAudit(this.ctx, multi, { actor, action, target: `${target.kind}:${target.key}`, details, at });
    return execOrThrow(multi);
  }
}

function budgetOf(override: number | undefined, fallback: number | undefined): EffectiveBudget | undefined {
  if (override !== undefined) return { value: override, overridden: true };
  return fallback === undefined ? undefined : { value: fallback, overridden: false };
}

function effective(override: number | undefined, fallback: number): EffectiveLimit {
  return override === undefined ? { value: fallback, overridden: false } : { value: override, overridden: true };
}
