import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { optionalAdminRoutes } from '../../../src/http/admin/admin-routes.js';
import { HttpServer } from '../../../src/http/server.js';
import { dropPrefix, fluxRequest, makeCore, person, silentLogger, target } from '../../helpers/core.js';

const TOKEN = 'operator-token-0123456789';
let core: FluxbotCore;
let server: HttpServer;
afterEach(async () => {
  await server.close();
  await core.close(500);
  await dropPrefix(core.prefix);
});

async function start(token: string | undefined, quotas?: Parameters<typeof makeCore>[0]): Promise<string> {
  core = await makeCore(quotas);
  server = new HttpServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    checks: [],
    routes: optionalAdminRoutes({ token, admin: core.admin, queues: [core.queue], logger: silentLogger }),
  });
  return `http://127.0.0.1:${await server.listen()}`;
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}` });
const post = (base: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${base}/admin`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields) });

describe('/admin/queues (bull-board) behind ADMIN_TOKEN', () => {
  it('answers 401 with a basic-auth challenge without the token or with a wrong one, on every admin path', async () => {
    const base = await start(TOKEN);
    for (const [path, headers] of [
      ['/admin/queues', {}],
      ['/admin/queues/api/queues', {}],
      ['/admin', {}],
      ['/admin/queues', { authorization: 'Bearer not-the-token-at-all' }],
      ['/admin/queues', basic('wrong')],
      ['/admin/queues', { authorization: TOKEN }],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers });
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="fluxbot"/);
      expect(await res.text()).not.toContain('generate');
    }
  });

  it('serves the dashboard and its API with a bearer token or basic auth, showing the real queue and its jobs', async () => {
    const base = await start(TOKEN);
    await core.service.submit(fluxRequest(), person('alice'), target, { dedupeKey: 'd1' });

    const page = await fetch(`${base}/admin/queues`, { headers: bearer });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/"'); // the UI's assets resolve under the mount point
    const asset = /static\/js\/main\.[^"']+\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    const script = await fetch(`${base}/admin/queues/${asset}`, { headers: basic(TOKEN) });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);

    const api = await fetch(`${base}/admin/queues/api/queues?activeQueue=generate&status=prioritized&page=1`, { headers: basic(TOKEN) });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number> }> };
    const queue = body.queues.find((q) => q.name === 'generate');
    expect(queue?.readOnlyMode).toBe(true);
    expect((queue?.counts.waiting ?? 0) + (queue?.counts.prioritized ?? 0)).toBe(1);
  });

  it('is absent (404) when ADMIN_TOKEN is unset, token or not', async () => {
    const base = await start(undefined);
    expect((await fetch(`${base}/admin/queues`)).status).toBe(404);
    expect((await fetch(`${base}/admin/queues`, { headers: bearer })).status).toBe(404);
    expect((await fetch(`${base}/admin`, { headers: bearer })).status).toBe(404);
  });
});

describe('/admin quota page', () => {
  const alice = 'discord:g1:alice';

  it('changes quotas through QuotaAdmin as admin-web, shows them and the audit stream', async () => {
    const base = await start(TOKEN);
    expect((await post(base, { action: 'grant', kind: 'user', key: alice, amount: '5' })).status).toBe(200);
    expect((await post(base, { action: 'set', kind: 'user', key: alice, daily: '7', concurrent: '' })).status).toBe(200);
    expect((await post(base, { action: 'ban', kind: 'user', key: alice, reason: 'spam <b>' })).status).toBe(200);

    const snap = await core.admin.show({ kind: 'user', key: alice });
    expect(snap).toMatchObject({ grantBalance: 5, daily: { value: 7, overridden: true }, banned: { by: 'admin-web', reason: 'spam <b>' } });
    expect((await core.admin.audit(10)).map((e) => [e.actor, e.action])).toEqual([
      ['admin-web', 'ban'],
      ['admin-web', 'set_limits'],
      ['admin-web', 'grant'],
    ]);

    const page = await (await fetch(`${base}/admin?kind=user&key=${encodeURIComponent(alice)}`, { headers: bearer })).text();
    expect(page).toContain('Grant balance</th><td>5');
    expect(page).toContain('7 (custom)');
    expect(page).toContain('spam &#60;b&#62;'); // escaped, never markup
    expect(page).not.toContain('spam <b>');
    expect(page.match(/<td>admin-web<\/td>/g)).toHaveLength(3);

    const unban = await (await post(base, { action: 'unban', kind: 'user', key: alice })).text();
    expect(unban).toContain('is no longer banned');
    expect((await core.admin.show({ kind: 'user', key: alice })).banned).toBeUndefined();
  });

  it("sets and shows a server's budgets in dollars; bad amounts and a person's budget change nothing", async () => {
    const base = await start(TOKEN);
    const set = await post(base, { action: 'budget', kind: 'guild', key: 'discord:g1', monthly: '12.50', person_daily: '' });
    expect(set.status).toBe(200);
    const page = await set.text();
    expect(page).toContain('Budgets of guild discord:g1 changed.');
    expect(page).toContain('<th>Monthly budget</th><td>$12.50 (custom)</td>');
    expect((await core.admin.budget('discord:g1')).monthly).toEqual({ value: 12_500_000, overridden: true });
    const bad = await post(base, { action: 'budget', kind: 'guild', key: 'discord:g1', monthly: '12,50' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Not changed: monthly must be US dollars');
    expect(await (await post(base, { action: 'budget', kind: 'user', key: alice, monthly: '1' })).text()).toContain('budgets belong to a server');
    expect((await core.admin.audit(10)).map((e) => e.action)).toEqual(['set_budget']);
  });

  it('shows QuotaAdmin validation errors on the page with 400 and changes nothing', async () => {
    const base = await start(TOKEN, { quotas: { dailyPerUser: 10, concurrentPerUser: 2, dailyPerGuild: 100, concurrentPerGuild: 10, maxDailyPerGuild: 50, maxGrant: 3 } });
    const tooHigh = await post(base, { action: 'set', kind: 'guild', key: 'discord:g1', daily: '500' });
    expect(tooHigh.status).toBe(400);
    expect(await tooHigh.text()).toContain('Not changed: daily can be at most 50');
    const overGrant = await post(base, { action: 'grant', kind: 'user', key: alice, amount: '4' });
    expect(await overGrant.text()).toContain('Not changed: the grant balance can be at most 3');
    expect(await (await post(base, { action: 'ban', kind: 'guild', key: 'discord:g1' })).text()).toContain('only a user can be banned');
    expect(await (await post(base, { action: 'grant', kind: 'user', key: alice, amount: 'lots' })).text()).toContain('amount must be a whole number');
    expect(await core.admin.audit(10)).toEqual([]);
  });

  it('refuses a cross-site form post even with the browser’s basic auth', async () => {
    const base = await start(TOKEN);
    const res = await post(base, { action: 'grant', kind: 'user', key: alice, amount: '5' }, { origin: 'https://evil.example', ...basic(TOKEN) });
    expect(res.status).toBe(403);
    expect(await core.admin.audit(10)).toEqual([]);
    const sameSite = await post(base, { action: 'grant', kind: 'user', key: alice, amount: '1' }, { origin: base });
    expect(sameSite.status).toBe(200);
  });
});
