import { Job, QueueEvents } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import type { JobRecord } from '../../../src/core/jobs/job-records.js';
import { guildKey, userKey, type Requester } from '../../../src/core/ports.js';
import { QUEUE_NAME } from '../../../src/core/queue/generation-queue.js';
import type { GenerationJobData } from '../../../src/core/queue/job-data.js';
import { StepWrites } from '../../../src/core/queue/step-writes.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import { dropPrefix, makeCore, person, target } from '../../helpers/core.js';

/**
 * The worker's batched writes must leave Redis exactly as the separate calls did (ImageStash.put + job.updateData +
 * job.updateProgress; job.updateData + JobRecordStore.save + QuotaStore.release + ImageStash.delete), and the release
 * folded into the last one must still happen exactly once whoever else releases.
 */
let core: FluxbotCore;
let writes: StepWrites;

beforeEach(async () => {
  core = await makeCore();
  writes = new StepWrites(core.queue, core.stash, core.records, core.prefix);
});
afterEach(async () => {
  await core.close(100);
  await dropPrefix(core.prefix);
});

function fluxRequest() {
  const r = parseFluxRequest({ prompt: 'a lighthouse', seed: 7 });
  if (!r.ok) throw r.error;
  return r.request;
}

/** A job admitted the real way (a reservation is held), not picked up by any worker. */
async function submitted(who: Requester = person('u1')): Promise<Job<GenerationJobData>> {
  const r = await core.service.submit(fluxRequest(), who, target, { dedupeKey: `d-${Math.random()}` });
  if (r.status !== 'queued') throw new Error(r.status);
  return (await core.queue.getJob(r.jobId))!;
}

const stored = {
  provider: 'replicate' as const,
  predictionId: 'p1',
  seed: 7,
  width: 64,
  height: 64,
  format: 'png' as const,
  contentType: 'image/png',
  nsfw: false,
  generationMs: 12,
  bytes: 5,
};

function recordOf(data: GenerationJobData, messageId: string): JobRecord {
  return {
    jobId: data.jobId,
    request: data.request,
    requester: data.requester,
    target: data.target,
    platform: 'discord',
    messageId,
    channelId: 'c1',
    provider: 'replicate',
    seed: 7,
    createdAt: 1,
  };
}

describe('StepWrites.storeImage', () => {
  it('stores the bytes, checkpoints the data and records the stage, with a progress event on the queue stream', async () => {
    const events = new QueueEvents(QUEUE_NAME, { connection: core.connect({ maxRetriesPerRequest: null }), prefix: core.prefix });
    await events.waitUntilReady();
    const seen = new Promise<unknown>((resolve) => events.on('progress', ({ data }) => resolve(data)));
    const job = await submitted();
    const data = { ...job.data, stored };
    const bytes = Buffer.from([1, 2, 3, 4, 5]);
    await writes.storeImage(job, data, bytes, { stage: 'delivering' });

    expect((await core.stash.get(data.jobId))?.equals(bytes)).toBe(true);
    const reread = (await Job.fromId(core.queue, job.id!))!;
    expect(reread.data.stored).toEqual(stored);
    expect(reread.progress).toEqual({ stage: 'delivering' });
    expect(await seen).toEqual({ stage: 'delivering' });
    expect(job.data.stored).toEqual(stored);
    await events.close();
  });

  it('without a stage to send, leaves progress alone', async () => {
    const job = await submitted();
    await writes.storeImage(job, { ...job.data, stored }, Buffer.from('x'), undefined);
    expect((await Job.fromId(core.queue, job.id!))!.progress).toBe(0);
  });

  it('refuses a job that no longer exists and stores nothing', async () => {
    const job = await submitted();
    await job.remove();
    await expect(writes.storeImage(job, { ...job.data, stored }, Buffer.from('x'), { stage: 'delivering' })).rejects.toThrow(/Missing key for job/);
    expect(await core.stash.get(job.data.jobId)).toBeNull();
  });
});

describe('StepWrites.finishDelivered', () => {
  it('checkpoints the delivery, saves the record, counts the reservation once and drops the stashed image', async () => {
    const who = person('u1');
    const job = await submitted(who);
    await core.stash.put(job.data.jobId, Buffer.from('img'));
    expect((await core.admin.userView(userKey(who), guildKey(who))).inFlight).toBe(1);
    const data: GenerationJobData = { ...job.data, stored, delivered: { platform: 'discord', messageId: 'm1', channelId: 'c1' } };

    expect(await writes.finishDelivered(job, data, recordOf(data, 'm1'))).toBe(true);

    expect((await Job.fromId(core.queue, job.id!))!.data.delivered).toEqual(data.delivered);
    expect(await core.records.find('discord', 'm1')).toMatchObject({ jobId: data.jobId, seed: 7 });
    expect(await core.stash.get(data.jobId)).toBeNull();
    const view = await core.admin.userView(userKey(who), guildKey(who));
    expect([view.inFlight, view.usedToday]).toEqual([0, 1]);
    expect((await core.admin.show({ kind: 'guild', key: guildKey(who) })).inFlight).toBe(0);
    // Released exactly once: a second finish (a re-run) and the quota store both find nothing left.
    expect(await writes.finishDelivered(job, data, recordOf(data, 'm1'))).toBe(false);
    expect(await core.quotas.release(data.jobId, 'delivered')).toBe(false);
    expect((await core.admin.userView(userKey(who), guildKey(who))).inFlight).toBe(0);
  });

  it('races with other releases: exactly one of them releases', async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, () => submitted()));
    const results = await Promise.all(
      jobs.map(async (job) => {
        const data: GenerationJobData = { ...job.data, delivered: { platform: 'discord', messageId: `m-${job.id}`, channelId: 'c1' } };
        const [a, b] = await Promise.all([writes.finishDelivered(job, data, recordOf(data, `m-${job.id}`)), core.quotas.release(data.jobId, 'refunded')]);
        return Number(a) + Number(b);
      }),
    );
    expect(results).toEqual(jobs.map(() => 1));
    expect((await core.admin.userView(userKey(person('u1')), guildKey(person('u1')))).inFlight).toBe(0);
  });

  it('leaves a reservation that is not the expected one to the quota store', async () => {
    const job = await submitted(person('u1'));
    // Job data naming someone else than the reservation (never happens through submit): no release here.
    const data: GenerationJobData = { ...job.data, requester: person('u2'), delivered: { platform: 'discord', messageId: 'm9', channelId: 'c1' } };
    expect(await writes.finishDelivered(job, data, recordOf(data, 'm9'))).toBe(false);
    expect((await core.admin.userView(userKey(person('u1')), guildKey(person('u1')))).inFlight).toBe(1);
    expect(await core.quotas.release(data.jobId, 'delivered')).toBe(true);
  });
});
