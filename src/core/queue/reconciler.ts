import type { Logger } from 'pino';
import type { QuotaPort } from '../quotas/types.js';
import type { GenerationQueue } from './generation-queue.js';

/**
 * Repairs quota reservations that crashes left behind: a job that completed but whose release was lost is counted as
 * delivered; one that failed, or that no longer exists, is refunded; in-flight counters are recomputed.
 */
export async function reconcileQuotas(queue: GenerationQueue, quotas: QuotaPort, logger: Logger, minAgeMs = 60_000): Promise<{ released: number; repaired: number }> {
  for (const jobId of await quotas.pendingReservations()) {
    const state = await queue.getJobState(jobId);
    if (state === 'completed') await quotas.release(jobId, 'delivered');
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
