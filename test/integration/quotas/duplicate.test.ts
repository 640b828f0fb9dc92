import { afterEach, describe, expect, it } from 'vitest';
import { quotaFixture, type QuotaFixture } from './fixture.js';

const GUILD = 'slack:T1';
const USER = 'slack:T1:U1';

let f: QuotaFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

describe('duplicate deliveries', () => {
  it('admits a redelivered interaction once and returns the first job for the rest', async () => {
    f = quotaFixture({ defaults: { concurrentPerUser: 5 } });
    const first = await f.store.admit({ jobId: 'job-1', dedupeKey: 'interaction-9', userKey: USER, guildKey: GUILD });
    const again = await f.store.admit({ jobId: 'job-2', dedupeKey: 'interaction-9', userKey: USER, guildKey: GUILD });
    expect(first).toMatchObject({ status: 'accepted', jobId: 'job-1', position: 1 });
    expect(again).toEqual({ status: 'duplicate', jobId: 'job-1' });
    const shown = await f.admin.show({ kind: 'user', key: USER });
    expect(shown.usedToday).toBe(1);
    expect(shown.inFlight).toBe(1);
  });

  it('charges once for 20 simultaneous deliveries of the same interaction', async () => {
    const fx = quotaFixture({ defaults: { concurrentPerUser: 20 } });
    f = fx;
    const stores = fx.storesOnConnections(4);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 4]!.admit({ jobId: `job-${i}`, dedupeKey: 'interaction-1', userKey: USER, guildKey: GUILD }),
      ),
    );
    const accepted = results.filter((r) => r.status === 'accepted');
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!.jobId;
    for (const r of results) if (r.status !== 'accepted') expect(r).toEqual({ status: 'duplicate', jobId: winner });
    expect(await fx.store.pendingReservations()).toEqual([winner]);
    expect((await fx.admin.show({ kind: 'user', key: USER })).usedToday).toBe(1);
    expect((await fx.admin.show({ kind: 'guild', key: GUILD })).usedToday).toBe(1);
  });

  it('remembers the interaction for a day, even after the job was released', async () => {
    const fx = quotaFixture({});
    f = fx;
    await fx.store.admit({ jobId: 'job-1', dedupeKey: 'interaction-5', userKey: USER, guildKey: GUILD });
    await fx.store.release('job-1', 'refunded');
    expect(await fx.store.admit({ jobId: 'job-2', dedupeKey: 'interaction-5', userKey: USER, guildKey: GUILD })).toEqual({
      status: 'duplicate',
      jobId: 'job-1',
    });
    const ttl = await fx.redis.pttl(`${fx.prefix}:q:dedupe:interaction-5`);
    expect(ttl).toBeGreaterThan(23 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
  });

  it('does not overwrite a live reservation when a job id is reused', async () => {
    const fx = quotaFixture({ defaults: { concurrentPerUser: 5 } });
    f = fx;
    await fx.store.admit({ jobId: 'job-1', dedupeKey: 'a', userKey: USER, guildKey: GUILD });
    expect(await fx.store.admit({ jobId: 'job-1', dedupeKey: 'b', userKey: USER, guildKey: GUILD })).toEqual({
      status: 'duplicate',
      jobId: 'job-1',
    });
    expect((await fx.admin.show({ kind: 'user', key: USER })).usedToday).toBe(1);
  });

  it('lets a refused request through on redelivery once there is room', async () => {
    const fx = quotaFixture({ defaults: { concurrentPerUser: 1 } });
    f = fx;
    await fx.store.admit({ jobId: 'job-1', dedupeKey: 'a', userKey: USER, guildKey: GUILD });
    expect(await fx.store.admit({ jobId: 'job-2', dedupeKey: 'b', userKey: USER, guildKey: GUILD })).toMatchObject({
      status: 'refused',
      reason: 'user_concurrent',
    });
    await fx.store.release('job-1', 'delivered');
    expect(await fx.store.admit({ jobId: 'job-2', dedupeKey: 'b', userKey: USER, guildKey: GUILD })).toMatchObject({
      status: 'accepted',
    });
  });
});
