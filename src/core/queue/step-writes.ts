import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis-connection.js';
import type { ImageStash } from '../jobs/image-stash.js';
import { HISTORY_LENGTH, ImageHistory, KEPT_IMAGE_TTL_SECONDS } from '../jobs/image-history.js';
import type { JobRecord, JobRecordStore } from '../jobs/job-records.js';
import { guildKey, userKey } from '../ports.js';
import { QuotaKeys } from '../quotas/keys.js';
import { RELEASE_DELIVERED_LUA } from '../quotas/scripts.js';
import { monthOf } from '../quotas/reservation.js';
import type { JobProgress } from './generation-steps.js';
import type { GenerationJobData, GenerationJobResult } from './job-data.js';
import { partStashId } from './gallery-steps.js';

/**
 * The job-hash part of both scripts below: BullMQ's own `updateData` and `updateProgress` scripts, merged (same
 * fields, same `progress` event on the queue's event stream, so QueueEvents and the ProgressFeed see no difference).
 * KEYS[1] job hash, KEYS[2] event stream, KEYS[3] queue meta; ARGV[1] job id, ARGV[2] data, ARGV[3] progress or ''.
 * Returns -1 (like BullMQ) when the job no longer exists, writing nothing.
 */
const JOB_UPDATE_LUA = `
local function updateJob()
  if redis.call('EXISTS', KEYS[1]) ~= 1 then return -1 end
  redis.call('HSET', KEYS[1], 'data', ARGV[2])
  if ARGV[3] ~= '' then
    local maxEvents = redis.call('HGET', KEYS[3], 'opts.maxLenEvents')
    if not maxEvents then
      maxEvents = 10000
      redis.call('HSET', KEYS[3], 'opts.maxLenEvents', maxEvents)
    end
    redis.call('HSET', KEYS[1], 'progress', ARGV[3])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxEvents, '*', 'event', 'progress', 'jobId', ARGV[1], 'data', ARGV[3])
  end
  return 0
end
`;

/** The job's data (and progress) checkpointed: only the job-hash part, in the queue's slot. */
const UPDATE_JOB = script(`${JOB_UPDATE_LUA}
return updateJob()
`);

/**
 * The delivered message recorded in the job and the reservation released (counted, its cost settled): the part of a
 * delivery's writes that must be atomic, all in the queue's slot (the job hash and the quota keys share the prefix's
 * tag). KEYS[4] reservations, KEYS[5] user in-flight, KEYS[6] guild in-flight, KEYS[7] the person's admission day,
 * KEYS[8] the server's admission month, KEYS[9] the month's total; ARGV[4] user key, ARGV[5] guild key, ARGV[6] the
 * admission day, ARGV[7] the actual cost (micro-dollars) or '', ARGV[8] a gallery's images delivered or ''.
 * Returns the release result (see RELEASE_DELIVERED_LUA) or -2 for a missing job (nothing written).
 */
const DELIVERED_AND_RELEASED = script(`${JOB_UPDATE_LUA}${RELEASE_DELIVERED_LUA}
if updateJob() < 0 then return -2 end
return releaseDelivered(KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[4], ARGV[5], ARGV[6],
  {userDay = KEYS[7], guildMonth = KEYS[8], totalMonth = KEYS[9], actual = ARGV[7], count = ARGV[8]})
`);

/**
 * The person's history gets the delivered message, trimmed to its length, living as long as records: one command in
 * the history's own slot. KEYS[1] history; ARGV[1] score (delivery time, ms), ARGV[2] member, ARGV[3] length,
 * ARGV[4] ttl (s).
 */
const INDEX_HISTORY = script(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 0
`);

/** BullMQ's key names (the worker's public `toKey`: `<prefix>:<queue>:<type>`, a job's hash under its id). */
export interface QueueKeys {
  toKey(type: string): string;
}

type GenerationJob = Job<GenerationJobData, GenerationJobResult>;

/**
 * The worker's per-job writes after generation, batched per Redis Cluster slot.
 *
 * The queue's keys (the job hash, its event stream) and the quota keys share the prefix's hash tag, one slot; the
 * stashed images, the reroll record and the person's history are tagged by job, message and person (key-space.ts),
 * each in a slot of its own, so no one script can write them all. What must be atomic stays in one script in the
 * queue's slot: the job's checkpoint with the release of its reservation. The other writes are idempotent (SET of the
 * same bytes or record, ZADD of the same member, DEL) and are ordered around that script so that a crash (or a failed
 * command) at any point leaves a state the job's re-run either resumes from or repeats harmlessly:
 *
 * storeImages: 1. the image bytes (SET, the job's slot), 2. then the job's data saying they are stored (the queue's
 * slot). A crash between them leaves bytes the job does not know of: the re-run resumes its checkpointed prediction
 * (no second charge by the provider), stores the same image again (an overwrite) and the orphan, if any, expires in a
 * day. The reverse order could leave a job that says "stored" with no bytes, which would pay for the image again.
 *
 * finishDelivered (after the message is posted): 1. at once, on one connection (one round trip on a single Redis):
 * the record (SET), the history entry (a small script: ZADD with its trim), and the script: `delivered` in the job + the
 * release. 2. Only once the script has committed: the stashed image dropped (or kept for the person).
 * - Crash before the script commits (with or without the record and history written): the job still says "stored,
 *   not delivered"; its re-run reads the stashed image (still there: step 2 has not run), looks for the message it
 *   may have posted (redelivery lookup) instead of posting twice, and writes the same record, history member and
 *   script again. The reservation was not released, so it is released once, by that script.
 * - Crash after the script, before the record, history or step 2: the job says "delivered"; its re-run goes straight
 *   to finishDelivered, which writes them again. The script's release answers "already released" (0) and the quota
 *   store finds nothing to release either: never charged twice.
 * - The image is dropped only after `delivered` is committed, so a job that still needs it always has it.
 */
export class StepWrites {
  private readonly redis: RedisClient;
  private readonly quotaKeys: QuotaKeys;
  private readonly history: ImageHistory;

  constructor(
    private readonly queue: QueueKeys,
    private readonly stash: ImageStash,
    private readonly records: JobRecordStore,
    prefix: string,
  ) {
    this.redis = stash.redis;
    this.quotaKeys = new QuotaKeys(prefix);
    this.history = new ImageHistory(stash.redis, records, stash, prefix);
  }

  /** Stores the image and checkpoints `data` (which says so) in the job, with `progress` when there is one to send. */
  storeImage(job: GenerationJob, data: GenerationJobData, bytes: Buffer, progress: JobProgress | undefined): Promise<void> {
    return this.storeImages(job, data, [{ stashId: data.jobId, bytes }], progress);
  }

  /**
   * storeImage for several images at once (a gallery's, each under its own stash id, all in the job's slot): the
   * bytes first, then the job's data that says they are stored (see the class's comment for why in this order).
   */
  async storeImages(job: GenerationJob, data: GenerationJobData, images: ReadonlyArray<{ stashId: string; bytes: Buffer }>, progress: JobProgress | undefined): Promise<void> {
    const id = job.id!;
    const keys = images.map((image) => this.stash.key(image.stashId));
    const pipeline = this.redis.pipeline();
    images.forEach((image, i) => pipeline.set(keys[i]!, image.bytes, 'EX', this.stash.ttlSeconds));
    failed(await pipeline.exec());
    const reply = await run(this.redis, UPDATE_JOB, this.jobKeys(id), [id, JSON.stringify(data), progress ? JSON.stringify(progress) : '']);
    if (reply === -1) {
      // Removed while it ran: nothing says the bytes exist, so they go too.
      await this.redis.del(...keys).catch(() => undefined);
      throw missingJob(id, 'updateData');
    }
    job.data = data;
    if (progress) job.progress = progress as unknown as object;
  }

  /**
   * Checkpoints the delivered message (`data.delivered`), saves the reroll record and indexes it in the person's
   * history, releases the reservation as delivered and drops the stashed image(s) (keeps the first for
   * `KEPT_IMAGE_TTL_SECONDS` when the record says `via: 'kept'`). Returns true when this call released the
   * reservation; false when it could not tell (already released, or not the reservation it expected): the caller then
   * asks the quota store. Throws when any write failed: the job's re-run repeats them (see the class's comment).
   */
  async finishDelivered(job: GenerationJob, data: GenerationJobData, record: JobRecord): Promise<boolean> {
    const id = job.id!;
    const entry = this.records.entry(record);
    const user = userKey(data.requester);
    const guild = guildKey(data.requester);
    // The money keys of the admission day; a job admitted before days were recorded passes '' and is released by the
    // quota store instead (releaseDelivered answers -1 for a day it was not told).
    const day = data.admittedDay ?? '';
    const month = monthOf(day);
    // Step 1: three slots, sent together (on one connection, one round trip on a single Redis).
    const [saved, indexed, released] = await Promise.allSettled([
      this.redis.set(entry.key, entry.value, 'EX', entry.ttlSeconds),
      run(this.redis, INDEX_HISTORY, [this.history.key(user)], [record.createdAt, `${record.platform}:${record.messageId}`, HISTORY_LENGTH, entry.ttlSeconds]),
      run(
        this.redis,
        DELIVERED_AND_RELEASED,
        [
          ...this.jobKeys(id),
          this.quotaKeys.reservations,
          this.quotaKeys.inflight('user', user),
          this.quotaKeys.inflight('guild', guild),
          this.quotaKeys.day('user', user, day),
          this.quotaKeys.month('guild', guild, month),
          this.quotaKeys.totalMonth(month),
        ],
        [id, JSON.stringify(data), '', user, guild, day, record.costMicros ?? '', record.images ?? ''],
      ),
    ]);
    for (const result of [released, saved, indexed]) if (result.status === 'rejected') throw result.reason;
    const reply = (released as PromiseFulfilledResult<unknown>).value;
    if (reply === -2) throw missingJob(id, 'updateData');
    job.data = data;
    // Step 2, only now that `delivered` is committed: the stashed images (one slot, the job's).
    const parts = Math.max(1, data.parts?.length ?? 0);
    const dropped = Array.from({ length: parts }, (_, i) => this.stash.key(partStashId(data.jobId, i)));
    const stash = this.redis.pipeline();
    if (record.via === 'kept') stash.expire(dropped.shift()!, KEPT_IMAGE_TTL_SECONDS);
    if (dropped.length > 0) stash.del(...dropped);
    failed(await stash.exec());
    return reply === 1;
  }

  private jobKeys(jobId: string): string[] {
    return [this.queue.toKey(jobId), this.queue.toKey('events'), this.queue.toKey('meta')];
  }
}

/** Throws the first error of a pipeline's replies (ioredis reports them per command). */
function failed(replies: Array<[Error | null, unknown]> | null): void {
  if (replies === null) throw new Error('Redis pipeline aborted');
  for (const [err] of replies) if (err) throw err;
}

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, falling back to EVAL once when the server does not have the script (after a restart or SCRIPT FLUSH). */
async function run(redis: RedisClient, s: Script, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  }
}

/** What BullMQ's own job.updateData throws for a job that no longer exists (removed while it ran). */
function missingJob(jobId: string, command: string): Error {
  return new Error(`Missing key for job ${jobId}. ${command}`);
}
