import { EmbedType } from 'discord.js';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { EDIT_AGAIN_TEXT } from '../../../src/bots/discord/action-text.js';
import { NO_IMAGES_TEXT, PICK_EXPIRED_TEXT, PICK_TEXT } from '../../../src/bots/discord/edit-with-flux.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import type { DispatchedInteraction } from '../../fakes/discord/index.js';
import { Harness } from './harness.js';

/**
 * "Edit with FLUX", the message command, through the real discord.js against the fake Discord: on a member's own
 * uploaded image, the modal, then an edit delivered in a new thread on that message whose provider input is that
 * image; a select when the message has several; a private answer when it has none.
 */

let h: Harness | undefined;
let provider: ScriptedProvider;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

async function start(): Promise<Harness> {
  provider = new ScriptedProvider('preview', []);
  h = await Harness.start({ provider: [provider] });
  return h;
}

const png = (r: number) => sharp({ create: { width: 96, height: 80, channels: 3, background: { r, g: 40, b: 90 } } }).png().toBuffer();
const dataUri = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

/** A member's message in #general with these images attached. */
function upload(harness: Harness, files: Array<{ bytes: Buffer; filename: string }>, username = 'alice') {
  const attachments = files.map((f) => harness.fake.addAttachment(f.bytes, { filename: f.filename, contentType: 'image/png', width: 96, height: 80 }));
  return harness.fake.addMessage('general', { author: harness.fake.user(username), content: 'look at this', attachments });
}

function callbackOf(harness: Harness, i: DispatchedInteraction) {
  return harness.fake.waitFor((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
}

describe('Edit with FLUX (message command)', () => {
  it('on a member’s uploaded image: the Edit modal, then an edit in a new thread on the message, with that image as the provider’s input', async () => {
    const harness = await start();
    const bytes = await png(200);
    const message = upload(harness, [{ bytes, filename: 'cat.png' }]);
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'bob' });
    const ack = await callbackOf(harness, command);
    expect(ack.status).toBe(204);
    expect((ack.body as { type: number }).type).toBe(9);
    const modal = harness.fake.interactionState(command.id).modal!;
    expect(modal.inputs.map((i) => i.customId)).toEqual(['prompt', 'model']);

    const submit = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'make it night' } });
    const edited = await harness.image();
    // A thread started on the member's message takes its id.
    expect(edited.channelId).toBe(message.id);
    expect(edited.content).toContain(`<@${harness.fake.user('bob').id}> edited`);
    expect(provider.calls[0]!.request).toMatchObject({ prompt: 'make it night', model: 'flux-2-pro', images: [dataUri(bytes)] });
    expect(await harness.privateReply(submit)).toMatch(/^Queued/);
    expect(await harness.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  });

  it('with several images: a select to pick one, then the modal; the edit carries the image picked', async () => {
    const harness = await start();
    const first = await png(10);
    const second = await png(250);
    const message = upload(harness, [
      { bytes: first, filename: 'one.png' },
      { bytes: second, filename: 'two.png' },
    ]);
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'alice' });
    const ack = await callbackOf(harness, command);
    expect((ack.body as { type: number; data: { flags: number } }).type).toBe(4);
    const answer = harness.fake.originalResponse(command.id)!;
    expect(answer.content).toBe(PICK_TEXT);
    expect(harness.fake.interactionState(command.id).ephemeral).toBe(true);
    const select = (answer.components as Array<{ components: Array<{ custom_id: string; options: Array<{ label: string; value: string }> }> }>)[0]!.components[0]!;
    expect(select.options.map((o) => o.label)).toEqual(['Image 1 (one.png)', 'Image 2 (two.png)']);

    const chosen = harness.fake.select({ messageId: answer.id, customId: select.custom_id, values: ['1'], user: 'alice' });
    expect((await callbackOf(harness, chosen)).status).toBe(204);
    harness.fake.submitModal({ interactionId: chosen.id, values: { prompt: 'add snow' } });
    await harness.image();
    expect(provider.calls[0]!.request.images).toEqual([dataUri(second)]);
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('the same form submitted twice is one edit, charged once; another person’s form is refused', async () => {
    const harness = await start();
    const message = upload(harness, [{ bytes: await png(120), filename: 'dog.png' }]);
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'alice' });
    await callbackOf(harness, command);
    const forged = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'make it mine' }, user: 'bob' });
    expect(await harness.privateReply(forged)).toBe(PICK_EXPIRED_TEXT);
    const submit = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'a hat' } });
    expect(await harness.privateReply(submit)).toMatch(/^Queued/);
    const again = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'a hat' } });
    expect(await harness.privateReply(again)).toBe(EDIT_AGAIN_TEXT);
    await harness.image();
    expect(await harness.jobCount()).toBe(1);
    expect(await harness.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
  });

  it('on a message inside a thread: the edit goes into that thread', async () => {
    const harness = await start();
    const attachment = harness.fake.addAttachment(await png(90), { filename: 'in-thread.png', contentType: 'image/png', width: 96, height: 80 });
    const message = harness.fake.addMessage('renders', { author: harness.fake.user('alice'), attachments: [attachment] });
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'alice' });
    await callbackOf(harness, command);
    harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'warmer light' } });
    const edited = await harness.image();
    expect(edited.channelId).toBe(harness.fake.channel('renders').id);
    expect(harness.fake.callsTo('startThreadFromMessage')).toEqual([]);
  });

  it('an embed image on another host is fetched through the link guard: a private address is refused, nothing charged', async () => {
    const harness = await start();
    const message = harness.fake.addMessage('general', {
      author: harness.fake.user('alice'),
      embeds: [{ type: EmbedType.Image, url: 'http://127.0.0.1:9/cat.png', thumbnail: { url: 'http://127.0.0.1:9/cat.png', width: 96, height: 80 } }],
    });
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'bob' });
    await callbackOf(harness, command);
    expect(harness.fake.interactionState(command.id).modal).toBeDefined();
    const submit = harness.fake.submitModal({ interactionId: command.id, values: { prompt: 'add a hat' } });
    expect(await harness.privateReply(submit)).toMatch(/image 1 \(cat\.png\)/);
    expect(await harness.jobCount()).toBe(0);
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(provider.calls).toEqual([]);
  });

  it('on a message without an image: a private answer, nothing charged or queued', async () => {
    const harness = await start();
    const message = harness.fake.addMessage('general', { author: harness.fake.user('alice'), content: 'just words' });
    const command = harness.fake.messageCommand({ name: 'Edit with FLUX', messageId: message.id, user: 'bob' });
    const ack = await callbackOf(harness, command);
    const body = ack.body as { type: number; data: { content: string; flags: number } };
    expect(body.type).toBe(4);
    expect(body.data.flags & 64).toBe(64);
    expect(body.data.content).toBe(NO_IMAGES_TEXT);
    expect(await harness.jobCount()).toBe(0);
    expect(await harness.usage('bob')).toEqual({ usedToday: 0, inFlight: 0 });
  });
});
