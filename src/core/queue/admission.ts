import type { QuotaPort } from '../quotas/types.js';

export type { Admission, RefusalReason } from '../quotas/types.js';
export { MAX_PRIORITY } from '../quotas/types.js';

/**
 * What the queue needs from the quota store: one atomic decision at enqueue, and a release that happens exactly
 * once per job. Implemented by `QuotaStore` (src/core/quotas).
 */
export type AdmissionGate = Pick<QuotaPort, 'admit' | 'release' | 'claim'>;
