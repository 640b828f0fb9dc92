import { PermissionFlagsBits, type TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CANCEL_REFUSED_TEXT,
  CANCELED_TEXT,
  CANCELING_TEXT,
  DELETE_REFUSED_TEXT,
  DELETED_TEXT,
  EDIT_AGAIN_TEXT,
  NOT_FOUND_TEXT,
  OTHER_GUILD_TEXT,
  UNKNOWN_BUTTON_TEXT,
} from '../../../src/bots/discord/action-text.js';
import { userKey } from '../../../src/core/ports.js';
import { ScriptedProvider, type Step } from '../../fakes/scripted-provider.js';
import type { FakeMessage } from '../../fakes/discord/index.js';
import { buttonId, buttons, callbackOf, dataUri, deliveredImage as image, privateAnswer } from './click-helpers.js';
import { GUILD, Harness } from './harness.js';

/**
 * The buttons under every delivered image (Reroll, Edit, Vary, Delete) and the Cancel button of a status message,
 * through the real discord.js against the fake Discord, which validates components, modals and callbacks as Discord
 * does. A recording provider stands in for the image service: it sees each request as the worker hands it over
 * (stored images put back as data URIs), so a test can check that a Vary or Edit carries the image.
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

async function start(options: { steps?: Step[]; quotas?: { dailyPerUser?: number }; workerConcurrency?: number } = {}): Promise<Harness> {
  provider = new ScriptedProvider('preview', options.steps ?? []);
  h = await Harness.start({
    provider: [provider],
    ...(options.quotas ? { quotas: options.quotas } : {}),
    ...(options.workerConcurrency === undefined ? {} : { workerConcurrency: options.workerConcurrency }),
    fake: { guilds: [GUILD, { name: 'Elsewhere', channels: [{ name: 'lobby' }], members: [{ user: { username: 'eve' } }] }] },
  });
  return h;
}

const seedOf = (m: FakeMessage) => m.embeds[0]!.fields!.find((f) => f.name === 'Seed')!.value;

describe('buttons under a delivered image on Discord', () => {
  it('one row labelled Reroll, Edit, Vary, Delete; Reroll from a second member on an uncached message is charged to them', async () => {
    const harness = await start();
    harness.flux({ prompt: 'a paper boat', seed: 7 }, { user: 'alice' });
    const first = await image(harness);
    expect(first.components).toHaveLength(1);
    expect(buttons(first).map((b) => b.label)).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    expect(buttons(first).every((b) => b.custom_id.length <= 100)).toBe(true);
    const thread = harness.adapter.gatewayClient!.channels.cache.get(first.channelId) as TextChannel | undefined;
    expect(thread?.messages.cache.has(first.id) ?? false).toBe(false);

    const click = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Reroll'), user: 'bob' });
    const ack = await callbackOf(harness, click);
    expect(ack.status).toBe(204);
    expect((ack.body as { type: number }).type).toBe(6);
    const second = await image(harness, 1);
    expect(second.channelId).toBe(first.channelId);
    expect(second.content).toContain(`<@${harness.fake.user('bob').id}> rerolled`);
    expect(seedOf(second)).not.toBe('7');
    expect(await privateAnswer(harness, click)).toMatch(/^Queued/);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    // The 🔄 reaction still works beside the buttons.
    harness.fake.reactionAdd({ messageId: first.id, userId: 'alice' });
    await image(harness, 2);
    expect(await harness.usage('alice')).toEqual({ usedToday: 2, inFlight: 0 });
  });

  it('Reroll and Vary check the clicker’s ban and quota: a private answer, nothing queued or charged', async () => {
    const harness = await start({ quotas: { dailyPerUser: 1 } });
    harness.flux({ prompt: 'a lighthouse' }, { user: 'alice' });
    const first = await image(harness);
    const guildId = harness.fake.guild.id;
    await harness.core.admin.ban(userKey({ platform: 'discord', guildId, userId: harness.fake.user('mod').id }), userKey({ platform: 'discord', guildId, userId: harness.fake.user('bob').id }), 'spam');
    const banned = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Vary'), user: 'bob' });
    expect(await privateAnswer(harness, banned)).toBe('You are not allowed to generate images on this server (spam).');
    const overQuota = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Reroll'), user: 'alice' });
    expect(await privateAnswer(harness, overQuota)).toMatch(/^You have used all 1 of your images for today/);
    expect(await harness.jobCount()).toBe(1);
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(provider.calls).toHaveLength(1);
  });

  it('Vary: the delivered image reaches the provider as images[0], with the same prompt and a new seed, on FLUX_EDIT_MODEL', async () => {
    const harness = await start();
    harness.flux({ prompt: 'a red kite over dunes', seed: 11 }, { user: 'alice' });
    const first = await image(harness);
    const bytes = harness.fake.fileAt(first.attachments[0]!.url)!;
    const click = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Vary'), user: 'bob' });
    const varied = await image(harness, 1);
    expect(varied.channelId).toBe(first.channelId);
    expect(varied.content).toContain(`<@${harness.fake.user('bob').id}> varied`);
    const call = provider.calls[1]!;
    expect(call.request.images).toEqual([dataUri(bytes)]);
    expect(call.request.prompt).toBe('a red kite over dunes');
    expect(call.request.model).toBe('flux-2-pro');
    expect(call.request.seed).not.toBe(11);
    expect(await privateAnswer(harness, click)).toMatch(/^Queued/);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('Edit opens a modal; its submission is an edit with the image as images[0]; the same modal submitted twice is charged once', async () => {
    const harness = await start();
    harness.flux({ prompt: 'a cabin in the woods' }, { user: 'alice' });
    const first = await image(harness);
    const bytes = harness.fake.fileAt(first.attachments[0]!.url)!;
    const click = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Edit'), user: 'bob' });
    const ack = await callbackOf(harness, click);
    expect(ack.status).toBe(204);
    const modal = harness.fake.interactionState(click.id).modal!;
    expect(modal.title.length).toBeLessThanOrEqual(45);
    expect(modal.inputs.map((i) => i.customId)).toEqual(['prompt', 'model']);
    expect(modal.inputs.every((i) => i.label.length <= 45)).toBe(true);
    expect(modal.inputs[1]!.value).toBe('flux-2-pro');

    const submit = harness.fake.submitModal({ interactionId: click.id, values: { prompt: 'make it night, snow falling' } });
    const edited = await image(harness, 1);
    expect(edited.channelId).toBe(first.channelId);
    expect(edited.content).toContain(`<@${harness.fake.user('bob').id}> edited`);
    const call = provider.calls[1]!;
    expect(call.request.images).toEqual([dataUri(bytes)]);
    expect(call.request).toMatchObject({ prompt: 'make it night, snow falling', model: 'flux-2-pro' });
    expect(await privateAnswer(harness, submit)).toMatch(/^Queued/);

    const again = harness.fake.submitModal({ interactionId: click.id, values: { prompt: 'make it night, snow falling' } });
    expect(await privateAnswer(harness, again)).toBe(EDIT_AGAIN_TEXT);
    const otherModel = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Edit'), user: 'bob' });
    await callbackOf(harness, otherModel);
    const refused = harness.fake.submitModal({ interactionId: otherModel.id, values: { prompt: 'sepia', model: 'flux-schnell' } });
    expect(await privateAnswer(harness, refused)).toMatch(/flux-schnell does not edit images/);
    expect(await harness.jobCount()).toBe(2);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('Delete: refused privately for another member; allowed for the requester and for someone who may manage messages', async () => {
    const harness = await start();
    harness.flux({ prompt: 'one' }, { user: 'alice' });
    const first = await image(harness);
    harness.flux({ prompt: 'two' }, { user: 'alice' });
    const second = await image(harness, 1);

    const refused = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Delete'), user: 'bob' });
    expect(await privateAnswer(harness, refused)).toBe(DELETE_REFUSED_TEXT);
    expect(harness.fake.message(first.id)!.deleted).toBe(false);

    const own = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Delete'), user: 'alice' });
    expect(await privateAnswer(harness, own)).toBe(DELETED_TEXT);
    expect(harness.fake.message(first.id)!.deleted).toBe(true);
    expect(await harness.core.records.find('discord', first.id)).toBeUndefined();

    const moderator = harness.fake.click({ messageId: second.id, customId: buttonId(second, 'Delete'), user: 'bob', permissions: PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ManageMessages });
    expect(await privateAnswer(harness, moderator)).toBe(DELETED_TEXT);
    expect(harness.fake.message(second.id)!.deleted).toBe(true);
  });

  it('buttons work after a restart, on a message the new client never saw', async () => {
    const harness = await start();
    harness.flux({ prompt: 'an old photo' }, { user: 'alice' });
    const first = await image(harness);
    await harness.stopBot();
    await harness.startBot();
    harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Vary'), user: 'bob' });
    const varied = await image(harness, 1);
    expect(varied.channelId).toBe(first.channelId);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});

describe('Cancel on a status message', () => {
  /** The status message of the nth /flux, once it shows a Cancel button. */
  async function cancelButton(harness: Harness, statusText: string): Promise<{ message: FakeMessage; customId: string }> {
    await expect.poll(() => harness.fake.messages().find((m) => m.content.includes(statusText) && buttons(m).some((b) => b.label === 'Cancel')), { timeout: 10_000 }).toBeTruthy();
    const message = harness.fake.messages().find((m) => m.content.includes(statusText) && buttons(m).some((b) => b.label === 'Cancel'))!;
    return { message, customId: buttonId(message, 'Cancel') };
  }

  it('a queued job is canceled at once and refunded; a running one is stopped and refunded; others are refused', async () => {
    const harness = await start({ steps: [{ hangMs: 60_000 }], workerConcurrency: 1 });
    harness.flux({ prompt: 'running job' }, { user: 'alice' });
    await expect.poll(() => provider.calls.length, { timeout: 10_000 }).toBe(1);
    harness.flux({ prompt: 'queued job' }, { user: 'alice' });
    const queued = await cancelButton(harness, 'queued job');
    const running = await cancelButton(harness, 'running job');

    const stranger = harness.fake.click({ messageId: queued.message.id, customId: queued.customId, user: 'bob' });
    expect(await privateAnswer(harness, stranger)).toBe(CANCEL_REFUSED_TEXT);
    const mine = harness.fake.click({ messageId: queued.message.id, customId: queued.customId, user: 'alice' });
    expect(await privateAnswer(harness, mine)).toBe(CANCELED_TEXT);
    await expect.poll(() => harness.fake.message(queued.message.id)!.content).toContain('canceled by');
    expect(harness.fake.message(queued.message.id)!.components).toEqual([]);

    // A server admin (Manage Server) may cancel anyone's job.
    const admin = harness.fake.click({ messageId: running.message.id, customId: running.customId, user: 'mod' });
    expect(await privateAnswer(harness, admin)).toBe(CANCELING_TEXT);
    await expect.poll(() => harness.fake.message(running.message.id)!.content, { timeout: 10_000 }).toContain('canceled');
    await expect.poll(() => harness.fake.message(running.message.id)!.components).toEqual([]);
    await expect.poll(() => harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(provider.calls).toHaveLength(1);
  });
});

describe('hostile buttons and modals', () => {
  it('forged custom_ids, another server’s image, a replayed click: a private answer, nothing charged or enqueued', async () => {
    const harness = await start();
    harness.flux({ prompt: 'a quiet harbour' }, { user: 'alice' });
    const first = await image(harness);
    const jobs = await harness.jobCount();

    const garbage = harness.fake.click({ messageId: first.id, customId: 'flux:nuke:everything', user: 'bob', forged: true });
    expect(await privateAnswer(harness, garbage)).toBe(UNKNOWN_BUTTON_TEXT);
    const otherJob = harness.fake.click({ messageId: first.id, customId: `flux:vary:j${'0'.repeat(32)}`, user: 'bob', forged: true });
    expect(await privateAnswer(harness, otherJob)).toBe(NOT_FOUND_TEXT);
    const otherEdit = harness.fake.click({ messageId: first.id, customId: `flux:edit:j${'1'.repeat(32)}`, user: 'bob', forged: true });
    expect(await privateAnswer(harness, otherEdit)).toBe(NOT_FOUND_TEXT);

    const elsewhere = harness.fake.guilds[1]!;
    const foreign = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Reroll'), user: 'eve', guild: elsewhere.id });
    expect(await privateAnswer(harness, foreign)).toBe(OTHER_GUILD_TEXT);
    const foreignDelete = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Delete'), user: 'eve', guild: elsewhere.id, permissions: PermissionFlagsBits.ManageMessages });
    expect(await privateAnswer(harness, foreignDelete)).toBe(OTHER_GUILD_TEXT);
    expect(harness.fake.message(first.id)!.deleted).toBe(false);

    // The same click delivered twice (a gateway replay): acknowledged once, one job, charged once.
    const click = harness.fake.click({ messageId: first.id, customId: buttonId(first, 'Reroll'), user: 'bob' });
    harness.fake.dispatch('INTERACTION_CREATE', click.payload);
    await image(harness, 1);
    await expect.poll(() => harness.fake.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === click.id).length).toBe(2);
    expect(harness.fake.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === click.id).map((c) => c.status).sort()).toEqual([204, 400]);
    expect(await harness.jobCount()).toBe(jobs + 1);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});
