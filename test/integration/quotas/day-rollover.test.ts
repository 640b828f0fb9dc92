import { afterEach, describe, expect, it } from 'vitest';
import { quotaFixture, type QuotaFixture } from './fixture.js';

const GUILD = 'slack:T1';
const USER = 'slack:T1:U1';
const user = { kind: 'user', key: USER } as const;
const MINUTE = 60_000;

let f: QuotaFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

let seq = 0;
function admit(fx: QuotaFixture) {
  seq += 1;
  return fx.store.admit({ jobId: `job-${seq}`, dedupeKey: `d-${seq}`, userKey: USER, guildKey: GUILD });
}

describe('quota days in the configured time zone', () => {
  it('rolls over at midnight in New York, not UTC', async () => {
    // 23:58 on 21 November in New York (EST, UTC−5) is 04:58 UTC on the 22nd.
    const fx = quotaFixture({ timeZone: 'America/New_York', at: Date.UTC(2026, 10, 22, 4, 58), defaults: { dailyPerUser: 2, concurrentPerUser: 10 } });
    f = fx;
    expect((await admit(fx)).status).toBe('accepted');
    expect((await admit(fx)).status).toBe('accepted');
    const midnight = Date.UTC(2026, 10, 22, 5, 0);
    expect(await admit(fx)).toMatchObject({ status: 'refused', reason: 'user_daily', used: 2, resetAt: midnight });
    expect(await fx.redis.exists(`${fx.prefix}:q:user:${USER}:day:2026-11-21`)).toBe(1);
    expect((await fx.admin.show(user)).resetsAt).toBe(midnight);

    fx.clock.ms = midnight - 1;
    expect((await admit(fx)).status).toBe('refused');
    fx.clock.ms = midnight;
    expect((await admit(fx)).status).toBe('accepted');
    expect(await fx.admin.show(user)).toMatchObject({ day: '2026-11-22', usedToday: 1, inFlight: 3 });
    expect(await fx.redis.exists(`${fx.prefix}:q:user:${USER}:day:2026-11-22`)).toBe(1);
  });

  it('uses the half-hour offset of Kolkata', async () => {
    // 19:00 UTC on 20 November is 00:30 on 21 November in Kolkata (UTC+5:30).
    const fx = quotaFixture({ timeZone: 'Asia/Kolkata', at: Date.UTC(2026, 10, 20, 19, 0), defaults: { dailyPerUser: 1 } });
    f = fx;
    expect((await admit(fx)).status).toBe('accepted');
    expect(await fx.redis.exists(`${fx.prefix}:q:user:${USER}:day:2026-11-21`)).toBe(1);
    expect(await admit(fx)).toMatchObject({ reason: 'user_daily', resetAt: Date.UTC(2026, 10, 21, 18, 30) });
  });

  it('resets on the 23-hour day that starts daylight saving time', async () => {
    // 8 March 2026 in New York: clocks jump from 02:00 EST to 03:00 EDT; the next midnight is 04:00 UTC on the 9th.
    const fx = quotaFixture({ timeZone: 'America/New_York', at: Date.UTC(2026, 2, 8, 5, 30), defaults: { dailyPerUser: 1 } });
    f = fx;
    expect((await admit(fx)).status).toBe('accepted');
    expect(await admit(fx)).toMatchObject({ reason: 'user_daily', resetAt: Date.UTC(2026, 2, 9, 4, 0) });
  });

  it('refunds a job admitted yesterday to yesterday, leaving today alone', async () => {
    const fx = quotaFixture({ timeZone: 'America/New_York', at: Date.UTC(2026, 10, 22, 4, 59), defaults: { dailyPerUser: 1, concurrentPerUser: 5 } });
    f = fx;
    const yesterday = await admit(fx);
    if (yesterday.status !== 'accepted') throw new Error(`expected acceptance, got ${yesterday.status}`);
    fx.clock.advance(2 * MINUTE);
    expect((await admit(fx)).status).toBe('accepted');
    await fx.store.release(yesterday.jobId, 'refunded');
    expect(await fx.admin.show(user)).toMatchObject({ day: '2026-11-22', usedToday: 1, inFlight: 1 });
    expect(await fx.redis.hget(`${fx.prefix}:q:user:${USER}:day:2026-11-21`, 'daily')).toBe('0');
    // Today's quota is still used up.
    expect(await admit(fx)).toMatchObject({ status: 'refused', reason: 'user_daily' });
  });

  it('lets day keys expire a couple of days after their day', async () => {
    const at = Date.UTC(2026, 10, 21, 12, 0);
    const fx = quotaFixture({ at });
    f = fx;
    await admit(fx);
    const ttl = await fx.redis.pttl(`${fx.prefix}:q:user:${USER}:day:2026-11-21`);
    const expected = Date.UTC(2026, 10, 24) - at; // midnight ending the day, plus two days
    expect(ttl).toBeGreaterThan(expected - 60_000);
    expect(ttl).toBeLessThanOrEqual(expected);
  });
});
