import type { RedisClient } from '../redis-connection.js';
import { ZonedCalendar } from './calendar.js';
import { QuotaKeys } from './keys.js';
import type { QuotaDefaults, SubjectKind } from './types.js';
import { requireDefaults, requirePrefix } from './validate.js';

/** Day keys outlive their day by this much, so late refunds still find them; then Redis drops them. */
const DAY_KEY_GRACE_MS = 2 * 86_400_000;

/** Options shared by QuotaStore and QuotaAdmin; both must be built with the same prefix, defaults, clock and zone. */
export interface QuotaOptions {
  /** The caller's connection; the quota code never creates, configures or closes it. */
  redis: RedisClient;
  /** Limits for subjects without an admin override. */
  defaults: QuotaDefaults;
  /** Key prefix with a Redis Cluster hash tag. Default `{fluxbot}`. */
  prefix?: string;
  /** "Now" in epoch ms. Default `Date.now`; tests pass a controllable clock. */
  clock?: () => number;
  /** IANA zone whose calendar days the daily quotas follow. Default `UTC`. */
  timeZone?: string;
}

/** The current quota day: its name and when it ends. */
export interface QuotaDay {
  now: number;
  day: string;
  /** Next local midnight (epoch ms): when today's daily quotas reset. */
  resetAt: number;
  /**
   * How long today's day keys live from now (ms): until a couple of days after the day. Relative, so a skew
   * between the application's clock and the Redis server's clock cannot expire them early.
   */
  dayKeyTtlMs: number;
  /** The month (`YYYY-MM`) and when it ends: monthly budgets. */
  month: string;
  monthResetAt: number;
  /** How long this month's keys live from now (ms): until a couple of days after the month. */
  monthKeyTtlMs: number;
}

/** Validated options plus the helpers built from them. */
export class QuotaContext {
  readonly redis: RedisClient;
  readonly keys: QuotaKeys;
  readonly defaults: QuotaDefaults;
  readonly calendar: ZonedCalendar;
  private readonly clock: () => number;

  constructor(options: QuotaOptions) {
    this.redis = options.redis;
    this.keys = new QuotaKeys(requirePrefix(options.prefix ?? '{fluxbot}'));
    this.defaults = requireDefaults(options.defaults);
    this.calendar = new ZonedCalendar(options.timeZone ?? 'UTC');
    this.clock = options.clock ?? Date.now;
  }

  now(): number {
    return this.clock();
  }

  today(): QuotaDay {
    const now = this.clock();
    const resetAt = this.calendar.nextMidnight(now);
    const day = this.calendar.dayOf(now);
    const monthResetAt = this.calendar.nextMonthStart(now);
    return {
      now,
      day,
      resetAt,
      dayKeyTtlMs: resetAt + DAY_KEY_GRACE_MS - now,
      month: day.slice(0, 7),
      monthResetAt,
      monthKeyTtlMs: monthResetAt + DAY_KEY_GRACE_MS - now,
    };
  }

  /**
   * The defaults that apply to a subject: the general ones, with the daily limits of its bucket (QuotaDefaults.buckets)
   * when `key` is a bucket's guild key or a person's key in it (`discord:dm`, `discord:dm:<user>`).
   */
  defaultsFor(key: string | undefined): QuotaDefaults {
    const buckets = this.defaults.buckets;
    if (key === undefined || buckets === undefined) return this.defaults;
    const bucket = Object.entries(buckets).find(([guild]) => key === guild || key.startsWith(`${guild}:`))?.[1];
    if (!bucket) return this.defaults;
    return {
      ...this.defaults,
      dailyPerUser: bucket.dailyPerUser ?? this.defaults.dailyPerUser,
      dailyPerGuild: bucket.dailyPerGuild ?? this.defaults.dailyPerGuild,
    };
  }

  defaultDaily(kind: SubjectKind, key?: string): number {
    const defaults = this.defaultsFor(key);
    return kind === 'user' ? defaults.dailyPerUser : defaults.dailyPerGuild;
  }

  defaultConcurrent(kind: SubjectKind): number {
    return kind === 'user' ? this.defaults.concurrentPerUser : this.defaults.concurrentPerGuild;
  }
}
