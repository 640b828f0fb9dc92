import { Job, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { ImageStash } from '../../../src/core/jobs/image-stash.js';
import { KEPT_IMAGE_TTL_SECONDS } from '../../../src/core/jobs/image-history.js';
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
 * folded into the last one must still happen exactly once whoever else releases. Their keys sit in several cluster
 * slots, so they are several writes: a crash between any two of them (simulated by making one fail, then running the
 * step again as the job's re-run would) must never charge twice, lose the image or leave the record out.
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

type Command = 'set' | 'evalsha' | 'pipeline';

/**
 * StepWrites on a connection whose `nth` call of `command` fails (the process died, or the node went away, at that
 * point): a pipeline is built as usual and fails at exec, having sent nothing.
 */
function crashingAt(command: Command, nth = 1): StepWrites {
  const redis = core.stash.redis;
  let calls = 0;
  const lost = () => new Error(`connection lost at ${command} #${nth}`);
  const proxy = new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== command || typeof value !== 'function') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      return (...args: unknown[]) => {
        if (++calls !== nth) return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (command !== 'pipeline') return Promise.reject(lost());
        const batch = target.pipeline();
        batch.exec = () => Promise.reject(lost());
        return batch;
      };
    },
  }) as Redis;
  return new StepWrites(core.queue, new ImageStash(proxy, core.prefix), core.records, core.prefix);
}

async function quota(who: Requester): Promise<[number, number]> {
  const view = await core.admin.userView(userKey(who), guildKey(who));
  return [view.inFlight, view.usedToday];
}

const historyOf = (who: Requester) => core.redis.zrange(core.history.key(userKey(who)), '0', '-1');

describe('a crash between the writes (one write fails, then the step runs again)', () => {
  it('storeImage: after the bytes, before the job says so: the job does not claim an image; the re-run stores it', async () => {
    const job = await submitted();
    const data = { ...job.data, stored };
    const bytes = Buffer.from('the image');
    await expect(crashingAt('evalsha').storeImage(job, data, bytes, { stage: 'delivering' })).rejects.toThrow(/connection lost/);
    // The job's re-run resumes its prediction: nothing says the image exists, so nothing can be lost.
    expect((await Job.fromId(core.queue, job.id!))!.data.stored).toBeUndefined();
    await writes.storeImage(job, data, bytes, { stage: 'delivering' });
    expect((await Job.fromId(core.queue, job.id!))!.data.stored).toEqual(stored);
    expect((await core.stash.get(data.jobId))?.equals(bytes)).toBe(true);
  });

  it('storeImage: the bytes fail: the job is not told it has an image', async () => {
    const job = await submitted();
    await expect(crashingAt('pipeline').storeImage(job, { ...job.data, stored }, Buffer.from('x'), undefined)).rejects.toThrow(/connection lost/);
    expect((await Job.fromId(core.queue, job.id!))!.data.stored).toBeUndefined();
    expect(await core.stash.get(job.data.jobId)).toBeNull();
  });

  // finishDelivered sends, in this order: the record (SET), the history script, the delivered-and-release script, then
  // (once that has committed) the stash pipeline.
  for (const [at, nth, what] of [
    ['set', 1, 'the record'],
    ['evalsha', 1, 'the history entry'],
    ['evalsha', 2, 'the delivered checkpoint with the release'],
    ['pipeline', 1, 'the stashed image dropped'],
  ] as Array<[Command, number, string]>) {
    it(`finishDelivered: ${what} fails: charged once, the record there once, the image kept until delivered is committed`, async () => {
      const who = person('u1');
      const job = await submitted(who);
      const image = Buffer.from('img');
      await writes.storeImage(job, { ...job.data, stored }, image, undefined);
      const data: GenerationJobData = { ...job.data, stored, delivered: { platform: 'discord', messageId: 'm1', channelId: 'c1' } };

      await expect(crashingAt(at, nth).finishDelivered(job, data, recordOf(data, 'm1'))).rejects.toThrow(/connection lost/);
      const committed = (await Job.fromId(core.queue, job.id!))!.data.delivered !== undefined;
      // Charged at admission; the release (no longer in flight, kept as delivered) goes with the checkpoint only.
      expect(await quota(who)).toEqual(committed ? [0, 1] : [1, 1]);
      expect(committed).toBe(what !== 'the delivered checkpoint with the release');
      // Never lost: a job whose re-run may still deliver (not committed) or finish (committed) has its image.
      expect((await core.stash.get(data.jobId))?.equals(image)).toBe(true);

      // The re-run: a committed job goes straight to finishDelivered; the other one posts (found by the redelivery
      // lookup, so not twice) and finishes the same way.
      const releasedNow = await writes.finishDelivered(job, data, recordOf(data, 'm1'));
      expect(releasedNow).toBe(!committed);
      expect(await core.quotas.release(data.jobId, 'delivered')).toBe(false);
      expect(await quota(who)).toEqual([0, 1]);
      expect(await core.records.find('discord', 'm1')).toMatchObject({ jobId: data.jobId });
      expect(await historyOf(who)).toEqual(['discord:m1']);
      expect(await core.stash.get(data.jobId)).toBeNull();
    });
  }

  it('finishDelivered, kept for the person: a crash before the image is kept longer; the re-run keeps it for days', async () => {
    const job = await submitted();
    await writes.storeImage(job, { ...job.data, stored }, Buffer.from('img'), undefined);
    const data: GenerationJobData = { ...job.data, stored, delivered: { platform: 'discord', messageId: `kept:${job.data.jobId}`, channelId: 'c1', via: 'kept' } };
    const record = { ...recordOf(data, `kept:${job.data.jobId}`), via: 'kept' as const };
    await expect(crashingAt('pipeline').finishDelivered(job, data, record)).rejects.toThrow(/connection lost/);
    expect(await core.redis.ttl(core.stash.key(data.jobId))).toBeLessThanOrEqual(86_400);
    expect(await writes.finishDelivered(job, data, record)).toBe(false);
    expect(await core.redis.ttl(core.stash.key(data.jobId))).toBeGreaterThan(86_400);
    expect(await core.redis.ttl(core.stash.key(data.jobId))).toBeLessThanOrEqual(KEPT_IMAGE_TTL_SECONDS);
    const [entry] = await core.history.list(person('u1'));
    expect(entry?.kept?.bytes.toString()).toBe('img');
  });

  it("finishDelivered drops a gallery's other images too, all in the job's slot", async () => {
    const job = await submitted();
    const images = [0, 1, 2].map((i) => ({ stashId: i === 0 ? job.data.jobId : `${job.data.jobId}.${i}`, bytes: Buffer.from(`img${i}`) }));
    const parts = images.map(() => ({ stored }));
    await writes.storeImages(job, { ...job.data, parts }, images, undefined);
    expect(new Set(images.map((image) => core.stash.key(image.stashId).replace(/^.*\{|\}.*$/g, '')))).toEqual(new Set([job.data.jobId]));
    const data: GenerationJobData = { ...job.data, parts, delivered: { platform: 'discord', messageId: 'g1', channelId: 'c1' } };
    await writes.finishDelivered(job, data, { ...recordOf(data, 'g1'), images: 3 });
    for (const image of images) expect(await core.stash.get(image.stashId)).toBeNull();
  });
});
