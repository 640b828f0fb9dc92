import { InvalidInput } from '../errors.js';
import { MAX_COUNT } from '../request.js';
import { QuotaContext, type QuotaDay, type QuotaOptions } from './context.js';
import { reconcile } from './reconcile.js';
import { parseReservation, releaseKeys } from './reservation.js';
import { admitScript, claimScript, releaseScript } from './scripts.js';
import {
  MAX_PRIORITY,
  type Admission,
  type AdmitInput,
  type QuotaPort,
  type ReconcileOptions,
  type ReconcileResult,
  type RefusalReason,
  type Refused,
  type ReleaseOutcome,
} from './types.js';
import { requireCount, requireKey } from './validate.js';

/** How long a delivery id is remembered: platforms redeliver within seconds to minutes. */
const DEFAULT_DEDUPE_TTL_MS = 86_400_000;

export interface QuotaStoreOptions extends QuotaOptions {
  /** How long a dedupe key is remembered after admission. Default 24 h. */
  dedupeTtlMs?: number;
}

const REASONS: readonly RefusalReason[] = [
  'banned',
  'user_daily',
  'guild_daily',
  'global_daily',
  'user_concurrent',
  'guild_concurrent',
  'user_budget',
  'guild_budget',
  'global_budget',
];

/**
 * Admission control on Redis: one Lua script checks duplicate delivery, bans, daily quotas and in-flight limits
 * for the user and the guild, and reserves; release() frees a reservation exactly once; reconcile() repairs what
 * crashes leave behind.
 */
export class QuotaStore implements QuotaPort {
  private readonly ctx: QuotaContext;
  private readonly dedupeTtlMs: number;

  constructor(options: QuotaStoreOptions) {
    this.ctx = new QuotaContext(options);
    this.dedupeTtlMs = requireCount(options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS, 'dedupeTtlMs', 1, 30 * 86_400_000);
  }

  /** Admits and reserves, or says why not. Refusals and duplicates charge nothing. */
  async admit(input: AdmitInput): Promise<Admission> {
    const jobId = requireKey(input.jobId, 'jobId');
    const dedupeKey = requireKey(input.dedupeKey, 'dedupeKey');
    const userKey = requireKey(input.userKey, 'userKey');
    const guildKey = requireKey(input.guildKey, 'guildKey');
    const cost = requireCount(input.costMicros ?? 0, 'costMicros', 0, Number.MAX_SAFE_INTEGER);
    const images = requireCount(input.images ?? 1, 'images', 1, MAX_COUNT);
    const { keys } = this.ctx;
    const defaults = this.ctx.defaultsFor(guildKey);
    const today = this.ctx.today();
    const reply = await admitScript.run(
      this.ctx.redis,
      [
        keys.dedupe(dedupeKey),
        keys.reservations,
        keys.subjects,
        keys.ban(userKey),
        keys.limits('user', userKey),
        keys.limits('guild', guildKey),
        keys.day('user', userKey, today.day),
        keys.day('guild', guildKey, today.day),
        keys.grant('user', userKey),
        keys.grant('guild', guildKey),
        keys.inflight('user', userKey),
        keys.inflight('guild', guildKey),
        keys.totalDay(today.day),
        keys.month('guild', guildKey, today.month),
        keys.totalMonth(today.month),
        ...(input.queue ? [input.queue.wait, input.queue.prioritized] : []),
      ],
      [
        jobId,
        userKey,
        guildKey,
        today.day,
        today.now,
        defaults.dailyPerUser,
        defaults.concurrentPerUser,
        defaults.dailyPerGuild,
        defaults.concurrentPerGuild,
        today.dayKeyTtlMs,
        this.dedupeTtlMs,
        MAX_PRIORITY,
        defaults.dailyTotal ?? '',
        defaults.maxDailyPerGuild ?? '',
        cost,
        defaults.guildMonthlyBudget ?? '',
        defaults.personDailyBudget ?? '',
        defaults.monthlyBudget ?? '',
        today.monthKeyTtlMs,
        images,
      ],
    );
    return toAdmission(reply, jobId, today, cost, images);
  }

  /**
   * Frees the reservation of `jobId` exactly once, whoever calls (completion, final failure, removal, cancel, the
   * reconciler). Returns false when it was already released or never existed.
   */
  async release(jobId: string, outcome: ReleaseOutcome, actualMicros?: number, delivered?: number): Promise<boolean> {
    requireKey(jobId, 'jobId');
    if (outcome !== 'delivered' && outcome !== 'refunded') {
      throw new InvalidInput('outcome must be "delivered" or "refunded"', 'outcome');
    }
    const raw = await this.ctx.redis.hget(this.ctx.keys.reservations, jobId);
    if (raw === null) return false;
    const actual = actualMicros === undefined || outcome !== 'delivered' ? '' : requireCount(actualMicros, 'actualMicros', 0, Number.MAX_SAFE_INTEGER);
    const count = delivered === undefined || outcome !== 'delivered' ? '' : requireCount(delivered, 'delivered', 0, MAX_COUNT);
    return this.releaseRaw(jobId, raw, outcome, actual, count);
  }

  /**
   * Claims the reservation of a job about to start: true when it is held (the job may reach a provider), false when
   * it is gone (refunded by the reconciler: the job must end without generating). Atomic against the reconciler's
   * refund: one of the two wins.
   */
  async claim(jobId: string): Promise<boolean> {
    requireKey(jobId, 'jobId');
    return (await claimScript.run(this.ctx.redis, [this.ctx.keys.reservations], [jobId])) === 1;
  }

  /** Refunds reservations whose job no longer exists, then recomputes in-flight counters from the reservations. */
  async reconcile(isJobAlive: (jobId: string) => Promise<boolean>, options: ReconcileOptions = {}): Promise<ReconcileResult> {
    return reconcile(this.ctx, isJobAlive, (jobId, raw) => this.releaseRaw(jobId, raw, 'refunded'), options);
  }

  /** Job ids holding a reservation (admitted, not yet released). */
  async pendingReservations(): Promise<string[]> {
    return this.ctx.redis.hkeys(this.ctx.keys.reservations);
  }

  private async releaseRaw(jobId: string, raw: string, outcome: ReleaseOutcome, actual: number | '' = '', delivered: number | '' = ''): Promise<boolean> {
    const reservation = parseReservation(raw);
    // Unreadable entries cannot say which counters to decrement; the reconciler's recount repairs them.
    if (reservation === undefined) return false;
    const reply = await releaseScript.run(this.ctx.redis, releaseKeys(this.ctx.keys, reservation), [jobId, raw, outcome, actual, delivered]);
    return reply === 1;
  }
}

function toAdmission(reply: unknown, jobId: string, today: QuotaDay, cost: number, images: number): Admission {
  const resetAt = today.resetAt;
  if (!Array.isArray(reply)) throw new Error('quota admit script returned an unexpected reply');
  const [status, a, b, c, d] = reply as unknown[];
  if (status === 'accepted') return { status, jobId, position: Number(a), ...(b === undefined ? {} : { ahead: Number(b) }), day: today.day };
  if (status === 'duplicate') return { status, jobId: String(a) };
  const reason = REASONS.find((r) => r === a);
  if (status !== 'refused' || reason === undefined) throw new Error('quota admit script returned an unexpected reply');
  const refused: Refused = { status, reason, limit: Number(b), used: Number(c) };
  if (reason === 'user_daily' || reason === 'guild_daily' || reason === 'global_daily' || reason === 'user_budget') refused.resetAt = resetAt;
  if (reason === 'guild_budget' || reason === 'global_budget') refused.resetAt = today.monthResetAt;
  if (reason === 'user_budget' || reason === 'guild_budget' || reason === 'global_budget') refused.cost = cost;
  if (reason === 'banned' && typeof d === 'string' && d !== '') refused.banReason = d;
  if (images > 1 && reason !== 'banned' && reason !== 'user_concurrent' && reason !== 'guild_concurrent') refused.asked = images;
  return refused;
}
