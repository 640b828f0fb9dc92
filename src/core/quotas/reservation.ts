import type { QuotaKeys } from './keys.js';

/** Which bucket paid for an image: the day's quota or the persistent grant balance. */
export type Bucket = 'daily' | 'grant';

/** A reservation as stored by the admit script (see scripts.ts). */
export interface Reservation {
  userKey: string;
  guildKey: string;
  day: string;
  userBucket: Bucket;
  guildBucket: Bucket;
  /** Admission time, epoch ms. */
  at: number;
  /** The estimated cost reserved, micro-dollars (0 for reservations made before costs were counted). */
  cost: number;
}

/** The month (`YYYY-MM`) a quota day (`YYYY-MM-DD`) belongs to: the month whose budgets a job admitted then counts. */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

function isBucket(value: unknown): value is Bucket {
  return value === 'daily' || value === 'grant';
}

/** Parses a stored reservation; undefined when it is not one (hand-edited or corrupted data). */
export function parseReservation(raw: string): Reservation | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.u !== 'string' || typeof r.g !== 'string' || typeof r.d !== 'string') return undefined;
  if (!isBucket(r.ub) || !isBucket(r.gb)) return undefined;
  const at = Number(r.at);
  if (!Number.isFinite(at)) return undefined;
  const cost = Number(r.c ?? 0);
  return { userKey: r.u, guildKey: r.g, day: r.d, userBucket: r.ub, guildBucket: r.gb, at, cost: Number.isFinite(cost) ? cost : 0 };
}

/** The keys the release script needs for one reservation, in its KEYS order. */
export function releaseKeys(keys: QuotaKeys, r: Reservation): string[] {
  return [
    keys.reservations,
    keys.inflight('user', r.userKey),
    keys.inflight('guild', r.guildKey),
    keys.day('user', r.userKey, r.day),
    keys.day('guild', r.guildKey, r.day),
    keys.grant('user', r.userKey),
    keys.grant('guild', r.guildKey),
    keys.totalDay(r.day),
    keys.month('guild', r.guildKey, monthOf(r.day)),
    keys.totalMonth(monthOf(r.day)),
  ];
}
