/**
 * The admission port the queue needs from the quota store: one atomic decision at enqueue, and a release that
 * happens exactly once per job. Implemented by `QuotaStore` (src/core/quotas).
 */
export type RefusalReason = 'banned' | 'user_daily' | 'guild_daily' | 'user_concurrent' | 'guild_concurrent';

export type Admission =
  | { status: 'accepted'; jobId: string; position: number }
  | { status: 'duplicate'; jobId: string }
  | { status: 'refused'; reason: RefusalReason; limit?: number; used?: number; resetAt?: number; banReason?: string };

export interface AdmissionGate {
  admit(input: { jobId: string; dedupeKey: string; userKey: string; guildKey: string }): Promise<Admission>;
  /** Returns false when the job was already released (by another path). */
  release(jobId: string, outcome: 'delivered' | 'refunded'): Promise<boolean>;
}
