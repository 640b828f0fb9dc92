import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../fakes/discord/index.js';

/**
 * The fake Discord refuses message components, modals and interaction callbacks as Discord does (400, code 50035, the
 * error tree by field path), so the bot's buttons and modal are checked against the same limits in every test.
 */

let fake: FakeDiscord | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.destroy();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

/** A real discord.js client logged in to the fake, so its gateway has a session to dispatch interactions to. */
async function login(): Promise<void> {
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake!.apiUrl } });
  const ready = once(client, Events.ClientReady);
  await client.login('any-token');
  await ready;
}

async function api(method: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fake!.apiUrl}/v10${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: 'Bot test' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: res.status === 204 ? undefined : await res.json() };
}

const button = (custom_id: string, label = 'Go') => ({ type: 2, style: 2, label, custom_id });
const row = (...components: unknown[]) => ({ type: 1, components });

/** Discord's 400 Invalid Form Body with the first error at `path`. */
function formErrorAt(json: unknown, path: Array<string | number>): { code: string } {
  const body = json as { code: number; message: string; errors: Record<string, unknown> };
  expect(body.code).toBe(50035);
  expect(body.message).toBe('Invalid Form Body');
  let node: unknown = body.errors;
  for (const key of path) node = (node as Record<string, unknown>)[String(key)];
  return (node as { _errors: Array<{ code: string }> })._errors[0]!;
}

describe('fake Discord: components, clicks and modals', () => {
  it('refuses more than 5 rows, more than 5 buttons, a custom_id past 100, a label past 80 and duplicate ids', async () => {
    fake = await FakeDiscord.start();
    const channel = fake.channel('general').id;
    const post = (components: unknown[]) => api('POST', `/channels/${channel}/messages`, { content: 'x', components });

    const rows = await post(Array.from({ length: 6 }, (_, i) => row(button(`b${i}`))));
    expect(rows.status).toBe(400);
    expect(formErrorAt(rows.json, ['components']).code).toBe('BASE_TYPE_MAX_LENGTH');
    const six = await post([row(...Array.from({ length: 6 }, (_, i) => button(`b${i}`)))]);
    expect(formErrorAt(six.json, ['components', 0, 'components']).code).toBe('BASE_TYPE_BAD_LENGTH');
    const longId = await post([row(button('x'.repeat(101)))]);
    expect(formErrorAt(longId.json, ['components', 0, 'components', 0, 'custom_id']).code).toBe('BASE_TYPE_BAD_LENGTH');
    const longLabel = await post([row(button('a', 'l'.repeat(81)))]);
    expect(formErrorAt(longLabel.json, ['components', 0, 'components', 0, 'label']).code).toBe('BASE_TYPE_BAD_LENGTH');
    const twice = await post([row(button('a'), button('a'))]);
    expect(formErrorAt(twice.json, ['components', 0, 'components', 1, 'custom_id']).code).toBe('COMPONENT_CUSTOM_ID_DUPLICATED');

    const ok = await post([row(button('x'.repeat(100), 'l'.repeat(80)))]);
    expect(ok.status).toBe(200);
    const id = (ok.json as { id: string }).id;
    // The same rules on an edit.
    const edit = await api('PATCH', `/channels/${channel}/messages/${id}`, { components: [row(button(''))] });
    expect(formErrorAt(edit.json, ['components', 0, 'components', 0, 'custom_id']).code).toBe('BASE_TYPE_BAD_LENGTH');
  });

  it('refuses more than 10 attachments on a message, as uploads or as kept attachments', async () => {
    fake = await FakeDiscord.start();
    const channel = fake.channel('general').id;
    const upload = async (n: number): Promise<{ status: number; json: unknown }> => {
      const form = new FormData();
      const attachments = Array.from({ length: n }, (_, id) => ({ id, filename: `f${id}.png` }));
      form.append('payload_json', JSON.stringify({ content: 'x', attachments }));
      for (let id = 0; id < n; id++) form.append(`files[${id}]`, new Blob([Buffer.from('not really a png')], { type: 'image/png' }), `f${id}.png`);
      const res = await fetch(`${fake!.apiUrl}/v10/channels/${channel}/messages`, { method: 'POST', headers: { authorization: 'Bot test' }, body: form });
      return { status: res.status, json: await res.json() };
    };
    const eleven = await upload(11);
    expect(eleven.status).toBe(400);
    expect(formErrorAt(eleven.json, ['attachments']).code).toBe('BASE_TYPE_MAX_LENGTH');
    const ten = await upload(10);
    expect(ten.status).toBe(200);
    expect((ten.json as { attachments: unknown[] }).attachments).toHaveLength(10);
    const listed = await api('POST', `/channels/${channel}/messages`, { content: 'x', attachments: Array.from({ length: 11 }, (_, id) => ({ id })) });
    expect(formErrorAt(listed.json, ['attachments']).code).toBe('BASE_TYPE_MAX_LENGTH');
  });

  it('a click is a type 3 interaction with the message; it takes a deferred update (6) or a modal (9) checked as Discord checks it', async () => {
    fake = await FakeDiscord.start();
    await login();
    const channel = fake.channel('general').id;
    const posted = await api('POST', `/channels/${channel}/messages`, { content: 'x', components: [row(button('press'))] });
    const messageId = (posted.json as { id: string }).id;
    expect(() => fake!.click({ messageId, customId: 'other' })).toThrow(/no enabled button other/);

    const click = fake.click({ messageId, customId: 'press' });
    expect(click.payload).toMatchObject({ type: 3, data: { custom_id: 'press', component_type: 2 }, message: { id: messageId } });
    const callback = (i: { id: string; token: string }, body: unknown) => api('POST', `/interactions/${i.id}/${i.token}/callback`, body);
    const input = (label: string) => row({ type: 4, custom_id: 'prompt', style: 2, label });
    const longTitle = await callback(click, { type: 9, data: { custom_id: 'm', title: 't'.repeat(46), components: [input('ok')] } });
    expect(formErrorAt(longTitle.json, ['data', 'title']).code).toBe('BASE_TYPE_BAD_LENGTH');
    const longLabel = await callback(click, { type: 9, data: { custom_id: 'm', title: 'Edit', components: [input('l'.repeat(46))] } });
    expect(formErrorAt(longLabel.json, ['data', 'components', 0, 'components', 0, 'label']).code).toBe('BASE_TYPE_BAD_LENGTH');
    expect((await callback(click, { type: 9, data: { custom_id: 'm', title: 't'.repeat(45), components: [input('l'.repeat(45))] } })).status).toBe(204);
    expect(fake.interactionState(click.id).modal).toMatchObject({ customId: 'm', inputs: [{ customId: 'prompt', required: true }] });

    // The modal's submission: type 5, its values; it cannot be answered with another modal.
    expect(() => fake!.submitModal({ interactionId: click.id, values: {} })).toThrow(/required/);
    const submit = fake.submitModal({ interactionId: click.id, values: { prompt: 'night' } });
    expect(submit.payload).toMatchObject({ type: 5, data: { custom_id: 'm', components: [{ type: 1, components: [{ type: 4, custom_id: 'prompt', value: 'night' }] }] }, message: { id: messageId } });
    const modalAgain = await callback(submit, { type: 9, data: { custom_id: 'm', title: 'Edit', components: [input('ok')] } });
    expect(formErrorAt(modalAgain.json, ['type']).code).toBe('INTERACTION_RESPONSE_TYPE_INVALID');
    expect((await callback(submit, { type: 6 })).status).toBe(204);

    // A deferred update is for clicks: a slash command cannot take one.
    const command = fake.interaction({ name: 'flux' });
    expect(formErrorAt((await callback(command, { type: 6 })).json, ['type']).code).toBe('INTERACTION_RESPONSE_TYPE_INVALID');
  });
});
