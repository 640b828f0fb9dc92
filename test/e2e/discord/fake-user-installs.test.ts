import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../fakes/discord/index.js';

/**
 * The fake Discord's rules for what issue 13 added, as Discord refuses them: context-menu commands and install
 * contexts at registration, string selects in messages, and the 5 follow-ups of an interaction authorized by a user
 * install alone.
 */

let fake: FakeDiscord | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.destroy();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

async function login(): Promise<void> {
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake!.apiUrl } });
  const ready = once(client, Events.ClientReady);
  await client.login('any-token');
  await ready;
}

async function api(method: string, path: string, body: unknown): Promise<{ status: number; json: { code?: number; errors?: unknown } | undefined }> {
  const res = await fetch(`${fake!.apiUrl}/v10${path}`, { method, headers: { 'content-type': 'application/json', authorization: 'Bot test' }, body: JSON.stringify(body) });
  return { status: res.status, json: res.status === 204 ? undefined : ((await res.json()) as { code?: number }) };
}

const flux = { name: 'flux', description: 'Make an image', type: 1 };
const select = (options: Array<{ label: string; value: string }>, extra: Record<string, unknown> = {}) => ({ type: 1, components: [{ type: 3, custom_id: 'pick', options, ...extra }] });

describe('fake Discord: user installs, message commands, selects', () => {
  it('registration: a message command has no description or options; integration types and contexts are checked', async () => {
    fake = await FakeDiscord.start();
    const put = (body: unknown[]) => api('PUT', `/applications/${fake!.applicationId}/commands`, body);
    expect((await put([flux, { type: 3, name: 'Edit with FLUX', integration_types: [0, 1], contexts: [0, 1, 2] }])).status).toBe(200);
    expect((await put([{ type: 3, name: 'Edit with FLUX', description: 'edits' }])).status).toBe(400);
    expect((await put([{ type: 3, name: 'x'.repeat(33) }])).status).toBe(400);
    expect((await put([{ ...flux, contexts: [3] }])).status).toBe(400);
    expect((await put([{ ...flux, integration_types: [] }])).status).toBe(400);
  });

  it('a command is offered only in its contexts and installs', async () => {
    fake = await FakeDiscord.start();
    await login();
    await api('PUT', `/applications/${fake.applicationId}/commands`, [{ ...flux, integration_types: [0], contexts: [0] }]);
    expect(() => fake!.interaction({ name: 'flux', context: 1 })).toThrow(/not offered in context 1/);
    expect(() => fake!.interaction({ name: 'flux', install: 'user' })).toThrow(/not offered to a user install/);
    const dm = await api('PUT', `/applications/${fake.applicationId}/commands`, [{ ...flux, integration_types: [0, 1], contexts: [0, 1, 2] }]);
    expect(dm.status).toBe(200);
    const i = fake.interaction({ name: 'flux', context: 2, install: 'user' });
    expect(i.payload).toMatchObject({ context: 2, authorizing_integration_owners: { '1': i.userId } });
    expect(i.payload.guild_id).toBeUndefined();
    expect(i.payload.member).toBeUndefined();
  });

  it('a user-installed interaction takes 5 follow-ups, the 6th is 400 code 40094; a guild-installed one is not limited', async () => {
    fake = await FakeDiscord.start();
    await login();
    const followups = async (install: 'user' | 'guild') => {
      const i = fake!.interaction({ name: 'flux', install });
      await api('POST', `/interactions/${i.id}/${i.token}/callback`, { type: 5 });
      const statuses: Array<[number, number | undefined]> = [];
      for (let n = 0; n < 6; n += 1) {
        const r = await api('POST', `/webhooks/${i.applicationId}/${i.token}?wait=true`, { content: `n${n}` });
        statuses.push([r.status, r.status === 200 ? undefined : r.json?.code]);
      }
      return statuses;
    };
    expect(await followups('user')).toEqual([...Array.from({ length: 5 }, () => [200, undefined]), [400, 40094]]);
    expect((await followups('guild')).every(([status]) => status === 200)).toBe(true);
  });

  it('string selects: alone in their row, 1–25 unique options; choices must be among them', async () => {
    fake = await FakeDiscord.start();
    await login();
    const channel = fake.channel('general').id;
    const post = (components: unknown[]) => api('POST', `/channels/${channel}/messages`, { content: 'pick', components });
    const ok = await post([select([{ label: 'One', value: '0' }, { label: 'Two', value: '1' }])]);
    expect(ok.status).toBe(200);
    expect((await post([select([])])).status).toBe(400);
    expect((await post([select(Array.from({ length: 26 }, (_, n) => ({ label: `L${n}`, value: String(n) })))])).status).toBe(400);
    expect((await post([select([{ label: 'a', value: 'x' }, { label: 'b', value: 'x' }])])).status).toBe(400);
    expect((await post([{ type: 1, components: [{ type: 3, custom_id: 'a', options: [{ label: 'a', value: 'a' }] }, { type: 2, style: 2, label: 'b', custom_id: 'b' }] }])).status).toBe(400);

    const message = fake.messages('general').at(-1)!;
    expect(() => fake!.select({ messageId: message.id, customId: 'pick', values: ['7'] })).toThrow(/not a choice/);
    expect(() => fake!.select({ messageId: message.id, customId: 'pick', values: ['0', '1'] })).toThrow(/not a choice/);
    const chosen = fake.select({ messageId: message.id, customId: 'pick', values: ['1'] });
    expect(chosen.payload).toMatchObject({ type: 3, data: { custom_id: 'pick', component_type: 3, values: ['1'] } });
  });
});
