import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { refusalText, plainTime } from '../../../src/commands/replies.js';
import { InvalidInput } from '../../../src/core/errors.js';
import { QuotaAdmin } from '../../../src/core/quotas/quota-admin.js';
import { DEFAULTS, fixturePerTest, REDIS_URL, type QuotaFixture } from './fixture.js';

const GUILD = 'discord:100';
const ADMIN = 'discord:100:1';
const guild = { kind: 'guild', key: GUILD } as const;

const setup = fixturePerTest();

let seq = 0;
function admit(fx: QuotaFixture, userKey: string, guildKey = GUILD) {
  seq += 1;
  return fx.store.admit({ jobId: `job-${seq}`, dedupeKey: `d-${seq}`, userKey, guildKey });
}

describe("the operator's ceilings", () => {
  it('QUOTA_DAILY_TOTAL caps images per day across every server; a refund frees one; the next day starts afresh', async () => {
    const fx = setup({ defaults: { dailyTotal: 3 } });
    expect((await admit(fx, 'discord:1:a', 'discord:1')).status).toBe('accepted');
    expect((await admit(fx, 'slack:T2:b', 'slack:T2')).status).toBe('accepted');
    const third = await admit(fx, 'discord:3:c', 'discord:3');
    expect(third.status).toBe('accepted');
    const refused = await admit(fx, 'discord:4:d', 'discord:4');
    expect(refused).toMatchObject({ status: 'refused', reason: 'global_daily', limit: 3, used: 3 });
    expect(refusalText(refused as never, plainTime)).toMatch(/all 3 images its operator allows per day, across every server\. It resets/);
    // Nothing was charged to the refused person.
    expect((await fx.admin.userView('discord:4:d', 'discord:4')).usedToday).toBe(0);

    await fx.store.release(third.status === 'accepted' ? third.jobId : '', 'refunded');
    expect((await admit(fx, 'discord:4:d', 'discord:4')).status).toBe('accepted');
    expect((await admit(fx, 'discord:5:e', 'discord:5')).status).toBe('refused');
    fx.clock.advance(86_400_000);
    expect((await admit(fx, 'discord:5:e', 'discord:5')).status).toBe('accepted');
  });

  it('QUOTA_MAX_DAILY_PER_GUILD: a server admin cannot set past it, and a higher override already stored is capped at it', async () => {
    const fx = setup({ defaults: { maxDailyPerGuild: 2, dailyPerUser: 10, concurrentPerUser: 10 } });
    const error = await fx.admin.setLimits(ADMIN, guild, { daily: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).userMessage).toContain('at most 2');
    expect((error as InvalidInput).userMessage).toContain('QUOTA_MAX_DAILY_PER_GUILD');
    expect((await fx.admin.show(guild)).daily.overridden).toBe(false); // nothing written
    expect(await fx.admin.audit()).toEqual([]);

    // An override written before the operator lowered the ceiling (an admin service without it).
    await new QuotaAdmin({ redis: fx.redis, prefix: fx.prefix, clock: fx.clock.now, defaults: { dailyPerUser: 10, concurrentPerUser: 10, dailyPerGuild: 200, concurrentPerGuild: 10 } }).setLimits(ADMIN, guild, { daily: 50 });
    expect((await admit(fx, 'discord:100:7')).status).toBe('accepted');
    expect((await admit(fx, 'discord:100:8')).status).toBe('accepted');
    expect(await admit(fx, 'discord:100:9')).toMatchObject({ status: 'refused', reason: 'guild_daily', limit: 2 });
    // A person's own daily limit is capped the same way, and what they are shown agrees.
    expect((await fx.admin.userView('discord:100:7', GUILD)).dailyLimit).toBe(2);
  });

  it('QUOTA_MAX_GRANT: a grant that would take the balance past it is refused and not audited; two at once cannot both pass', async () => {
    const fx = setup({ defaults: { maxGrant: 10 } });
    expect(await fx.admin.grant(ADMIN, guild, 8)).toBe(8);
    const error = await fx.admin.grant(ADMIN, guild, 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).userMessage).toContain('at most 10');
    expect((error as InvalidInput).userMessage).toContain('QUOTA_MAX_GRANT');
    expect((await fx.admin.show(guild)).grantBalance).toBe(8);
    expect((await fx.admin.audit()).map((e) => e.details)).toEqual([{ amount: 8 }]);

    // Two admins at once, each on its own connection, so the two grants really interleave on the server.
    const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    try {
      const admins = connections.map((redis) => new QuotaAdmin({ redis, prefix: fx.prefix, clock: fx.clock.now, defaults: { ...DEFAULTS, maxGrant: 10 } }));
      const both = await Promise.allSettled(admins.map((a) => a.grant(ADMIN, guild, 2)));
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    } finally {
      connections.forEach((c) => c.disconnect());
    }
    expect((await fx.admin.show(guild)).grantBalance).toBe(10);
  });
});
