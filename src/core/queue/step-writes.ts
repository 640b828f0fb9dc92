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

/**
 * The generated image (or a gallery call's images) is stored, the job records it (and, as a rule, its 'delivering'
 * stage): one atomic call.
 */
const STORE_IMAGE = script(`${JOB_UPDATE_LUA}
-- KEYS[4..] the images; ARGV[4] image ttl (s), ARGV[5..] their bytes in the same order
if updateJob() < 0 then return -1 end
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[4]) end
return 0
`);

/**
 * The delivered message is recorded in the job, its record saved for rerolls and indexed in the person's history,
 * the reservation released (counted), the stashed image dropped (or, for an image no channel could take, kept for
 * the person to fetch): one atomic call, so a crash leaves either all of it or none (the job then resumes from the
 * stored image as before). Returns the release result (see RELEASE_DELIVERED_LUA) or -2 for a missing job.
 */
const FINISH_DELIVERED = script(`${JOB_UPDATE_LUA}${RELEASE_DELIVERED_LUA}
-- KEYS[4] record, KEYS[5] image, KEYS[6] reservations, KEYS[7] user in-flight, KEYS[8] guild in-flight, KEYS[9] history,
-- KEYS[10] the person's admission day, KEYS[11] the server's admission month, KEYS[12] the month's total
-- ARGV[4] record JSON, ARGV[5] record ttl (s), ARGV[6] user key, ARGV[7] guild key, ARGV[8] history member,
-- ARGV[9] now (ms), ARGV[10] history length, ARGV[11] kept image ttl (s), or '' when the image was posted,
-- ARGV[12] the admission day, ARGV[13] the actual cost (micro-dollars) or '', ARGV[14] a gallery's images delivered or ''
if updateJob() < 0 then return -2 end
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
local released = releaseDelivered(KEYS[6], KEYS[7], KEYS[8], ARGV[1], ARGV[6], ARGV[7], ARGV[12],
  {userDay = KEYS[10], guildMonth = KEYS[11], totalMonth = KEYS[12], actual = ARGV[13], count = ARGV[14]})
if ARGV[11] == '' then redis.call('DEL', KEYS[5]) else redis.call('EXPIRE', KEYS[5], ARGV[11]) end
redis.call('ZADD', KEYS[9], ARGV[9], ARGV[8])
redis.call('ZREMRANGEBYRANK', KEYS[9], 0, -1 - tonumber(ARGV[10]))
redis.call('EXPIRE', KEYS[9], ARGV[5])
return released
`);

/** BullMQ's key names (the worker's public `toKey`: `<prefix>:<queue>:<type>`, a job's hash under its id). */
export interface QueueKeys {
  toKey(type: string): string;
}

type GenerationJob = Job<GenerationJobData, GenerationJobResult>;

/**
 * The worker's per-job writes after generation, batched into one Redis round trip each instead of three or four:
 * a worker process runs many jobs at once, and every round trip costs CPU on both sides. Same keys and values as
 * ImageStash.put + job.updateData + job.updateProgress, and as job.updateData + JobRecordStore.save +
 * QuotaStore.release('delivered') + ImageStash.delete. Runs on the stash's connection.
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

  /** storeImage for several images at once (a gallery's, each under its own stash id), all or none. */
  async storeImages(job: GenerationJob, data: GenerationJobData, images: ReadonlyArray<{ stashId: string; bytes: Buffer }>, progress: JobProgress | undefined): Promise<void> {
    const id = job.id!;
    const keys = [...this.jobKeys(id, this.stash.key(images[0]!.stashId)), ...images.slice(1).map((image) => this.stash.key(image.stashId))];
    const reply = await run(this.redis, STORE_IMAGE, keys, [
      id,
      JSON.stringify(data),
      progress ? JSON.stringify(progress) : '',
      this.stash.ttlSeconds,
      ...images.map((image) => image.bytes),
    ]);
    if (reply === -1) throw missingJob(id, 'updateData');
    job.data = data;
    if (progress) job.progress = progress as unknown as object;
  }

  /**
   * Checkpoints the delivered message (`data.delivered`), saves the reroll record and indexes it in the person's
   * history, releases the reservation as delivered and drops the stashed image (keeps it for `KEPT_IMAGE_TTL_SECONDS`
   * when the record says `via: 'kept'`). Returns true when this call released the reservation; false when it could
   * not tell (already released, or not the reservation it expected): the caller then asks the quota store.
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
    const reply = await run(
      this.redis,
      FINISH_DELIVERED,
      [
        ...this.jobKeys(id, entry.key),
        this.stash.key(data.jobId),
        this.quotaKeys.reservations,
        this.quotaKeys.inflight('user', user),
        this.quotaKeys.inflight('guild', guildKey(data.requester)),
        this.history.key(user),
        this.quotaKeys.day('user', user, day),
        this.quotaKeys.month('guild', guild, month),
        this.quotaKeys.totalMonth(month),
      ],
      [
        id,
        JSON.stringify(data),
        '',
        entry.value,
        entry.ttlSeconds,
        user,
        guildKey(data.requester),
        `${record.platform}:${record.messageId}`,
        record.createdAt,
        HISTORY_LENGTH,
        record.via === 'kept' ? KEPT_IMAGE_TTL_SECONDS : '',
        day,
        record.costMicros ?? '',
        record.images ?? '',
      ],
    );
    if (reply === -2) throw missingJob(id, 'updateData');
    job.data = data;
    return reply === 1;
  }

  private jobKeys(jobId: string, extra: string): string[] {
    return [this.queue.toKey(jobId), this.queue.toKey('events'), this.queue.toKey('meta'), extra];
  }
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
