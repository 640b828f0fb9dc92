import calculateSlot from 'cluster-key-slot';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { inspectImage } from '../../../src/core/images/image.js';
import { SpreadKeys } from '../../../src/core/key-space.js';
import type { GeneratedImage, GenerateOptions, ImageProvider } from '../../../src/core/providers/provider.js';
import { partStashId } from '../../../src/core/queue/gallery-steps.js';
import type { FluxRequest } from '../../../src/core/request.js';
import { makeImage } from '../../fakes/fake-server.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

/**
 * Issue 14: on a Redis Cluster the per-job keys must spread over every master, while the queue and everything its
 * scripts touch stay in one slot. Run against one Redis by computing each key's slot (CRC16 of its hash tag, as the
 * cluster does) and checking it against the three equal ranges `redis-cli --cluster create` gives three masters.
 */
const MASTERS: ReadonlyArray<readonly [number, number]> = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];
const JOBS = 200;

/** A provider that answers at once with one small image: the test is about keys, not pixels. */
class InstantProvider implements ImageProvider {
  readonly name = 'preview' as const;
  private n = 0;
  constructor(private readonly png: Buffer) {}
  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const id = options.resume?.id ?? `instant-${++this.n}`;
    if (!options.resume) await options.checkpoint?.({ provider: 'preview', id });
    return { ...(await inspectImage(this.png)), seed: request.seed, provider: 'preview', predictionId: id, nsfw: false, ms: 1 };
  }
}

async function scan(core: FluxbotCore, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await core.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

const masterOf = (slot: number) => MASTERS.findIndex(([from, to]) => slot >= from && slot <= to);

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('key layout on a cluster (issue 14)', () => {
  it(`after ${JOBS} jobs, per-job keys are spread over every master; the queue and quota keys share one slot`, async () => {
    core = await makeCore({ quotas: { dailyPerUser: 10_000, concurrentPerUser: 10_000, dailyPerGuild: 10_000, concurrentPerGuild: 10_000 } });
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new InstantProvider(await makeImage(64, 64, 'png'))], deliveries: { discord: delivery }, concurrency: 20 }).start();
    const people = Array.from({ length: 20 }, (_, i) => person(`u${i}`, `g${i % 4}`));
    for (let i = 0; i < JOBS; i++) {
      const r = await core.service.submit(fluxRequest({ seed: i + 1 }), people[i % people.length]!, target, { dedupeKey: `d-${i}` });
      expect(r.status).toBe('queued');
    }
    await delivery.until(() => delivery.recorded.length === JOBS, 60_000);
    await expect.poll(async () => (await core.queue.getJobCounts('completed')).completed, { timeout: 20_000 }).toBe(JOBS);
    // A few of the other per-job keys too: a cancel flag and a stored input image.
    await core.cancels.request('j0123456789abcdef0123456789abcdef');
    await core.inputs.put(await makeImage(80, 80, 'png'), 'image/png');

    const spread = await scan(core, new SpreadKeys(core.prefix).pattern);
    const records = spread.filter((key) => key.includes(':r:{'));
    expect(records).toHaveLength(JOBS);
    expect(spread.filter((key) => key.includes(':h:{'))).toHaveLength(people.length);
    expect(spread.some((key) => key.includes(':c:{'))).toBe(true);
    expect(spread.some((key) => key.includes(':in:{'))).toBe(true);

    const slots = spread.map((key) => calculateSlot(key));
    // 220-odd keys over 16 384 slots: almost all in slots of their own.
    expect(new Set(slots).size).toBeGreaterThan(spread.length * 0.95);
    const perMaster = MASTERS.map((_, m) => slots.filter((slot) => masterOf(slot) === m).length);
    // About a third each (the binomial's spread at this size is ±7 keys; 25 % leaves 4 standard deviations).
    for (const count of perMaster) expect(count).toBeGreaterThan(spread.length * 0.25);
    const recordSlots = records.map((key) => calculateSlot(key));
    for (let m = 0; m < MASTERS.length; m++) expect(recordSlots.filter((slot) => masterOf(slot) === m).length).toBeGreaterThan(JOBS * 0.25);

    // Everything else, the queue's and the quotas' keys (what the admission, release and reconcile scripts touch),
    // is in the prefix's one slot, and none of it is per message or per person's history.
    const queueSide = await scan(core, `${core.prefix}*`);
    expect(queueSide.length).toBeGreaterThan(0);
    expect(new Set(queueSide.map((key) => calculateSlot(key)))).toEqual(new Set([calculateSlot(core.prefix)]));
    expect(queueSide.filter((key) => /:(record|history|image|input|canceled):/.test(key))).toEqual([]);

    // A job's stashed images (a gallery's too) share the job's slot, so one command drops them all.
    const jobId = 'j0123456789abcdef0123456789abcdef';
    expect(new Set([0, 1, 2].map((i) => calculateSlot(core.stash.key(partStashId(jobId, i)))))).toEqual(new Set([calculateSlot(core.stash.key(jobId))]));

    // Rerolls, history and the admin's views still find everything.
    const last = delivery.recorded.at(-1)!;
    expect(await core.records.find('discord', last.messageId)).toBeDefined();
    expect(await core.history.list(people[0]!, 25)).toHaveLength(JOBS / people.length);
    expect(await core.quotas.reconcile(async () => false, { minAgeMs: 0 })).toEqual({ released: 0, repaired: 0 });
  }, 120_000);
});
