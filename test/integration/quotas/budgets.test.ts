import { afterEach, describe, expect, it } from 'vitest';
import { runAdminCommand, runQuotaCommand } from '../../../src/commands/flux-admin.js';
import { refusalText } from '../../../src/commands/replies.js';
import type { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { PriceTable, toMicros } from '../../../src/core/prices.js';
import { QuotaKeys } from '../../../src/core/quotas/keys.js';
import { noMetrics } from '../../../src/core/metrics.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';
import { fixturePerTest, type QuotaFixture } from './fixture.js';

/**
 * Budgets in money, on the real Redis: the estimate is reserved in the same atomic admission as the image quotas,
 * settled to the actual cost or refunded exactly once, and no number of concurrent admissions spends past a budget.
 */

const GUILD = 'discord:300';
const setup = fixturePerTest();
let seq = 0;

function admit(fx: QuotaFixture, costMicros: number, userKey = `${GUILD}:7`, guild = GUILD) {
  seq += 1;
  return fx.store.admit({ jobId: `b-${seq}`, dedupeKey: `bd-${seq}`, userKey, guildKey: guild, costMicros });
}

async function spent(fx: QuotaFixture, guild = GUILD): Promise<number> {
  return (await fx.admin.budget(guild)).spentThisMonth;
}

const roomy = { dailyPerUser: 1000, concurrentPerUser: 1000, dailyPerGuild: 100_000, concurrentPerGuild: 100_000 };

describe('budgets at admission', () => {
  it('50 concurrent submits never spend past a server budget', async () => {
    const fx = setup({ defaults: roomy });
    await fx.admin.setBudget('discord:300:1', GUILD, { monthly: toMicros(1) });
    const cost = toMicros(0.045);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => admit(fx, cost, `${GUILD}:${i}`)));
    const accepted = results.filter((r) => r.status === 'accepted');
    expect(accepted).toHaveLength(22); // 22 × $0.045 = $0.99; the 23rd would make $1.035
    expect(results.filter((r) => r.status === 'refused' && r.reason === 'guild_budget')).toHaveLength(28);
    expect(await spent(fx)).toBe(22 * cost);
    const refused = results.find((r) => r.status === 'refused');
    expect(refused).toMatchObject({ limit: toMicros(1), used: 22 * cost, cost });
    const text = refusalText(refused as Parameters<typeof refusalText>[0], (ms) => new Date(ms).toISOString());
    expect(text).toContain("This server's monthly budget of $1.00 has $0.01 left and this image would cost up to $0.045.");
    expect(text).toContain('It resets 2026-12-01T00:00:00.000Z'); // the fixture's clock is in November, UTC
  });

  it('settles an estimate to the actual cost once, and refunds an estimate once', async () => {
    const fx = setup({ defaults: roomy });
    const first = await admit(fx, 100_000);
    expect(first.status).toBe('accepted');
    const firstId = `b-${seq}`;
    expect(await spent(fx)).toBe(100_000);
    expect(await fx.store.release(firstId, 'delivered', 45_000)).toBe(true);
    expect(await fx.store.release(firstId, 'delivered', 45_000)).toBe(false);
    expect(await fx.store.release(firstId, 'refunded')).toBe(false);
    expect(await spent(fx)).toBe(45_000);

    await admit(fx, 60_000);
    const secondId = `b-${seq}`;
    expect(await spent(fx)).toBe(105_000);
    expect(await Promise.all([fx.store.release(secondId, 'refunded'), fx.store.release(secondId, 'refunded')])).toEqual(
      expect.arrayContaining([true, false]),
    );
    expect(await spent(fx)).toBe(45_000);
    // The person's day counts the same money.
    const view = await fx.admin.userView(`${GUILD}:7`, GUILD);
    expect(view.spentToday).toBe(45_000);
  });

  it('a delivered job without an actual cost keeps its estimate', async () => {
    const fx = setup({ defaults: roomy });
    await admit(fx, 30_000);
    expect(await fx.store.release(`b-${seq}`, 'delivered')).toBe(true);
    expect(await spent(fx)).toBe(30_000);
  });

  it("the operator's monthly budget caps every server together", async () => {
    const fx = setup({ defaults: { ...roomy, monthlyBudget: toMicros(0.1), guildMonthlyBudget: toMicros(100) } });
    const guilds = ['discord:301', 'discord:302', 'discord:303'];
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => admit(fx, toMicros(0.03), `${guilds[i % 3]}:1`, guilds[i % 3])));
    expect(results.filter((r) => r.status === 'accepted')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'refused' && r.reason === 'global_budget')).toHaveLength(6);
    expect((await fx.admin.budget('discord:304')).operatorSpent).toBe(toMicros(0.09));
  });

  it('a per-person daily budget refuses one person and not the next; it resets the next day', async () => {
    const fx = setup({ defaults: { ...roomy, personDailyBudget: toMicros(0.05) } });
    expect((await admit(fx, toMicros(0.03), `${GUILD}:1`)).status).toBe('accepted');
    expect(await admit(fx, toMicros(0.03), `${GUILD}:1`)).toMatchObject({ status: 'refused', reason: 'user_budget', limit: toMicros(0.05), used: toMicros(0.03) });
    expect((await admit(fx, toMicros(0.03), `${GUILD}:2`)).status).toBe('accepted');
    fx.clock.advance(24 * 3600_000);
    expect((await admit(fx, toMicros(0.03), `${GUILD}:1`)).status).toBe('accepted');
  });

  it('refuses with nothing charged: no image count, no money, no in-flight slot', async () => {
    const fx = setup({ defaults: { ...roomy, guildMonthlyBudget: toMicros(0.01) } });
    const before = await fx.admin.show({ kind: 'user', key: `${GUILD}:7` });
    expect(await admit(fx, toMicros(0.02))).toMatchObject({ status: 'refused', reason: 'guild_budget' });
    expect(await fx.admin.show({ kind: 'user', key: `${GUILD}:7` })).toMatchObject({ usedToday: before.usedToday, inFlight: 0 });
    expect(await spent(fx)).toBe(0);
  });
});

describe('budget admin', () => {
  it('/flux-admin budget set and show: server-side admin check, dollars in, dollars out, default restored with -1', async () => {
    const fx = setup({ defaults: { ...roomy, guildMonthlyBudget: toMicros(20) } });
    const actor = { platform: 'discord' as const, guildId: '300', userId: '1' };
    const refused = await runAdminCommand({ admin: fx.admin, actor, isAdmin: false }, { subcommand: 'budget set', monthly: 5 });
    expect(refused.text).toBe('Only server admins can manage image quotas.');
    expect((await fx.admin.budget(GUILD)).monthly).toEqual({ value: toMicros(20), overridden: false });

    const set = await runAdminCommand({ admin: fx.admin, actor, isAdmin: true }, { subcommand: 'budget set', monthly: 5, person_daily: 0.5 });
    expect(set.text).toContain('Spent this month (2026-11): $0.00 of $5.00 (set for this server); $5.00 left.');
    expect(set.text).toContain('Each person may spend $0.50 a day (set for this server).');
    await admit(fx, toMicros(0.045));
    const show = await runAdminCommand({ admin: fx.admin, actor, isAdmin: true }, { subcommand: 'budget show' });
    expect(show.text).toContain('$0.045 of $5.00');
    const restored = await runAdminCommand({ admin: fx.admin, actor, isAdmin: true }, { subcommand: 'budget set', monthly: -1 });
    expect(restored.text).toContain('of $20.00 (the operator’s default)');
    const none = await runAdminCommand({ admin: fx.admin, actor, isAdmin: true }, { subcommand: 'budget set' });
    expect(none.text).toMatch(/^Not changed: give monthly, person_daily or both/);
    const audit = await fx.admin.audit(5);
    expect(audit.filter((e) => e.action === 'set_budget')).toHaveLength(2);
  });
});

describe('the money of a job, end to end through the worker', () => {
  let core: FluxbotCore;
  afterEach(async () => {
    await core.close(1000);
    await dropPrefix(core.prefix);
  });

  it('reserves the dearest configured provider, settles to what the image cost, shows it, counts it once', async () => {
    // flux-pro: Replicate $0.055 (the catalogue), fal priced at $0.08 by the operator: the estimate is the dearest.
    const prices = new PriceTable({ 'flux-pro': { fal: 0.08 } });
    // The spend metric: one count per image, at the settled cost.
    const spent: Array<[string, string, number]> = [];
    const metrics = { ...noMetrics, spend: (p: string, m: string, usd: number) => void spent.push([p, m, usd]) };
    core = await makeCore({ prices, pricedProviders: ['replicate', 'fal'], metrics, quotas: { ...roomy, guildMonthlyBudget: toMicros(1) } });
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new ScriptedProvider('replicate')], deliveries: { discord: delivery } }).start();
    const alice = person('alice', '300');
    const keys = new QuotaKeys(core.prefix);
    const month = new Date().toISOString().slice(0, 7);
    const monthSpent = async () => Number((await core.redis.hget(keys.month('guild', guildKey(alice), month), 'spent')) ?? 0);

    await core.service.submit(fluxRequest({ seed: 1 }), alice, target, { dedupeKey: 'm-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    // Reserved at the dearest ($0.08), settled to what Replicate's image cost.
    await expect.poll(monthSpent).toBe(55_000);
    expect(delivery.delivered[0]?.costMicros).toBe(55_000);
    expect((await core.history.list(alice))[0]?.record.costMicros).toBe(55_000);
    expect(spent).toEqual([['replicate', 'flux-pro', 0.055]]);
    const quota = await runQuotaCommand(core.admin, alice);
    expect(quota.text).toContain('Your images cost $0.055 today.'); // no person budget: the plain line
    expect(quota.text).toContain('This server spent $0.055 of its $1.00 monthly budget');
    expect((await core.admin.userView(userKey(alice), guildKey(alice))).spentToday).toBe(55_000);
  });
});

