import { describe, expect, it } from 'vitest';
import { fixturePerTest, type QuotaFixture } from './fixture.js';

/**
 * Buckets with their own daily limits (QuotaDefaults.buckets): Discord's DM bucket `discord:dm`, where use outside
 * servers is counted on the person and on the bucket, with the operator's limits instead of the general defaults.
 */

const setup = fixturePerTest();
const BUCKET = 'discord:dm';

let seq = 0;
function admit(fx: QuotaFixture, userKey: string, guildKey: string) {
  seq += 1;
  return fx.store.admit({ jobId: `job-${seq}`, dedupeKey: `d-${seq}`, userKey, guildKey });
}

describe('quota buckets', () => {
  it('a bucket’s people and the bucket itself have the bucket’s daily limits; servers keep the defaults', async () => {
    const fx = setup({ defaults: { dailyPerUser: 5, concurrentPerUser: 20, buckets: { [BUCKET]: { dailyPerUser: 1, dailyPerGuild: 2 } } } });
    expect((await admit(fx, `${BUCKET}:a`, BUCKET)).status).toBe('accepted');
    expect(await admit(fx, `${BUCKET}:a`, BUCKET)).toMatchObject({ status: 'refused', reason: 'user_daily', limit: 1 });
    expect((await admit(fx, `${BUCKET}:b`, BUCKET)).status).toBe('accepted');
    expect(await admit(fx, `${BUCKET}:c`, BUCKET)).toMatchObject({ status: 'refused', reason: 'guild_daily', limit: 2 });
    // The same person in a server: the general defaults, their own count.
    for (let i = 0; i < 5; i += 1) expect((await admit(fx, 'discord:100:a', 'discord:100')).status).toBe('accepted');
    expect(await admit(fx, 'discord:100:a', 'discord:100')).toMatchObject({ status: 'refused', reason: 'user_daily', limit: 5 });
  });

  it('what people and admins see follows the bucket’s limits', async () => {
    const fx = setup({ defaults: { dailyPerUser: 5, concurrentPerUser: 20, dailyPerGuild: 200, buckets: { [BUCKET]: { dailyPerUser: 3, dailyPerGuild: 40 } } } });
    await admit(fx, `${BUCKET}:a`, BUCKET);
    expect(await fx.admin.userView(`${BUCKET}:a`, BUCKET)).toMatchObject({ usedToday: 1, dailyLimit: 3 });
    expect((await fx.admin.show({ kind: 'guild', key: BUCKET })).daily).toMatchObject({ value: 40 });
    expect((await fx.admin.show({ kind: 'user', key: `${BUCKET}:a` })).daily).toMatchObject({ value: 3 });
    expect((await fx.admin.show({ kind: 'guild', key: 'discord:100' })).daily).toMatchObject({ value: 200 });
  });
});
