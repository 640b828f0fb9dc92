import { describe, expect, it } from 'vitest';
import { fixturePerTest, type QuotaFixture } from './fixture.js';

const GUILD = 'discord:100';
const USER = 'discord:100:7';
const ADMIN = 'discord:100:1';
const user = { kind: 'user', key: USER } as const;
const guild = { kind: 'guild', key: GUILD } as const;

const setup = fixturePerTest();

async function admit(fx: QuotaFixture, jobId: string, userKey = USER) {
  const r = await fx.store.admit({ jobId, dedupeKey: `d-${jobId}`, userKey, guildKey: GUILD });
  expect(r.status).toBe('accepted');
}

describe('release', () => {
  it('releases exactly once when 20 callers race', async () => {
    const fx = setup();
    await admit(fx, 'job-1');
    const stores = fx.storesOnConnections(4);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 4]!.release('job-1', i % 2 === 0 ? 'refunded' : 'delivered')),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await fx.admin.show(user)).inFlight).toBe(0);
    expect((await fx.admin.show(guild)).inFlight).toBe(0);
    expect(await fx.store.pendingReservations()).toEqual([]);
  });

  it('keeps a delivered image counted and frees its in-flight slot', async () => {
    const fx = setup();
    await admit(fx, 'job-1');
    await admit(fx, 'job-2');
    expect(await fx.store.release('job-1', 'delivered')).toBe(true);
    expect(await fx.store.release('job-1', 'delivered')).toBe(false);
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 2, inFlight: 1 });
    expect(await fx.admin.show(guild)).toMatchObject({ usedToday: 2, inFlight: 1 });
  });

  it('returns a refunded charge to the daily quota', async () => {
    const fx = setup();
    await admit(fx, 'job-1');
    await admit(fx, 'job-2');
    expect(await fx.store.release('job-2', 'refunded')).toBe(true);
    expect(await fx.store.release('job-2', 'refunded')).toBe(false);
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 1, inFlight: 1 });
    expect(await fx.admin.show(guild)).toMatchObject({ usedToday: 1, inFlight: 1 });
  });

  it('spends a grant only once the day is used up, and refunds it to the grant', async () => {
    const fx = setup({ defaults: { dailyPerUser: 1, concurrentPerUser: 5 } });
    await fx.admin.grant(ADMIN, user, 2);
    await admit(fx, 'job-1');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 1, usedFromGrantToday: 0, grantBalance: 2 });
    await admit(fx, 'job-2');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 2, usedFromGrantToday: 1, grantBalance: 1 });

    await fx.store.release('job-2', 'refunded');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 1, usedFromGrantToday: 0, grantBalance: 2 });
    // The daily quota is still used up: the next image is paid from the grant again, not the day.
    await admit(fx, 'job-3');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 2, usedFromGrantToday: 1, grantBalance: 1 });
  });

  it('refunds the user and the guild each to the bucket each was charged', async () => {
    const fx = setup({ defaults: { dailyPerUser: 5, dailyPerGuild: 1 } });
    await fx.admin.grant(ADMIN, guild, 1);
    await admit(fx, 'job-1', 'discord:100:8');
    await admit(fx, 'job-2'); // user: daily quota; guild: its grant
    expect(await fx.admin.show(guild)).toMatchObject({ usedToday: 2, usedFromGrantToday: 1, grantBalance: 0 });
    await fx.store.release('job-2', 'refunded');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 0, grantBalance: 0 });
    expect(await fx.admin.show(guild)).toMatchObject({ usedToday: 1, usedFromGrantToday: 0, grantBalance: 1 });
  });

  it('does not lower a count reset by an admin when a job from before the reset is refunded', async () => {
    const fx = setup({ defaults: { concurrentPerUser: 5 } });
    await admit(fx, 'job-1');
    await fx.admin.resetToday(ADMIN, user);
    await admit(fx, 'job-2');
    await fx.store.release('job-1', 'refunded');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 1, inFlight: 1 });
    await fx.store.release('job-2', 'refunded');
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 0, inFlight: 0 });
  });

  it('returns false for a job it never admitted, and refuses an unknown outcome', async () => {
    const fx = setup();
    expect(await fx.store.release('nope', 'refunded')).toBe(false);
    await admit(fx, 'job-1');
    await expect(fx.store.release('job-1', 'lost' as 'refunded')).rejects.toMatchObject({ field: 'outcome' });
    expect(await fx.store.pendingReservations()).toEqual(['job-1']);
  });
});
