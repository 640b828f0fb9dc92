import type { Logger } from 'pino';
import type { QuotaPort } from '../quotas/types.js';
import type { GenerationQueue } from './generation-queue.js';
import { SUBMIT_DEADLINE_MS } from './generation-service.js';

/**
 * Reservations younger than this are never refunded: their submission may still complete (the adapter's status post
 * can take minutes under rate limits), and GenerationService.submit gives up (refunding itself) after
 * SUBMIT_DEADLINE_MS, half of this, so a submission that can still complete is never refunded under it.
 */
export const RECONCILE_MIN_AGE_MS = 2 * SUBMIT_DEADLINE_MS;

/**
 * Repairs quota reservations that crashes left behind: a job that completed but whose release was lost is counted as
 * delivered; one that failed, or that no longer exists, is refunded; in-flight counters are recomputed.
 */
export async function reconcileQuotas(queue: GenerationQueue, quotas: QuotaPort, logger: Logger, minAgeMs = RECONCILE_MIN_AGE_MS): Promise<{ released: number; repaired: number }> {
  for (const jobId of await quotas.pendingReservations()) {
    const state = await queue.getJobState(jobId);
    if (state !== 'completed' && state !== 'failed') continue;
    // Delivered (completed), or failed after its image existed (its keeping was lost too): charged, never refunded, it
    // was paid for; settled at the image's recorded cost.
    const stored = (await queue.getJob(jobId))?.data.stored;
    if (state === 'completed' || stored) await quotas.release(jobId, 'delivered', stored?.costMicros);
  }
  const alive = async (jobId: string) => {
    const state = await queue.getJobState(jobId);
    return state !== 'completed' && state !== 'failed' && state !== 'unknown';
  };
  const result = await quotas.reconcile(alive, { minAgeMs });
  if (result.released > 0 || result.repaired > 0) logger.warn(result, 'quota reconciler repaired reservations');
  return result;
}

/** Runs the reconciler every `intervalMs`; returns a stop function. */
export function startReconciler(queue: GenerationQueue, quotas: QuotaPort, logger: Logger, intervalMs = 60_000): () => void {
  const timer = setInterval(() => {
    reconcileQuotas(queue, quotas, logger).catch((err: unknown) => logger.error({ err }, 'quota reconciler failed'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
