import { afterEach, describe, expect, it } from 'vitest';
import { makeImage } from '../../fakes/fake-server.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import type { FakeMessage } from '../../fakes/slack/index.js';
import { ADMIN, CHANNEL, LISTED, MEMBER, MODES, OTHER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

type Button = { type: string; action_id: string; value: string; text: { text: string } };
type Block = { type: string; block_id?: string; elements?: Button[]; element?: { action_id: string; options?: Array<{ value: string }> } };

/** Runs `/flux` as MEMBER and resolves with the delivered image and the message of its buttons. */
async function firstImage(harness: SlackHarness, text = 'a paper boat seed:5') {
  await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
  const [image] = await harness.delivered(1);
  if (!image?.thread_ts) throw new Error('no image in a thread');
  return { image, buttons: buttonsOf(harness, image) };
}

/** The message in the image's thread carrying its buttons. */
function buttonsOf(harness: SlackHarness, image: FakeMessage): FakeMessage {
  const found = harness.fake
    .messagesIn(CHANNEL, image.thread_ts)
    .find((m) => (m.blocks as Block[] | undefined)?.some((b) => b.elements?.some((e) => e.value?.startsWith(`${image.ts}|`))));
  if (!found) throw new Error(`no buttons for the image ${image.ts}`);
  return found;
}

function buttons(message: { blocks?: unknown }): Button[] {
  return ((message.blocks as Block[] | undefined) ?? []).flatMap((b) => b.elements ?? []);
}

const click = (harness: SlackHarness, user: string, actionId: string, on: FakeMessage) =>
  harness.fake.blockAction({ user, actionId, channel: on.channel, messageTs: on.ts });

const toldTo = (harness: SlackHarness, user: string) => harness.fake.workspace.ephemerals.filter((e) => e.user === user).map((e) => e.text);

async function told(harness: SlackHarness, user: string, text: string | RegExp): Promise<void> {
  await harness.fake.until(() => toldTo(harness, user).some((t) => (typeof text === 'string' ? t === text : text.test(t))), 10_000, `"${String(text)}" told to ${user}`);
}

/** The provider input image of a job, as bytes (the worker resolves stored references to data: URIs). */
function inputBytes(provider: ScriptedProvider, prompt: string): Buffer | undefined {
  const image = provider.calls.find((c) => c.request.prompt === prompt && c.request.images?.length)?.request.images?.[0];
  const match = /^data:image\/[a-z]+;base64,(.+)$/.exec(image ?? '');
  return match ? Buffer.from(match[1]!, 'base64') : undefined;
}

describe.each(MODES)('buttons under a delivered image (%s mode)', (mode) => {
  it('carries Reroll, Edit, Vary and Delete naming only the image message and its job; Reroll from a second member is charged to them', async () => {
    h = await SlackHarness.start(mode);
    const { image, buttons: message } = await firstImage(h);
    const record = await h.core.records.find('slack', image.ts);

    expect(buttons(message).map((b) => b.text.text.replace(/^:[a-z0-9_]+: /, ''))).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    expect(buttons(message).map((b) => b.value)).toEqual(Array(4).fill(`${image.ts}|${record?.jobId}`));
    expect(message.thread_ts).toBe(image.thread_ts);

    const answer = await click(h, OTHER, 'fluxbot_reroll', message);
    const [, second] = await h.delivered(2);

    expect(answer.ok).toBe(true);
    expect(second?.thread_ts).toBe(image.thread_ts);
    expect(await h.core.records.find('slack', second?.ts ?? '')).toMatchObject({ rerollOf: image.ts, requester: { userId: OTHER } });
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
    expect(await h.usedToday(MEMBER)).toBe(1);
    // The reroll's own image has its own buttons.
    expect(buttons(buttonsOf(h, second!))[0]?.value).toMatch(new RegExp(`^${second!.ts.replace('.', '\\.')}\\|`));
  });
});

describe('Vary and Edit', () => {
  it('Vary: the delivered image (read back from Slack) is images[0] of a job on the edit model with the same prompt, charged to the clicker', async () => {
    const provider = new ScriptedProvider('preview');
    h = await SlackHarness.start('http', { providers: [provider] });
    const { image, buttons: message } = await firstImage(h);
    const delivered = h.fake.fileBytes(image.files![0]!.id)!;

    await click(h, OTHER, 'fluxbot_vary', message);
    const [, varied] = await h.delivered(2);

    const record = await h.core.records.find('slack', varied?.ts ?? '');
    expect(record).toMatchObject({ requester: { userId: OTHER }, request: { prompt: 'a paper boat', model: 'flux-2-pro' } });
    expect(record?.request.seed).not.toBe(5);
    expect(provider.calls).toHaveLength(2);
    expect(inputBytes(provider, 'a paper boat')?.equals(delivered)).toBe(true);
    // The image was downloaded with the bot token.
    expect(h.fake.http.calls.some((c) => c.path.includes(image.files![0]!.id) && c.headers.authorization === `Bearer ${h!.fake.config.botToken}`)).toBe(true);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
  });

  it('Edit: opens a form (prompt, and a model among those that edit, FLUX_EDIT_MODEL first); its submission edits the image; submitted twice, charged once', async () => {
    const provider = new ScriptedProvider('preview');
    h = await SlackHarness.start('http', { providers: [provider] });
    const { fake } = h;
    const { image, buttons: message } = await firstImage(h);
    const delivered = fake.fileBytes(image.files![0]!.id)!;

    await click(h, OTHER, 'fluxbot_edit', message);
    const opened = await fake.waitForCall('views.open');
    const view = opened.args.view as { title: { text: string }; blocks: Block[] };
    expect(opened.response.ok).toBe(true);
    expect(view.title.text).toBe('Edit with FLUX');
    const model = view.blocks.find((b) => b.element?.action_id === 'model')?.element;
    expect(model?.options?.map((o) => o.value)).toContain('flux-2-pro');
    expect((model as { initial_option?: { value: string } }).initial_option?.value).toBe('flux-2-pro');
    expect(await h.jobCount()).toBe(1);

    const submitted = await fake.viewSubmission({ user: OTHER, inputs: { prompt: 'make it night', model: 'flux-2-pro' } });
    const [, edited] = await h.delivered(2);
    const again = await fake.viewSubmission({ user: OTHER, inputs: { prompt: 'make it night', model: 'flux-2-pro' } });
    await told(h, OTHER, 'This request is already being worked on.');

    expect([submitted.ok, again.ok]).toEqual([true, true]);
    expect(edited?.thread_ts).toBe(image.thread_ts);
    expect(await h.core.records.find('slack', edited?.ts ?? '')).toMatchObject({ requester: { userId: OTHER }, request: { prompt: 'make it night', model: 'flux-2-pro' } });
    expect(inputBytes(provider, 'make it night')?.equals(delivered)).toBe(true);
    expect(await h.jobCount()).toBe(2);
    expect(await h.usedToday(OTHER)).toBe(1);
  });

  it('an empty prompt or a model that does not edit is answered under its field, nothing submitted', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { buttons: message } = await firstImage(h);
    await click(h, OTHER, 'fluxbot_edit', message);
    await fake.waitForCall('views.open');

    const empty = await fake.viewSubmission({ user: OTHER, inputs: { prompt: '   ', model: 'flux-2-pro' } });
    const view = [...fake.workspace.views.values()].at(-1)!;
    const forged = await fake.viewSubmission({ user: OTHER, values: { prompt: { prompt: { type: 'plain_text_input', value: 'night' } }, model: { model: { type: 'static_select', selected_option: { value: 'flux-pro' } } } } });

    expect(empty.body).toEqual({ response_action: 'errors', errors: { prompt: 'Say what to change.' } });
    expect(forged.body).toMatchObject({ response_action: 'errors', errors: { model: expect.stringMatching(/^Choose one of flux-2-pro/) } });
    expect(view.callback_id).toBe('fluxbot_edit');
    expect(await h.jobCount()).toBe(1);
    expect(await h.usedToday(OTHER)).toBe(0);
  });
});

describe('Delete', () => {
  it('is refused privately to another member; the requester deletes the image, its file and its buttons', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { image, buttons: message } = await firstImage(h);

    await click(h, OTHER, 'fluxbot_delete', message);
    await told(h, OTHER, 'Only the person who asked for this image, or a workspace admin, can delete it.');
    expect(fake.message(CHANNEL, image.ts)).toBeDefined();

    await click(h, MEMBER, 'fluxbot_delete', message);
    await told(h, MEMBER, 'The image was deleted.');

    expect(fake.message(CHANNEL, image.ts)).toBeUndefined();
    expect(fake.message(CHANNEL, message.ts)).toBeUndefined();
    expect(fake.workspace.files.has(image.files![0]!.id)).toBe(false);
    expect(await h.core.records.find('slack', image.ts)).toBeUndefined();
    // A late click on the deleted image's buttons (still on someone's screen): a clear answer, nothing charged.
    await fake.blockAction({ user: OTHER, actionId: 'fluxbot_reroll', channel: CHANNEL, value: buttons(message)[0]!.value });
    await told(h, OTHER, /^This image is no longer available/);
    expect(await h.usedToday(OTHER)).toBe(0);
  });

  it('a workspace admin, and a member of SLACK_ADMIN_USER_IDS, may delete anyone’s image', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const first = await firstImage(h);
    await click(h, MEMBER, 'fluxbot_reroll', first.buttons);
    const [, second] = await h.delivered(2);

    await click(h, ADMIN, 'fluxbot_delete', first.buttons);
    await told(h, ADMIN, 'The image was deleted.');
    await click(h, LISTED, 'fluxbot_delete', buttonsOf(h, second!));
    await told(h, LISTED, 'The image was deleted.');

    expect(fake.message(CHANNEL, first.image.ts)).toBeUndefined();
    expect(fake.message(CHANNEL, second!.ts)).toBeUndefined();
  });
});

describe('Cancel', () => {
  it('a queued job’s status message has Cancel: refused to another member, the requester cancels it and is refunded', async () => {
    h = await SlackHarness.start('http', { worker: false });
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a lighthouse' });
    const update = await fake.waitForCall('chat.update', (c) => JSON.stringify(c.args.blocks ?? '').includes('fluxbot_cancel'));
    const status = fake.message(CHANNEL, String(update.args.ts))!;
    const [cancel] = buttons(status);
    expect(cancel?.text.text).toMatch(/Cancel$/);
    expect(await h.inFlight(MEMBER)).toBe(1);

    await click(h, OTHER, 'fluxbot_cancel', status);
    await told(h, OTHER, 'Only the person who asked for this image, or a workspace admin, can cancel it.');
    expect(await h.jobCount()).toBe(1);

    await click(h, MEMBER, 'fluxbot_cancel', status);
    await told(h, MEMBER, 'Canceled; nothing was charged.');

    expect(await h.jobCount()).toBe(0);
    expect(await h.inFlight(MEMBER)).toBe(0);
    expect(await h.usedToday(MEMBER)).toBe(0);
    const after = fake.message(CHANNEL, status.ts)!;
    expect(after.text).toContain('Canceled by <@U0MEMBER>');
    expect(buttons(after)).toEqual([]);
  });

  it('a running job: the requester’s Cancel stops it; it ends canceled and refunded, its Cancel button goes, no image is posted', async () => {
    const provider = new ScriptedProvider('preview', [{ hangMs: 60_000 }]);
    h = await SlackHarness.start('http', { providers: [provider] });
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a slow lighthouse' });
    await fake.until(() => provider.calls.length === 1, 10_000, 'the provider called');
    // The status message once it says it is generating, with its Cancel button.
    const update = await fake.waitForCall('chat.update', (c) => String(c.args.text ?? '').includes('Generating') && JSON.stringify(c.args.blocks ?? '').includes('fluxbot_cancel'));
    const status = fake.message(CHANNEL, String(update.args.ts))!;
    const [cancel] = buttons(status);
    expect(cancel?.action_id).toBe('fluxbot_cancel');
    expect(await h.inFlight(MEMBER)).toBe(1);

    await click(h, MEMBER, 'fluxbot_cancel', status);
    await told(h, MEMBER, 'Stopping it now; you are not charged unless the image was already made.');

    await expect.poll(() => h!.inFlight(MEMBER), { timeout: 10_000 }).toBe(0);
    expect(await h.usedToday(MEMBER)).toBe(0);
    await fake.until(() => buttons(fake.message(CHANNEL, status.ts)!).length === 0, 10_000, 'the Cancel button gone');
    const after = fake.message(CHANNEL, status.ts)!;
    // The job ends canceled (not retried): the status says there is no image, the thread says why.
    const job = await h.core.queue.getJob(cancel!.value);
    expect(job?.data.failure).toEqual({ code: 'canceled', message: 'The generation was canceled.' });
    expect(after.text).toContain('No image this time');
    expect(fake.messagesIn(CHANNEL, status.ts).map((m) => m.text)).toContain('<@U0MEMBER> no image this time: The generation was canceled.');
    // Nothing more arrives: no image, and the job is not run again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.images()).toEqual([]);
    expect(provider.calls).toHaveLength(1);
    expect(buttons(fake.message(CHANNEL, status.ts)!)).toEqual([]);
  });
});

describe('Edit with FLUX (message shortcut)', () => {
  it.each(MODES)('edits a member’s own uploaded image through the form; the result goes to the message’s thread (%s mode)', async (mode) => {
    const provider = new ScriptedProvider('preview');
    h = await SlackHarness.start(mode, { providers: [provider] });
    const { fake } = h;
    const photo = await makeImage(96, 64);
    const file = fake.addFile(photo, { name: 'cat.png', user: MEMBER, channels: [CHANNEL] });
    const other = fake.addFile(await makeImage(80, 80), { name: 'dog.png', user: MEMBER, channels: [CHANNEL] });
    const posted = fake.seedMessage({ channel: CHANNEL, user: MEMBER, text: 'my pets', files: [file, other] });

    const answer = await fake.messageShortcut({ user: MEMBER, channel: CHANNEL, messageTs: posted.ts, callbackId: 'edit_with_flux' });
    const opened = await fake.waitForCall('views.open');
    const select = (opened.args.view as { blocks: Block[] }).blocks.find((b) => b.element?.action_id === 'image')?.element;
    expect(answer.ok).toBe(true);
    expect(select?.options?.map((o) => o.value)).toEqual([file.id, other.id]);

    await fake.viewSubmission({ inputs: { image: file.id, prompt: 'give it a hat', model: 'flux-2-pro' } });
    const [edit] = await h.delivered(1);

    expect(edit?.thread_ts).toBe(posted.ts);
    expect(inputBytes(provider, 'give it a hat')?.equals(photo)).toBe(true);
    expect(await h.core.records.find('slack', edit?.ts ?? '')).toMatchObject({ requester: { userId: MEMBER }, request: { model: 'flux-2-pro' } });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('a message without images is answered privately; an image neither theirs nor shared there reads as not found', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const chatter = fake.seedMessage({ channel: CHANNEL, user: MEMBER, text: 'hello' });
    await fake.messageShortcut({ user: OTHER, channel: CHANNEL, messageTs: chatter.ts, callbackId: 'edit_with_flux' });
    await told(h, OTHER, 'This message has no PNG, JPEG, WebP or GIF image to edit.');

    // A file in someone's DM, shown on a message here (e.g. a forged payload): not shared in this channel.
    const hidden = fake.addFile(await makeImage(80, 80), { name: 'secret.png', user: ADMIN });
    const posted = fake.seedMessage({ channel: CHANNEL, user: ADMIN, text: 'look', files: [hidden] });
    await fake.messageShortcut({ user: OTHER, channel: CHANNEL, messageTs: posted.ts, callbackId: 'edit_with_flux' });
    await fake.waitForCall('views.open');
    await fake.viewSubmission({ inputs: { prompt: 'make it blue', model: 'flux-2-pro' } });
    await told(h, OTHER, /could not be found/);

    expect(await h.jobCount()).toBe(0);
    expect(await h.usedToday(OTHER)).toBe(0);
  });
});

describe('App Home', () => {
  it('shows the person’s quota and their last images with Reroll and Edit, which work from there', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { image } = await firstImage(h, 'a red kite');

    await fake.appHomeOpened(MEMBER);
    const published = await fake.waitForCall('views.publish');
    expect(published.response.ok).toBe(true);
    const home = fake.workspace.homes.get(MEMBER)!;
    const text = JSON.stringify(home.blocks);
    expect(text).toContain('You have used 1 of 100 images today');
    expect(text).toContain('a red kite');
    const record = await h.core.records.find('slack', image.ts);
    expect(buttons(home).map((b) => [b.action_id, b.value])).toEqual([
      ['fluxbot_reroll', `${image.ts}|${record?.jobId}`],
      ['fluxbot_edit', `${image.ts}|${record?.jobId}`],
    ]);

    await fake.blockAction({ user: MEMBER, actionId: 'fluxbot_reroll', viewId: home.id });
    const [, second] = await h.delivered(2);
    expect(second?.thread_ts).toBe(image.thread_ts);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(2);
  });
});

describe('hostile clicks', () => {
  it('forged values, another workspace’s click, and a replayed click: clear private answers, nothing charged twice, nothing enqueued', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { image, buttons: message } = await firstImage(h);
    const jobs = await h.jobCount();

    await fake.blockAction({ user: OTHER, actionId: 'fluxbot_reroll', channel: CHANNEL, messageTs: message.ts, value: '{"prompt":"free images"}' });
    await told(h, OTHER, 'This button is not one of mine, so it does nothing.');
    await fake.blockAction({ user: OTHER, actionId: 'fluxbot_vary', channel: CHANNEL, messageTs: message.ts, value: `${image.ts}|j${'0'.repeat(32)}` });
    await told(h, OTHER, /^This image is no longer available/);
    await fake.blockAction({ user: OTHER, actionId: 'fluxbot_cancel', channel: CHANNEL, messageTs: message.ts, value: '../../etc' });
    expect(toldTo(h, OTHER).filter((t) => t === 'This button is not one of mine, so it does nothing.')).toHaveLength(1);
    await fake.until(() => toldTo(h!, OTHER).filter((t) => t.includes('not one of mine')).length === 2);
    await fake.blockAction({ user: OTHER, actionId: 'fluxbot_delete', channel: CHANNEL, messageTs: message.ts, teamId: 'T0ELSEWHERE' });
    await told(h, OTHER, 'This image belongs to another workspace, so nothing was done and nothing was charged.');
    expect(fake.message(CHANNEL, image.ts)).toBeDefined();
    expect(await h.jobCount()).toBe(jobs);
    expect(await h.usedToday(OTHER)).toBe(0);

    const first = await click(h, OTHER, 'fluxbot_reroll', message);
    await h.delivered(2);
    const replay = await fake.interactive(first.payload);
    await told(h, OTHER, 'This request is already being worked on.');

    expect(replay.ok).toBe(true);
    expect(h.images()).toHaveLength(2);
    expect(await h.jobCount()).toBe(jobs + 1);
    expect(await h.usedToday(OTHER)).toBe(1);
  });
});
