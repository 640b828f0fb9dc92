import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors.js';
import type { QuotaTarget } from '../../../src/core/quotas/types.js';
import { keysUnder, fixturePerTest, type QuotaFixture } from './fixture.js';

const GUILD = 'discord:100';
const USER = 'discord:100:7';
const ADMIN = 'discord:100:1';
const user = { kind: 'user', key: USER } as const;
const guild = { kind: 'guild', key: GUILD } as const;

const setup = fixturePerTest();

let seq = 0;
function admit(fx: QuotaFixture, userKey = USER) {
  seq += 1;
  return fx.store.admit({ jobId: `job-${seq}`, dedupeKey: `d-${seq}`, userKey, guildKey: GUILD });
}

describe('admin changes apply to the next admission', () => {
  it('overrides a limit and clears the override back to the default', async () => {
    const fx = setup({ defaults: { dailyPerUser: 10, concurrentPerUser: 10 } });
    await fx.admin.setLimits(ADMIN, user, { daily: 1 });
    expect((await fx.admin.show(user)).daily).toEqual({ value: 1, overridden: true });
    expect((await admit(fx)).status).toBe('accepted');
    expect(await admit(fx)).toMatchObject({ status: 'refused', reason: 'user_daily', limit: 1 });

    await fx.admin.setLimits(ADMIN, user, { daily: null });
    expect((await fx.admin.show(user)).daily).toEqual({ value: 10, overridden: false });
    expect((await admit(fx)).status).toBe('accepted');
  });

  it("overrides a guild's in-flight limit", async () => {
    const fx = setup();
    await fx.admin.setLimits(ADMIN, guild, { concurrent: 1 });
    expect((await admit(fx)).status).toBe('accepted');
    expect(await admit(fx, 'discord:100:8')).toMatchObject({ reason: 'guild_concurrent', limit: 1, used: 1 });
    expect((await fx.admin.show(guild)).concurrent).toEqual({ value: 1, overridden: true });
  });

  it("resets today's usage", async () => {
    const fx = setup({ defaults: { dailyPerUser: 1, concurrentPerUser: 5 } });
    await admit(fx);
    expect((await admit(fx)).status).toBe('refused');
    await fx.admin.resetToday(ADMIN, user);
    expect(await fx.admin.show(user)).toMatchObject({ usedToday: 0, inFlight: 1 });
    expect((await admit(fx)).status).toBe('accepted');
  });

  it('grants extra images on top of a used-up day', async () => {
    const fx = setup({ defaults: { dailyPerUser: 0, concurrentPerUser: 5 } });
    expect((await admit(fx)).status).toBe('refused');
    expect(await fx.admin.grant(ADMIN, user, 2)).toBe(2);
    expect((await admit(fx)).status).toBe('accepted');
    expect((await admit(fx)).status).toBe('accepted');
    expect(await admit(fx)).toMatchObject({ reason: 'user_daily' });
    expect(await fx.admin.show(user)).toMatchObject({ grantBalance: 0, usedToday: 2, usedFromGrantToday: 2 });
  });

  it('bans and unbans a user', async () => {
    const fx = setup();
    fx.clock.ms = Date.UTC(2026, 10, 21, 13, 0);
    await fx.admin.ban(ADMIN, USER, 'spam');
    expect(await admit(fx)).toEqual({ status: 'refused', reason: 'banned', limit: 0, used: 0, banReason: 'spam' });
    expect((await fx.admin.show(user)).banned).toEqual({ by: ADMIN, at: fx.clock.ms, reason: 'spam' });
    expect((await admit(fx, 'discord:100:8')).status).toBe('accepted');

    expect(await fx.admin.unban(ADMIN, USER)).toBe(true);
    expect(await fx.admin.unban(ADMIN, USER)).toBe(false);
    expect((await fx.admin.show(user)).banned).toBeUndefined();
    expect((await admit(fx)).status).toBe('accepted');
  });

  it('replaces an earlier ban reason when banned again without one', async () => {
    const fx = setup();
    await fx.admin.ban(ADMIN, USER, 'spam');
    await fx.admin.ban(ADMIN, USER);
    expect(await admit(fx)).toEqual({ status: 'refused', reason: 'banned', limit: 0, used: 0 });
  });

  it('records every change in the audit stream, newest first', async () => {
    const fx = setup();
    fx.clock.ms = Date.UTC(2026, 10, 21, 10);
    await fx.admin.setLimits(ADMIN, user, { daily: 3, concurrent: null });
    await fx.admin.resetToday(ADMIN, guild);
    await fx.admin.grant(ADMIN, guild, 5);
    await fx.admin.ban('slack:T1:UADMIN', USER, 'abuse');
    await fx.admin.unban(ADMIN, USER);
    const entries = await fx.admin.audit(10);
    expect(entries.map(({ actor, action, target, details, at }) => ({ actor, action, target, details, at }))).toEqual([
      { actor: ADMIN, action: 'unban', target: `user:${USER}`, details: {}, at: fx.clock.ms },
      { actor: 'slack:T1:UADMIN', action: 'ban', target: `user:${USER}`, details: { reason: 'abuse' }, at: fx.clock.ms },
      { actor: ADMIN, action: 'grant', target: `guild:${GUILD}`, details: { amount: 5 }, at: fx.clock.ms },
      { actor: ADMIN, action: 'reset_today', target: `guild:${GUILD}`, details: { day: '2026-11-21' }, at: fx.clock.ms },
      { actor: ADMIN, action: 'set_limits', target: `user:${USER}`, details: { daily: 3, concurrent: null }, at: fx.clock.ms },
    ]);
    expect(await fx.admin.audit(2)).toHaveLength(2);
  });
});

describe('what a person sees', () => {
  it('counts the grant in what remains, capped by what the guild has left', async () => {
    const fx = setup({ defaults: { dailyPerUser: 3, concurrentPerUser: 5, dailyPerGuild: 10 } });
    await admit(fx);
    await fx.admin.grant(ADMIN, user, 4);
    expect(await fx.admin.userView(USER, GUILD)).toMatchObject({
      usedToday: 1,
      dailyLimit: 3,
      remaining: 6,
      grantBalance: 4,
      inFlight: 1,
      concurrentLimit: 5,
      resetsAt: Date.UTC(2026, 10, 22),
      banned: false,
    });
    for (let i = 0; i < 6; i++) await admit(fx, `discord:100:${20 + i}`);
    // The guild has 3 of 10 left, which caps the user's 6.
    expect((await fx.admin.userView(USER, GUILD)).remaining).toBe(3);
  });

  it('shows a ban and nothing remaining', async () => {
    const fx = setup();
    await fx.admin.ban(ADMIN, USER, 'spam');
    expect(await fx.admin.userView(USER, GUILD)).toMatchObject({ banned: true, banReason: 'spam', remaining: 0 });
  });
});

describe('invalid admin input', () => {
  const bad: [string, (fx: QuotaFixture) => Promise<unknown>, string][] = [
    ['negative limit', (fx) => fx.admin.setLimits(ADMIN, user, { daily: -1 }), 'daily'],
    ['NaN limit', (fx) => fx.admin.setLimits(ADMIN, user, { concurrent: Number.NaN }), 'concurrent'],
    ['fractional limit', (fx) => fx.admin.setLimits(ADMIN, user, { daily: 1.5 }), 'daily'],
    ['one valid and one invalid limit', (fx) => fx.admin.setLimits(ADMIN, user, { daily: 5, concurrent: -2 }), 'concurrent'],
    ['no limit at all', (fx) => fx.admin.setLimits(ADMIN, user, {}), 'limits'],
    ['unknown target kind', (fx) => fx.admin.grant(ADMIN, { kind: 'channel', key: 'x' } as unknown as QuotaTarget, 1), 'target.kind'],
    ['empty target key', (fx) => fx.admin.resetToday(ADMIN, { kind: 'user', key: '' }), 'target.key'],
    ['zero grant', (fx) => fx.admin.grant(ADMIN, user, 0), 'amount'],
    ['negative grant', (fx) => fx.admin.grant(ADMIN, user, -3), 'amount'],
    ['huge grant', (fx) => fx.admin.grant(ADMIN, user, 10_001), 'amount'],
    ['NaN grant', (fx) => fx.admin.grant(ADMIN, user, Number.NaN), 'amount'],
    ['empty actor', (fx) => fx.admin.ban('', USER), 'actor'],
    ['overlong ban reason', (fx) => fx.admin.ban(ADMIN, USER, 'x'.repeat(501)), 'reason'],
    ['zero audit entries', (fx) => fx.admin.audit(0), 'limit'],
  ];

  it.each(bad)('rejects %s with InvalidInput and writes nothing', async (_name, call, field) => {
    const fx = setup();
    const err = await call(fx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe(field);
    expect(await keysUnder(fx)).toEqual([]);
  });
});
