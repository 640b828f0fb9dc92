import type { QuotaContext } from './context.js';
import type { QuotaTarget } from './types.js';

/** Who banned a user, when, and why. */
export interface BanInfo {
  /** Platform-prefixed id of the admin. */
  by: string;
  /** Epoch ms. */
  at: number;
  reason?: string;
}

/** A subject's raw quota state for one day. */
export interface SubjectState {
  dailyOverride: number | undefined;
  concurrentOverride: number | undefined;
  /** Images charged to the daily quota on that day. */
  usedDaily: number;
  /** Images paid from the grant balance on that day. */
  usedGrant: number;
  grantBalance: number;
  inFlight: number;
  /** Users only. */
  ban: BanInfo | undefined;
  /** Micro-dollars spent (estimates in flight included) that day: a person's daily budget. */
  spentToday: number;
  /** Guilds only (0 for users): micro-dollars spent that month. */
  spentMonth: number;
  /** Guilds only: the admin's monthly budget and per-person daily budget (micro-dollars), when set. */
  budgetMonthly: number | undefined;
  budgetPersonDaily: number | undefined;
}

/** Reads the state of several subjects in one MULTI, so the numbers are one consistent snapshot. */
export async function readSubjects(ctx: QuotaContext, targets: readonly QuotaTarget[], day: string): Promise<SubjectState[]> {
  const { keys } = ctx;
  const multi = ctx.redis.multi();
  for (const { kind, key } of targets) {
    multi
      .hmget(keys.limits(kind, key), 'daily', 'concurrent', 'budget_monthly', 'budget_person_daily')
      .hmget(keys.day(kind, key, day), 'daily', 'grant', 'spent')
      .hget(keys.month(kind, key, day.slice(0, 7)), 'spent')
      .get(keys.grant(kind, key))
      .get(keys.inflight(kind, key));
    if (kind === 'user') multi.hgetall(keys.ban(key));
  }
  const replies = await execOrThrow(multi);
  let next = 0;
  const take = <T>(): T => replies[next++] as T;
  return targets.map(({ kind }) => {
    const limits = take<(string | null)[]>();
    const used = take<(string | null)[]>();
    const month = take<string | null>();
    const grant = take<string | null>();
    const inFlight = take<string | null>();
    // Guilds cannot be banned.
    const ban = kind === 'user' ? toBan(take<Record<string, string>>()) : undefined;
    return {
      dailyOverride: optionalInt(limits[0]),
      concurrentOverride: optionalInt(limits[1]),
      usedDaily: optionalInt(used[0]) ?? 0,
      usedGrant: optionalInt(used[1]) ?? 0,
      grantBalance: optionalInt(grant) ?? 0,
      inFlight: optionalInt(inFlight) ?? 0,
      ban,
      spentToday: optionalInt(used[2]) ?? 0,
      spentMonth: optionalInt(month) ?? 0,
      budgetMonthly: optionalInt(limits[2]),
      budgetPersonDaily: optionalInt(limits[3]),
    };
  });
}

/** Runs a MULTI and returns its replies, throwing the first command error instead of returning it. */
export async function execOrThrow(multi: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const results = await multi.exec();
  if (results === null) throw new Error('quota transaction was aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function optionalInt(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function toBan(hash: Record<string, string>): BanInfo | undefined {
  if (hash.by === undefined) return undefined;
  const ban: BanInfo = { by: hash.by, at: Number(hash.at ?? 0) };
  if (hash.reason) ban.reason = hash.reason;
  return ban;
}
