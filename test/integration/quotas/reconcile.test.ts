import { afterEach, describe, expect, it } from 'vitest';
import { quotaFixture, type QuotaFixture } from './fixture.js';

const GUILD = 'discord:100';
const ALICE = 'discord:100:1';
const BOB = 'discord:100:2';
const MINUTE = 60_000;

let f: QuotaFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

async function admit(fx: QuotaFixture, jobId: string, userKey: string) {
  const r = await fx.store.admit({ jobId, dedupeKey: `d-${jobId}`, userKey, guildKey: GUILD });
  expect(r.status).toBe('accepted');
}

const inFlight = async (fx: QuotaFixture, kind: 'user' | 'guild', key: string) => (await fx.admin.show({ kind, key })).inFlight;

describe('reconcile after a crash', () => {
  it('refunds reservations whose job is gone and repairs drifted counters', async () => {
    const fx = quotaFixture({ defaults: { concurrentPerUser: 5 } });
    f = fx;
    await admit(fx, 'a1', ALICE);
    await admit(fx, 'a2', ALICE);
    await admit(fx, 'b1', BOB);
    await admit(fx, 'b2', BOB);
    // A crash lost jobs a2 and b1 without releasing them, and counters drifted (as after a hand edit or bug).
    const alive = new Set(['a1', 'b2']);
    await fx.redis.set(`${fx.prefix}:q:user:${ALICE}:inflight`, 9);
    await fx.redis.set(`${fx.prefix}:q:guild:${GUILD}:inflight`, 0);
    fx.clock.advance(5 * MINUTE);

    const asked: string[] = [];
    const result = await fx.store.reconcile(async (jobId) => {
      asked.push(jobId);
      return alive.has(jobId);
    });

    expect(asked.sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(result).toEqual({ released: 2, repaired: 2 });
    expect((await fx.store.pendingReservations()).sort()).toEqual(['a1', 'b2']);
    expect(await fx.admin.show({ kind: 'user', key: ALICE })).toMatchObject({ usedToday: 1, inFlight: 1 });
    expect(await fx.admin.show({ kind: 'user', key: BOB })).toMatchObject({ usedToday: 1, inFlight: 1 });
    expect(await fx.admin.show({ kind: 'guild', key: GUILD })).toMatchObject({ usedToday: 2, inFlight: 2 });

    // A late release by the crashed job's owner changes nothing: the reconciler already released it.
    expect(await fx.store.release('a2', 'refunded')).toBe(false);
    expect(await fx.store.reconcile(async (jobId) => alive.has(jobId))).toEqual({ released: 0, repaired: 0 });
  });

  it('leaves young reservations alone: their job may not be in the queue yet', async () => {
    const fx = quotaFixture();
    f = fx;
    await admit(fx, 'a1', ALICE);
    fx.clock.advance(10_000);
    expect(await fx.store.reconcile(async () => false, { minAgeMs: 30_000 })).toEqual({ released: 0, repaired: 0 });
    expect(await fx.store.pendingReservations()).toEqual(['a1']);
    fx.clock.advance(30_000);
    expect(await fx.store.reconcile(async () => false, { minAgeMs: 30_000 })).toEqual({ released: 1, repaired: 0 });
    expect(await inFlight(fx, 'user', ALICE)).toBe(0);
  });

  it('zeroes the counter of someone with no reservations left', async () => {
    const fx = quotaFixture();
    f = fx;
    await admit(fx, 'a1', ALICE);
    await fx.store.release('a1', 'delivered');
    await fx.redis.set(`${fx.prefix}:q:user:${ALICE}:inflight`, 3);
    expect(await fx.store.reconcile(async () => true)).toEqual({ released: 0, repaired: 1 });
    expect(await inFlight(fx, 'user', ALICE)).toBe(0);
    // Alice can again use her full in-flight allowance (2 by default).
    await admit(fx, 'a2', ALICE);
    await admit(fx, 'a3', ALICE);
  });

  it('does not disturb admissions that race with it', async () => {
    const fx = quotaFixture({ defaults: { concurrentPerUser: 100, dailyPerUser: 100, concurrentPerGuild: 100 } });
    f = fx;
    const stores = fx.storesOnConnections(3);
    const admits = Array.from({ length: 60 }, (_, i) =>
      stores[i % 3]!.admit({ jobId: `j${i}`, dedupeKey: `d${i}`, userKey: i % 2 ? ALICE : BOB, guildKey: GUILD }),
    );
    const reconciles = Array.from({ length: 5 }, () => fx.store.reconcile(async () => true));
    await Promise.all([...admits, ...reconciles]);
    expect(await inFlight(fx, 'user', ALICE)).toBe(30);
    expect(await inFlight(fx, 'user', BOB)).toBe(30);
    expect(await inFlight(fx, 'guild', GUILD)).toBe(60);
  });
});
