import { afterEach, describe, expect, it } from 'vitest';
import type { Admission } from '../../../src/core/quotas/types.js';
import { quotaFixture, type FixtureOptions, type QuotaFixture } from './fixture.js';

const GUILD = 'discord:100';
const USER = 'discord:100:7';

let f: QuotaFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

function setup(options: FixtureOptions): QuotaFixture {
  f = quotaFixture(options);
  return f;
}

/** Fires `n` admits at once over several connections; request i is for `userOf(i)`. */
async function burst(fx: QuotaFixture, n: number, userOf: (i: number) => string): Promise<Admission[]> {
  const stores = fx.storesOnConnections(5);
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      stores[i % stores.length]!.admit({ jobId: `job-${i}`, dedupeKey: `ia-${i}`, userKey: userOf(i), guildKey: GUILD }),
    ),
  );
}

function byStatus(results: Admission[]) {
  return {
    accepted: results.filter((r) => r.status === 'accepted'),
    refused: results.filter((r) => r.status === 'refused'),
  };
}

describe('admission under concurrency', () => {
  it('admits exactly the daily quota of one user out of 50 simultaneous requests', async () => {
    const fx = setup({ defaults: { dailyPerUser: 10, concurrentPerUser: 20 } });
    const { accepted, refused } = byStatus(await burst(fx, 50, () => USER));
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r).toMatchObject({ reason: 'user_daily', limit: 10, used: 10 });
    const shown = await fx.admin.show({ kind: 'user', key: USER });
    expect(shown.usedToday).toBe(10);
    expect(shown.inFlight).toBe(10);
    expect((await fx.store.pendingReservations()).sort()).toEqual(accepted.map((a) => a.jobId).sort());
  });

  it('admits exactly the in-flight limit, with positions 1..limit', async () => {
    const fx = setup({ defaults: { dailyPerUser: 10, concurrentPerUser: 3 } });
    const { accepted, refused } = byStatus(await burst(fx, 50, () => USER));
    expect(accepted.map((a) => a.position).sort()).toEqual([1, 2, 3]);
    expect(refused).toHaveLength(47);
    for (const r of refused) {
      expect(r).toMatchObject({ reason: 'user_concurrent', limit: 3, used: 3 });
      expect(r.resetAt).toBeUndefined();
    }
    // Refusals charge nothing.
    expect((await fx.admin.show({ kind: 'user', key: USER })).usedToday).toBe(3);
  });

  it("holds a guild's daily quota across many users", async () => {
    const fx = setup({ defaults: { dailyPerGuild: 10, concurrentPerGuild: 100 } });
    const { accepted, refused } = byStatus(await burst(fx, 50, (i) => `discord:100:${i}`));
    expect(accepted).toHaveLength(10);
    for (const r of refused) expect(r).toMatchObject({ reason: 'guild_daily', limit: 10, used: 10 });
    expect((await fx.admin.show({ kind: 'guild', key: GUILD })).usedToday).toBe(10);
  });

  it("holds a guild's in-flight limit across many users", async () => {
    const fx = setup({ defaults: { dailyPerGuild: 100, concurrentPerGuild: 3 } });
    const { accepted, refused } = byStatus(await burst(fx, 50, (i) => `discord:100:${i}`));
    expect(accepted).toHaveLength(3);
    // Each user has one job in flight, so each is first in their own line.
    expect(accepted.map((a) => a.position)).toEqual([1, 1, 1]);
    for (const r of refused) expect(r).toMatchObject({ reason: 'guild_concurrent', limit: 3, used: 3 });
    expect((await fx.admin.show({ kind: 'guild', key: GUILD })).inFlight).toBe(3);
  });
});

describe('admission order and values', () => {
  it('gives a daily refusal the next midnight as reset time', async () => {
    const fx = setup({ defaults: { dailyPerUser: 1 }, at: Date.UTC(2026, 10, 21, 15, 30) });
    expect(await fx.store.admit({ jobId: 'a', dedupeKey: 'a', userKey: USER, guildKey: GUILD })).toEqual({
      status: 'accepted',
      jobId: 'a',
      position: 1,
      day: '2026-11-21',
    });
    expect(await fx.store.admit({ jobId: 'b', dedupeKey: 'b', userKey: USER, guildKey: GUILD })).toEqual({
      status: 'refused',
      reason: 'user_daily',
      limit: 1,
      used: 1,
      resetAt: Date.UTC(2026, 10, 22),
    });
  });

  it('checks the daily quota before the in-flight limit, and the user before the guild', async () => {
    const fx = setup({ defaults: { dailyPerUser: 1, concurrentPerUser: 1, dailyPerGuild: 1, concurrentPerGuild: 1 } });
    await fx.store.admit({ jobId: 'a', dedupeKey: 'a', userKey: USER, guildKey: GUILD });
    // Same user: every limit is hit; the user's daily quota is reported.
    expect(await fx.store.admit({ jobId: 'b', dedupeKey: 'b', userKey: USER, guildKey: GUILD })).toMatchObject({
      reason: 'user_daily',
    });
    // Another user of the same guild: the guild's daily quota comes before the guild's in-flight limit.
    expect(await fx.store.admit({ jobId: 'c', dedupeKey: 'c', userKey: 'discord:100:8', guildKey: GUILD })).toMatchObject({
      reason: 'guild_daily',
    });
  });

  it('treats a daily limit of 0 as none allowed', async () => {
    const fx = setup({ defaults: { dailyPerUser: 0 } });
    expect(await fx.store.admit({ jobId: 'a', dedupeKey: 'a', userKey: USER, guildKey: GUILD })).toMatchObject({
      status: 'refused',
      reason: 'user_daily',
      limit: 0,
      used: 0,
    });
    expect(await fx.store.pendingReservations()).toEqual([]);
  });

  it('keeps every key under the prefix, with the day in the day keys', async () => {
    const fx = setup({ at: Date.UTC(2026, 10, 21, 9) });
    await fx.store.admit({ jobId: 'a', dedupeKey: 'ia-1', userKey: USER, guildKey: GUILD });
    const keys = await fx.redis.keys(`${fx.prefix}*`);
    expect(keys).toContain(`${fx.prefix}:q:user:${USER}:day:2026-11-21`);
    expect(keys).toContain(`${fx.prefix}:q:guild:${GUILD}:day:2026-11-21`);
    expect(keys.every((k) => k.startsWith(`${fx.prefix}:`))).toBe(true);
  });

  it('refuses malformed identifiers before touching Redis', async () => {
    const fx = setup({});
    await expect(fx.store.admit({ jobId: '', dedupeKey: 'a', userKey: USER, guildKey: GUILD })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'jobId',
    });
    await expect(fx.store.admit({ jobId: 'a', dedupeKey: 'a', userKey: 'has space', guildKey: GUILD })).rejects.toMatchObject({
      field: 'userKey',
    });
    expect(await fx.redis.keys(`${fx.prefix}*`)).toEqual([]);
  });
});
