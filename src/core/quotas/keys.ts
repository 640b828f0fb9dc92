import type { SubjectKind } from './types.js';

/**
 * Redis key names for quotas. Every key starts with the prefix, whose hash tag (`{fluxbot}`) puts all of them in
 * one Redis Cluster slot, so any Lua script may touch any of them.
 *
 * Subject keys end in a fixed suffix (`:inflight`, `:limits`, `:day:YYYY-MM-DD`...), so two different subjects never
 * share a key even though platform keys contain colons.
 */
export class QuotaKeys {
  constructor(readonly prefix: string) {}

  /**
   * Hash `{daily, grant, gen, spent}`: images charged today to the daily quota and to the grant; reset generation;
   * micro-dollars spent (a person's daily budget; an admin's reset of the day's images leaves it).
   */
  day(kind: SubjectKind, key: string, day: string): string {
    return `${this.prefix}:q:${kind}:${key}:day:${day}`;
  }

  /** Hash `{daily}`: images charged on this day across every server (the operator's total cap, QUOTA_DAILY_TOTAL). */
  totalDay(day: string): string {
    return `${this.prefix}:q:total:day:${day}`;
  }

  /** Hash `{spent}`: micro-dollars a server spent in a month (`YYYY-MM`), estimates of jobs in flight included. */
  month(kind: SubjectKind, key: string, month: string): string {
    return `${this.prefix}:q:${kind}:${key}:month:${month}`;
  }

  /** Hash `{spent}`: micro-dollars spent in a month across every server (the operator's BUDGET_MONTHLY_USD). */
  totalMonth(month: string): string {
    return `${this.prefix}:q:total:month:${month}`;
  }

  /** Integer: reserved jobs not yet released (queued + active). */
  inflight(kind: SubjectKind, key: string): string {
    return `${this.prefix}:q:${kind}:${key}:inflight`;
  }

  /** Hash `{daily?, concurrent?}`: an admin's overrides of the defaults. */
  limits(kind: SubjectKind, key: string): string {
    return `${this.prefix}:q:${kind}:${key}:limits`;
  }

  /** Integer: granted extra images, spent only when the daily quota is used up; never expires. */
  grant(kind: SubjectKind, key: string): string {
    return `${this.prefix}:q:${kind}:${key}:grant`;
  }

  /** Hash `{reason, by, at}` while the user is banned. */
  ban(userKey: string): string {
    return `${this.prefix}:q:user:${userKey}:ban`;
  }

  /** String: the job admitted for this delivery id; expires after a day. */
  dedupe(dedupeKey: string): string {
    return `${this.prefix}:q:dedupe:${dedupeKey}`;
  }

  /** Hash jobId → reservation JSON (who, which day, which buckets were charged). */
  get reservations(): string {
    return `${this.prefix}:q:reservations`;
  }

  /** Set of `user|<key>` / `guild|<key>` whose in-flight counter may be non-zero: the reconciler's work list. */
  get subjects(): string {
    return `${this.prefix}:q:subjects`;
  }

  /** Stream of admin actions. */
  get audit(): string {
    return `${this.prefix}:audit`;
  }
}

/** Member of the subjects set for one counter owner. */
export function subjectId(kind: SubjectKind, key: string): string {
  return `${kind}|${key}`;
}

/** Inverse of subjectId; undefined for anything else. */
export function parseSubjectId(id: string): { kind: SubjectKind; key: string } | undefined {
  const bar = id.indexOf('|');
  const kind = id.slice(0, bar);
  if (bar < 0 || (kind !== 'user' && kind !== 'guild')) return undefined;
  return { kind, key: id.slice(bar + 1) };
}
