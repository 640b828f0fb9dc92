import type { QuotaContext } from './context.js';
import { parseSubjectId } from './keys.js';
import { parseReservation } from './reservation.js';
import { recountScript } from './scripts.js';
import type { ReconcileOptions, ReconcileResult } from './types.js';
import { requireCount } from './validate.js';

const DEFAULT_MIN_AGE_MS = 60_000;
/** Counters recounted per script call: bounds the KEYS list and the time one script holds Redis. */
const RECOUNT_BATCH = 100;

/**
 * Repairs what crashes leave behind: a worker that died between finishing a job and releasing it, or a bot that
 * admitted and then failed to enqueue. Reservations whose job is gone are refunded (released exactly once, so a
 * late release by the job's owner is harmless), then every in-flight counter is recomputed from the reservations.
 */
export async function reconcile(
  ctx: QuotaContext,
  isJobAlive: (jobId: string) => Promise<boolean>,
  refund: (jobId: string, raw: string) => Promise<boolean>,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const minAgeMs = requireCount(options.minAgeMs ?? DEFAULT_MIN_AGE_MS, 'minAgeMs', 0, Number.MAX_SAFE_INTEGER);
  const now = ctx.now();
  let released = 0;
  const reservations = await ctx.redis.hgetall(ctx.keys.reservations);
  for (const [jobId, raw] of Object.entries(reservations)) {
    const reservation = parseReservation(raw);
    // Young reservations may belong to jobs still being added to the queue.
    if (reservation === undefined || now - reservation.at < minAgeMs) continue;
    if (await isJobAlive(jobId)) continue;
    if (await refund(jobId, raw)) released += 1;
  }
  return { released, repaired: await recountAll(ctx) };
}

async function recountAll(ctx: QuotaContext): Promise<number> {
  const { redis, keys } = ctx;
  let repaired = 0;
  let cursor = '0';
  do {
    const [next, members] = await redis.sscan(keys.subjects, cursor, 'COUNT', RECOUNT_BATCH);
    cursor = next;
    const ids: string[] = [];
    const counters: string[] = [];
    for (const id of members) {
      const subject = parseSubjectId(id);
      if (subject === undefined) continue;
      ids.push(id);
      counters.push(keys.inflight(subject.kind, subject.key));
    }
    if (ids.length > 0) repaired += Number(await recountScript.run(redis, [keys.reservations, keys.subjects, ...counters], ids));
  } while (cursor !== '0');
  return repaired;
}
