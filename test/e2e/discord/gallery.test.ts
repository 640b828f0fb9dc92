import { afterEach, describe, expect, it } from 'vitest';
import { noSuchImageText, UNKNOWN_BUTTON_TEXT } from '../../../src/bots/discord/action-text.js';
import { DISCORD_DM_BUCKET_KEY } from '../../../src/bots/discord/dm-bucket.js';
import { PICK_TEXT } from '../../../src/bots/discord/edit-with-flux.js';
import { ContentModerated } from '../../../src/core/errors.js';
import { ScriptedProvider, type Step } from '../../fakes/scripted-provider.js';
import type { FakeMessage } from '../../fakes/discord/index.js';
import { buttonId, callbackOf, dataUri, deliveredImage, privateAnswer } from './click-helpers.js';
import { Harness } from './harness.js';

/**
 * Galleries on Discord end to end, through the real discord.js against the fake Discord (which checks components,
 * modals and attachments as Discord does) and the real worker: `/flux count:4` is one message of four attachments,
 * charged four; V n and E n vary and edit image n of it, charged to whoever clicks; Reroll makes the set again.
 * A recording provider stands in for the image service (one call per image: it makes no batches), so a test sees
 * each image's request and the image a Vary or Edit hands over.
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** `personal`: commands registered globally, so they are offered in DMs (with the DM bucket's quotas). */
async function start(options: { steps?: Step[]; dailyPerUser?: number; personal?: boolean } = {}): Promise<Harness> {
  provider = new ScriptedProvider('preview', options.steps ?? []);
  h = await Harness.start({
    provider: [provider],
    quotas: {
      ...(options.dailyPerUser === undefined ? {} : { dailyPerUser: options.dailyPerUser }),
      ...(options.personal ? { buckets: { [DISCORD_DM_BUCKET_KEY]: { dailyPerUser: 10, dailyPerGuild: 50 } } } : {}),
    },
    ...(options.personal ? { guildCommands: false } : {}),
  });
  return h;
}

type Field = { name: string; value: string };
const field = (m: FakeMessage, name: string) => (m.embeds[0]!.fields as Field[]).find((f) => f.name === name)?.value;
const rows = (m: FakeMessage) => (m.components as Array<{ components: Array<{ label: string }> }>).map((r) => r.components.map((b) => b.label));
const bytesOf = (harness: Harness, m: FakeMessage, n: number) => harness.fake.fileAt(m.attachments[n - 1]!.url)!;

describe('a /flux gallery on Discord', () => {
  it('count:4 is one message of 4 images charged 4; V2, E3 and Reroll by others work on image 2, image 3 and the set', async () => {
    const harness = await start();
    const command = harness.flux({ prompt: 'four foxes in the snow', seed: 100, count: 4 }, { user: 'alice' });
    const gallery = await deliveredImage(harness);
    expect(await harness.privateReply(command)).toMatch(/^Queued/);

    // One message, four attachments named by job and number, Discord showing them as a grid (no embed image).
    const jobId = (await harness.core.records.find('discord', gallery.id))!.jobId;
    expect(gallery.attachments.map((a) => a.filename)).toEqual([1, 2, 3, 4].map((n) => `flux-${jobId}-${n}.webp`));
    expect(gallery.embeds).toHaveLength(1);
    expect(gallery.embeds[0]!.image).toBeUndefined();
    expect(field(gallery, 'Images')).toBe('4 of 4');
    expect(field(gallery, 'Seeds')).toBe('100, 101, 102, 103');
    expect(new Set([1, 2, 3, 4].map((n) => bytesOf(harness, gallery, n).toString('base64'))).size).toBe(4);
    expect(harness.fake.callsTo((c) => c.route === 'createMessage' && c.files.length > 0)).toHaveLength(1);
    // The provider was asked once per image, each with its own seed and no count.
    expect(provider.calls.map((c) => c.request.seed).sort()).toEqual([100, 101, 102, 103]);
    expect(provider.calls.every((c) => c.request.count === undefined)).toBe(true);
    expect(await harness.usage('alice')).toEqual({ usedToday: 4, inFlight: 0 });
    // Reroll and Delete, then V1–V4 and E1–E4.
    expect(rows(gallery)).toEqual([
      ['Reroll', 'Delete'],
      ['V1', 'V2', 'V3', 'V4'],
      ['E1', 'E2', 'E3', 'E4'],
    ]);
    expect(buttonId(gallery, 'V2')).toBe(`flux:vary:${jobId}:2`);

    // V2 by bob: a variation of image 2 (its bytes are the provider's input), charged to him.
    const vary = harness.fake.click({ messageId: gallery.id, customId: buttonId(gallery, 'V2'), user: 'bob' });
    const varied = await deliveredImage(harness, 1);
    expect(await privateAnswer(harness, vary)).toMatch(/^Queued/);
    expect(varied.channelId).toBe(gallery.channelId);
    expect(varied.content).toContain(`<@${harness.fake.user('bob').id}> varied`);
    expect(varied.attachments).toHaveLength(1);
    expect(provider.calls[4]!.request.images).toEqual([dataUri(bytesOf(harness, gallery, 2))]);
    expect(provider.calls[4]!.request.prompt).toBe('four foxes in the snow');
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });

    // E3 by bob: the modal of image 3, then an edit of image 3.
    const edit = harness.fake.click({ messageId: gallery.id, customId: buttonId(gallery, 'E3'), user: 'bob' });
    expect((await callbackOf(harness, edit)).status).toBe(204);
    const modal = harness.fake.interactionState(edit.id).modal!;
    expect(modal.title).toBe('Edit image 3');
    const submit = harness.fake.submitModal({ interactionId: edit.id, values: { prompt: 'make the third fox red' } });
    const edited = await deliveredImage(harness, 2);
    expect(await privateAnswer(harness, submit)).toMatch(/^Queued/);
    expect(edited.content).toContain(`<@${harness.fake.user('bob').id}> edited`);
    expect(provider.calls[5]!.request).toMatchObject({ prompt: 'make the third fox red', model: 'flux-2-pro', images: [dataUri(bytesOf(harness, gallery, 3))] });
    expect(await harness.usage('bob')).toEqual({ usedToday: 2, inFlight: 0 });

    // Reroll by mod: the whole set again, a new gallery of four charged to them.
    const reroll = harness.fake.click({ messageId: gallery.id, customId: buttonId(gallery, 'Reroll'), user: 'mod' });
    const again = await deliveredImage(harness, 3);
    expect(await privateAnswer(harness, reroll)).toMatch(/^Queued/);
    expect(again.content).toContain(`<@${harness.fake.user('mod').id}> rerolled`);
    expect(again.attachments).toHaveLength(4);
    expect(field(again, 'Images')).toBe('4 of 4');
    expect(rows(again)[1]).toEqual(['V1', 'V2', 'V3', 'V4']);
    expect(provider.calls).toHaveLength(10);
    expect(await harness.usage('mod')).toEqual({ usedToday: 4, inFlight: 0 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 4, inFlight: 0 });
  });

  it('a gallery that came short says so; V4 on its 3 images and a forged V7 are answered privately, nothing enqueued or charged', async () => {
    // One of the four calls is refused for good: the three made are delivered and charged, the fourth given back.
    const harness = await start({ steps: ['ok', 'ok', 'ok', new ContentModerated('preview')] });
    harness.flux({ prompt: 'three owls and a fourth', count: 4 }, { user: 'alice' });
    const gallery = await deliveredImage(harness);
    expect(gallery.attachments).toHaveLength(3);
    expect(field(gallery, 'Images')).toBe('3 of 4');
    expect(gallery.content).toMatch(/\n⚠️ .*safety grounds/);
    expect(rows(gallery)).toEqual([
      ['Reroll', 'Delete'],
      ['V1', 'V2', 'V3'],
      ['E1', 'E2', 'E3'],
    ]);
    await expect.poll(() => harness.usage('alice')).toEqual({ usedToday: 3, inFlight: 0 });
    const jobs = await harness.jobCount();
    const jobId = (await harness.core.records.find('discord', gallery.id))!.jobId;

    const v4 = harness.fake.click({ messageId: gallery.id, customId: `flux:vary:${jobId}:4`, user: 'bob', forged: true });
    expect(await privateAnswer(harness, v4)).toBe(noSuchImageText(4, 3));
    const e4 = harness.fake.click({ messageId: gallery.id, customId: `flux:edit:${jobId}:4`, user: 'bob', forged: true });
    expect(await privateAnswer(harness, e4)).toBe(noSuchImageText(4, 3));
    expect(harness.fake.interactionState(e4.id).modal).toBeUndefined();
    const v7 = harness.fake.click({ messageId: gallery.id, customId: `flux:vary:${jobId}:7`, user: 'bob', forged: true });
    expect(await privateAnswer(harness, v7)).toBe(UNKNOWN_BUTTON_TEXT);

    expect(await harness.jobCount()).toBe(jobs);
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(provider.calls).toHaveLength(4);
    // V3, the last image there is, still works.
    harness.fake.click({ messageId: gallery.id, customId: buttonId(gallery, 'V3'), user: 'bob' });
    await deliveredImage(harness, 1);
    expect(provider.calls[4]!.request.images).toEqual([dataUri(bytesOf(harness, gallery, 3))]);
  });

  it('count:5 is refused clearly (Discord’s client would not send it; a stale one that does gets the parser’s answer); nothing charged', async () => {
    const harness = await start();
    await harness.fake.waitFor('putGuildCommands');
    expect(() => harness.flux({ prompt: 'five cats', count: 5 }, { user: 'alice' })).toThrow(/within \[1, 4\]/);
    // A client holding an older schema of the command sends it anyway: the bot's parser answers it.
    const stale = harness.fake.prepareInteraction({ name: 'flux', options: { prompt: 'five cats', count: 4 }, user: 'alice' });
    const options = (stale.payload as { data: { options: Array<{ name: string; value: unknown }> } }).data.options;
    options.find((o) => o.name === 'count')!.value = 5;
    const refused = stale.dispatch();
    expect(await harness.privateReply(refused)).toBe('That request can’t be made: count must be a whole number from 1 to 4.');
    expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(await harness.jobCount()).toBe(0);
    expect(harness.fake.messages().filter((m) => m.content.includes('five cats'))).toEqual([]);
  });

  it('count:4 with 2 images left today is refused, saying so; nothing charged; count:2 then fits', async () => {
    const harness = await start({ dailyPerUser: 6 });
    harness.flux({ prompt: 'four', count: 4 }, { user: 'alice' });
    await deliveredImage(harness);
    expect(await harness.usage('alice')).toEqual({ usedToday: 4, inFlight: 0 });
    const tooMany = harness.flux({ prompt: 'four more', count: 4 }, { user: 'alice' });
    expect(await harness.privateReply(tooMany)).toMatch(/^You have 2 of 6 images left for today, and this asks for 4: ask for at most 2\./);
    expect(await harness.usage('alice')).toEqual({ usedToday: 4, inFlight: 0 });
    expect(await harness.jobCount()).toBe(1);
    expect(provider.calls).toHaveLength(4);
    const two = harness.flux({ prompt: 'two more', count: 2 }, { user: 'alice' });
    expect(await harness.privateReply(two)).toMatch(/^Queued/);
    const pair = await deliveredImage(harness, 1);
    expect(pair.attachments).toHaveLength(2);
    expect(rows(pair)).toEqual([['Reroll', 'Delete'], ['V1', 'V2'], ['E1', 'E2']]);
    expect(await harness.usage('alice')).toEqual({ usedToday: 6, inFlight: 0 });
  });

  it('Edit with FLUX on a gallery message offers its images in a select; the edit carries the image picked', async () => {
    const harness = await start();
    harness.flux({ prompt: 'four lanterns', count: 4 }, { user: 'alice' });
    const gallery = await deliveredImage(harness);
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: gallery.id, user: 'bob' });
    await callbackOf(harness, command);
    const answer = harness.fake.originalResponse(command.id)!;
    expect(answer.content).toBe(PICK_TEXT);
    const select = (answer.components as Array<{ components: Array<{ custom_id: string; options: Array<{ label: string; value: string }> }> }>)[0]!.components[0]!;
    expect(select.options.map((o) => o.label)).toEqual(gallery.attachments.map((a, i) => `Image ${i + 1} (${a.filename})`));

    const chosen = harness.fake.select({ messageId: answer.id, customId: select.custom_id, values: ['2'], user: 'bob' });
    expect((await callbackOf(harness, chosen)).status).toBe(204);
    harness.fake.submitModal({ interactionId: chosen.id, values: { prompt: 'light the third lantern' } });
    const edited = await deliveredImage(harness, 1);
    expect(edited.channelId).toBe(gallery.channelId);
    expect(provider.calls[4]!.request.images).toEqual([dataUri(bytesOf(harness, gallery, 3))]);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});

describe('a gallery in personal use (a user install, in a DM)', () => {
  it('comes as one follow-up with all its files and the gallery buttons, charged to the person in the DM bucket; V2 varies image 2', async () => {
    const harness = await start({ personal: true });
    const command = harness.flux({ prompt: 'two moths', count: 2 }, { context: 1, install: 'user', user: 'alice' });
    expect(await harness.privateReply(command)).toMatch(/^Queued/);
    const followup = await harness.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === command.token && c.status === 200 && c.files.length > 0, 15_000);
    expect(followup.files.map((f) => f.filename)).toEqual([1, 2].map((n) => expect.stringMatching(new RegExp(`^flux-j[0-9a-f]{32}-${n}\\.webp$`))));
    const messages = harness.fake.followups(command.id).filter((m) => m.attachments.length > 0);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.attachments).toHaveLength(2);
    // Its buttons come once its record exists, through the interaction's token (the follow-up is the interaction's).
    await harness.fake.waitFor((c) => c.route === 'editFollowup' && c.params.token === command.token && c.params.messageId === messages[0]!.id && c.status === 200);
    const gallery = harness.fake.message(messages[0]!.id)!;
    expect(rows(gallery)).toEqual([['Reroll', 'Delete'], ['V1', 'V2'], ['E1', 'E2']]);
    expect(provider.calls).toHaveLength(2);
    const view = await harness.core.admin.userView(`${DISCORD_DM_BUCKET_KEY}:${harness.fake.user('alice').id}`, DISCORD_DM_BUCKET_KEY);
    expect(view.usedToday).toBe(2);

    const v2 = harness.fake.click({ messageId: gallery.id, customId: buttonId(gallery, 'V2'), user: 'alice' });
    await harness.fake.waitFor((c) => c.route === 'createFollowup' && c.params.token === v2.token && c.status === 200 && c.files.length > 0, 15_000);
    expect(provider.calls[2]!.request.images).toEqual([dataUri(bytesOf(harness, gallery, 2))]);
    await expect.poll(async () => (await harness.core.admin.userView(`${DISCORD_DM_BUCKET_KEY}:${harness.fake.user('alice').id}`, DISCORD_DM_BUCKET_KEY)).usedToday).toBe(3);
  });
});
