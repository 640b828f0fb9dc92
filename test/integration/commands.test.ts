import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdminCommand, runQuotaCommand } from '../../src/commands/flux-admin.js';
import { refusalText } from '../../src/commands/replies.js';
import type { FluxbotCore } from '../../src/core/core.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../helpers/core.js';

let core: FluxbotCore;
beforeEach(async () => {
  core = await makeCore({ quotas: { dailyPerUser: 3, concurrentPerUser: 2, dailyPerGuild: 100, concurrentPerGuild: 10 } });
});
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

const admin = person('boss');
const req = () => fluxRequest({ prompt: 'x' });

describe('/flux-admin and /flux-quota handlers', () => {
  it('refuse a non-admin before changing anything, even when called directly', async () => {
    const reply = await runAdminCommand({ admin: core.admin, actor: person('eve'), isAdmin: false }, { subcommand: 'grant', user: 'eve', amount: 100 });
    expect(reply.text).toMatch(/Only server admins/);
    expect((await core.admin.show({ kind: 'user', key: 'discord:g1:eve' })).grantBalance).toBe(0);
    expect(await core.admin.audit(10)).toHaveLength(0);
  });

  it('set, grant, ban and unban take effect at once and are audited with the actor', async () => {
    const ctx = { admin: core.admin, actor: admin, isAdmin: true };
    expect((await runAdminCommand(ctx, { subcommand: 'set', user: 'alice', daily: 1 })).text).toMatch(/1 per day/);
    expect((await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a1' })).status).toBe('queued');
    const refused = await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a2' });
    expect(refused).toMatchObject({ status: 'refused', reason: 'user_daily', limit: 1 });

    expect((await runAdminCommand(ctx, { subcommand: 'grant', user: 'alice', amount: 1 })).text).toMatch(/Granted 1 extra image to <@alice>/);
    expect((await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a3' })).status).toBe('queued');

    await runAdminCommand(ctx, { subcommand: 'ban', user: 'bob', reason: 'spam' });
    expect(await core.service.submit(req(), person('bob'), target, { dedupeKey: 'b1' })).toMatchObject({ status: 'refused', reason: 'banned', banReason: 'spam' });
    expect((await runQuotaCommand(core.admin, person('bob'))).text).toMatch(/not allowed.*spam/);
    expect((await runAdminCommand(ctx, { subcommand: 'unban', user: 'bob' })).text).toMatch(/can generate images again/);
    expect((await core.service.submit(req(), person('bob'), target, { dedupeKey: 'b2' })).status).toBe('queued');

    const audit = await core.admin.audit(10);
    expect(audit.map((a) => a.action).sort()).toEqual(['ban', 'grant', 'set_limits', 'unban'].sort());
    expect(audit.every((a) => a.actor === 'discord:g1:boss')).toBe(true);
  });

  it('show and reset work for a member and for the whole server; bad input changes nothing', async () => {
    const ctx = { admin: core.admin, actor: admin, isAdmin: true };
    await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a1' });
    expect((await runAdminCommand(ctx, { subcommand: 'show', user: 'alice' })).text).toMatch(/Used today: 1 of 3/);
    expect((await runAdminCommand(ctx, { subcommand: 'show' })).text).toMatch(/Quota for this server[\s\S]*Used today: 1 of 100/);
    await runAdminCommand(ctx, { subcommand: 'reset', user: 'alice' });
    expect((await runAdminCommand(ctx, { subcommand: 'show', user: 'alice' })).text).toMatch(/Used today: 0 of 3/);
    expect((await runAdminCommand(ctx, { subcommand: 'set', user: 'alice' })).text).toMatch(/Not changed: give daily, concurrent or both/);
    expect((await runAdminCommand(ctx, { subcommand: 'grant', user: 'alice', amount: -5 })).text).toMatch(/Not changed/);
    expect((await runAdminCommand(ctx, { subcommand: 'ban' })).text).toMatch(/Not changed: ban needs a member/);
    expect((await core.admin.audit(10)).map((a) => a.action)).toEqual(['reset_today']);
  });

  it('the person’s own view shows used, remaining, in flight and reset time', async () => {
    await core.service.submit(req(), person('alice'), target, { dedupeKey: 'a1' });
    const text = (await runQuotaCommand(core.admin, person('alice'), (ms) => `at ${ms}`)).text;
    expect(text).toMatch(/used 1 of 3 images today; 2 left/);
    expect(text).toMatch(/In progress: 1 of 2/);
    expect(text).toMatch(/resets at \d+/);
  });

  it('refusals are worded with the limit and the reset time', () => {
    expect(refusalText({ reason: 'user_daily', limit: 10, used: 10, resetAt: 5 }, (ms) => `<t:${ms}>`)).toBe(
      'You have used all 10 of your images for today. It resets <t:5>.',
    );
    expect(refusalText({ reason: 'user_concurrent', limit: 2, used: 2 }, String)).toMatch(/2 images in progress \(the limit is 2\)/);
  });
});
