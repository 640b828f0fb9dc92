import { InvalidInput } from '../errors.js';
import type { BucketDefaults, QuotaDefaults, QuotaTarget } from './types.js';

/** Longest identifier accepted (platform keys are far shorter; this only stops garbage from becoming key names). */
const MAX_KEY_LENGTH = 256;
/** Highest limit an admin may set; large enough for "unlimited in practice", small enough to stay an integer. */
export const MAX_LIMIT = 1_000_000;

/** A non-empty identifier without whitespace. */
export function requireKey(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH || /\s/.test(value)) {
    throw new InvalidInput(`${field} must be a non-empty identifier of at most ${MAX_KEY_LENGTH} characters without spaces`, field);
  }
  return value;
}

/** A whole number in [min, max]; rejects NaN, infinities, fractions and non-numbers. */
export function requireCount(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInput(`${field} must be a whole number between ${min} and ${max}`, field);
  }
  return value;
}

export function requireTarget(target: unknown): QuotaTarget {
  if (typeof target !== 'object' || target === null) throw new InvalidInput('target must be a user or a guild', 'target');
  const { kind, key } = target as { kind?: unknown; key?: unknown };
  if (kind !== 'user' && kind !== 'guild') throw new InvalidInput('target.kind must be "user" or "guild"', 'target.kind');
  return { kind, key: requireKey(key, 'target.key') };
}

export function requireDefaults(defaults: QuotaDefaults): QuotaDefaults {
  return {
    dailyPerUser: requireCount(defaults.dailyPerUser, 'defaults.dailyPerUser', 0, MAX_LIMIT),
    concurrentPerUser: requireCount(defaults.concurrentPerUser, 'defaults.concurrentPerUser', 0, MAX_LIMIT),
    dailyPerGuild: requireCount(defaults.dailyPerGuild, 'defaults.dailyPerGuild', 0, MAX_LIMIT),
    concurrentPerGuild: requireCount(defaults.concurrentPerGuild, 'defaults.concurrentPerGuild', 0, MAX_LIMIT),
    dailyTotal: defaults.dailyTotal === undefined ? undefined : requireCount(defaults.dailyTotal, 'defaults.dailyTotal', 0, Number.MAX_SAFE_INTEGER),
    maxDailyPerGuild: defaults.maxDailyPerGuild === undefined ? undefined : requireCount(defaults.maxDailyPerGuild, 'defaults.maxDailyPerGuild', 0, MAX_LIMIT),
    maxGrant: defaults.maxGrant === undefined ? undefined : requireCount(defaults.maxGrant, 'defaults.maxGrant', 0, MAX_LIMIT),
    guildMonthlyBudget: optionalMicros(defaults.guildMonthlyBudget, 'defaults.guildMonthlyBudget'),
    personDailyBudget: optionalMicros(defaults.personDailyBudget, 'defaults.personDailyBudget'),
    monthlyBudget: optionalMicros(defaults.monthlyBudget, 'defaults.monthlyBudget'),
    buckets: defaults.buckets === undefined ? undefined : requireBuckets(defaults.buckets),
  };
}

function requireBuckets(buckets: Readonly<Record<string, BucketDefaults>>): Record<string, BucketDefaults> {
  const out: Record<string, BucketDefaults> = {};
  for (const [key, bucket] of Object.entries(buckets)) {
    const field = `defaults.buckets.${requireKey(key, 'defaults.buckets')}`;
    out[key] = {
      dailyPerUser: bucket.dailyPerUser === undefined ? undefined : requireCount(bucket.dailyPerUser, `${field}.dailyPerUser`, 0, MAX_LIMIT),
      dailyPerGuild: bucket.dailyPerGuild === undefined ? undefined : requireCount(bucket.dailyPerGuild, `${field}.dailyPerGuild`, 0, MAX_LIMIT),
    };
  }
  return out;
}

/** A budget in micro-dollars, or undefined for none. */
function optionalMicros(value: number | undefined, name: string): number | undefined {
  return value === undefined ? undefined : requireCount(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/** The prefix must carry a Redis Cluster hash tag so every key a script touches lands in one slot. */
export function requirePrefix(prefix: string): string {
  if (!/^[^\s]*\{[^{}\s]+\}[^\s]*$/.test(prefix)) {
    throw new InvalidInput('prefix must contain a hash tag such as {fluxbot}, and no spaces', 'prefix');
  }
  return prefix;
}
