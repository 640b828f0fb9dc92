import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import type { FakeMessage } from '../../fakes/slack/index.js';
import { CHANNEL, MEMBER, MODES, OTHER, SlackHarness } from './harness.js';

/**
 * Galleries on Slack, end to end with the real Bolt against the fake Slack and a real worker: `count:` makes one
 * upload of k files in the thread, with Reroll (the set), Delete, and V1…Vk / E1…Ek naming one image each.
 */

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

type Button = { type: string; action_id: string; value: string; text: { text: string } };
type Block = { type: string; block_id?: string; elements?: Button[] };

const labels = (message: { blocks?: unknown }) => ((message.blocks as Block[] | undefined) ?? []).map((b) => (b.elements ?? []).map((e) => e.text.text.replace(/^:[a-z0-9_]+: /, '')));
const buttons = (message: { blocks?: unknown }) => ((message.blocks as Block[] | undefined) ?? []).flatMap((b) => b.elements ?? []);
const toldTo = (harness: SlackHarness, user: string) => harness.fake.workspace.ephemerals.filter((e) => e.user === user).map((e) => e.text);

async function told(harness: SlackHarness, user: string, text: string | RegExp): Promise<void> {
  await harness.fake.until(() => toldTo(harness, user).some((t) => (typeof text === 'string' ? t === text : text.test(t))), 10_000, `"${String(text)}" told to ${user}`);
}

/** The message in the image's thread carrying its buttons. */
function buttonsOf(harness: SlackHarness, image: FakeMessage): FakeMessage {
  const found = harness.fake
    .messagesIn(CHANNEL, image.thread_ts)
    .find((m) => (m.blocks as Block[] | undefined)?.some((b) => b.elements?.some((e) => e.value?.startsWith(`${image.ts}|`))));
  if (!found) throw new Error(`no buttons for the image ${image.ts}`);
  return found;
}

/** Runs `/flux <text>` as MEMBER; resolves with the gallery message (its files) and the message of its buttons. */
async function gallery(harness: SlackHarness, text: string) {
  await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
  const [image] = await harness.delivered(1);
  if (!image?.thread_ts) throw new Error('no image in a thread');
  return { image, buttons: buttonsOf(harness, image), bytes: image.files!.map((f) => harness.fake.fileBytes(f.id)!) };
}

/** The provider input image of the job whose prompt is `prompt` and that has input images, as bytes. */
function inputBytes(provider: ScriptedProvider, prompt: string): Buffer | undefined {
  const image = provider.calls.find((c) => c.request.prompt === prompt && c.request.images?.length)?.request.images?.[0];
  const match = /^data:image\/[a-z]+;base64,(.+)$/.exec(image ?? '');
  return match ? Buffer.from(match[1]!, 'base64') : undefined;
}

const clickOn = (harness: SlackHarness, user: string, actionId: string, on: FakeMessage, value?: string) =>
  harness.fake.blockAction({ user, actionId, channel: on.channel, messageTs: on.ts, ...(value === undefined ? {} : { value }) });

describe.each(MODES)('a gallery on Slack (%s mode)', (mode) => {
  it('count:4 → one upload of 4 files in the thread, quota 4; V2 from a second member varies file 2; E3 edits file 3', async () => {
    const provider = new ScriptedProvider('preview');
    h = await SlackHarness.start(mode, { providers: [provider] });
    const { fake } = h;
    const { image, buttons: message, bytes } = await gallery(h, 'a paper fox seed:40 count:4');
    const record = await h.core.records.find('slack', image.ts);

    // One completion naming four files, one message carrying them, one comment; four images charged.
    const completions = fake.callsTo('files.completeUploadExternal');
    expect(completions).toHaveLength(1);
    expect(completions[0]!.args.files).toHaveLength(4);
    expect(completions[0]!.args.thread_ts).toBe(image.thread_ts);
    expect(h.images()).toHaveLength(1);
    expect(image.files).toHaveLength(4);
    expect(new Set(bytes.map((b) => b.toString('base64'))).size).toBe(4);
    expect(image.text).toContain('4 of 4 images');
    expect(image.text).toContain('seeds 40, 41, 42, 43');
    expect(record).toMatchObject({ images: 4, request: { count: 4 } });
    expect(await h.usedToday(MEMBER)).toBe(4);

    // Reroll and Delete for the set, V1…V4 and E1…E4 naming the job and the image.
    expect(labels(message)).toEqual([['Reroll', 'Delete'], ['V1', 'V2', 'V3', 'V4'], ['E1', 'E2', 'E3', 'E4']]);
    expect(buttons(message).find((b) => b.text.text === 'V2')).toMatchObject({ action_id: 'fluxbot_vary_2', value: `${image.ts}|${record?.jobId}|2` });
    expect(message.thread_ts).toBe(image.thread_ts);

    await clickOn(h, OTHER, 'fluxbot_vary_2', message);
    const [, varied] = await h.delivered(2);
    expect(varied?.thread_ts).toBe(image.thread_ts);
    expect(varied?.files).toHaveLength(1);
    expect(await h.core.records.find('slack', varied?.ts ?? '')).toMatchObject({ requester: { userId: OTHER }, request: { prompt: 'a paper fox' } });
    expect(inputBytes(provider, 'a paper fox')?.equals(bytes[1]!)).toBe(true);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(1);
    expect(await h.usedToday(MEMBER)).toBe(4);

    await clickOn(h, OTHER, 'fluxbot_edit_3', message);
    const opened = await fake.waitForCall('views.open');
    expect(opened.response.ok).toBe(true);
    const view = opened.args.view as { title: { text: string }; private_metadata: string };
    expect(view.title.text).toBe('Edit image 3 with FLUX');
    expect(JSON.parse(view.private_metadata)).toMatchObject({ kind: 'image', n: 3 });
    const submitted = await fake.viewSubmission({ user: OTHER, inputs: { prompt: 'make it snow', model: 'flux-2-pro' } });
    expect(submitted.ok).toBe(true);
    const [, , edited] = await h.delivered(3);
    expect(edited?.thread_ts).toBe(image.thread_ts);
    expect(await h.core.records.find('slack', edited?.ts ?? '')).toMatchObject({ requester: { userId: OTHER }, request: { prompt: 'make it snow', model: 'flux-2-pro' } });
    expect(inputBytes(provider, 'make it snow')?.equals(bytes[2]!)).toBe(true);
    await expect.poll(() => h!.usedToday(OTHER)).toBe(2);
  });

  it('count:5 is refused privately and clearly; nothing is queued or charged', async () => {
    h = await SlackHarness.start(mode);
    const answer = await h.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a paper fox count:5' });
    const body = answer.body as { text?: string; response_type?: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toBe('`5` is not valid for count. `count` must be a whole number from 1 to 4.');
    expect(await h.jobCount()).toBe(0);
    expect(await h.usedToday(MEMBER)).toBe(0);
    expect(h.fake.callsTo('files.completeUploadExternal')).toHaveLength(0);
  });
});

describe('gallery buttons, hostile or out of range', () => {
  it('a forged value and V4/E4 on a 3-image gallery are answered privately, nothing enqueued or charged', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { image, buttons: message } = await gallery(h, 'three owls count:3');
    const record = await h.core.records.find('slack', image.ts);
    expect(labels(message)).toEqual([['Reroll', 'Delete'], ['V1', 'V2', 'V3'], ['E1', 'E2', 'E3']]);
    const jobs = await h.jobCount();

    // V2's action with image 3's value; a value of another shape; then a well-formed V4 the message does not have.
    await clickOn(h, OTHER, 'fluxbot_vary_2', message, `${image.ts}|${record?.jobId}|3`);
    await told(h, OTHER, 'This button is not one of mine, so it does nothing.');
    await clickOn(h, OTHER, 'fluxbot_edit_2', message, `${image.ts}|${record?.jobId}|2|x`);
    await fake.until(() => toldTo(h!, OTHER).filter((t) => t.includes('not one of mine')).length === 2, 10_000, 'the second forged click answered');
    await clickOn(h, OTHER, 'fluxbot_vary_4', message, `${image.ts}|${record?.jobId}|4`);
    await told(h, OTHER, /^This message has no image left to work from/);
    await clickOn(h, OTHER, 'fluxbot_edit_4', message, `${image.ts}|${record?.jobId}|4`);
    await fake.until(() => toldTo(h!, OTHER).filter((t) => t.startsWith('This message has no image left')).length === 2, 10_000, 'E4 answered');

    expect(fake.callsTo('views.open')).toHaveLength(0);
    expect(await h.jobCount()).toBe(jobs);
    expect(await h.usedToday(OTHER)).toBe(0);
    expect(h.images()).toHaveLength(1);
  });
});

describe('gallery delivery and lifecycle', () => {
  it('the /flux modal takes a count (1 to begin with): 2 makes a gallery of 2', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: '' });
    const opened = await fake.waitForCall('views.open');
    const count = (opened.args.view as { blocks: Array<{ block_id: string; element: Record<string, unknown> }> }).blocks.find((b) => b.block_id === 'count');
    expect(count?.element).toMatchObject({ type: 'number_input', initial_value: '1', min_value: '1', max_value: '4' });

    await fake.viewSubmission({ user: MEMBER, inputs: { prompt: 'two herons', count: '2' } });
    const [image] = await h.delivered(1);
    expect(image?.files).toHaveLength(2);
    expect(labels(buttonsOf(h, image!))).toEqual([['Reroll', 'Delete'], ['V1', 'V2'], ['E1', 'E2']]);
    expect(await h.usedToday(MEMBER)).toBe(2);
  });

  it('a delivery that fails after its upload is retried without posting the gallery a second time', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    fake.failNext('files.completeUploadExternal', 'internal_error', { status: 500, processed: true });

    const { image } = await gallery(h, 'a windmill count:4');

    expect(fake.callsTo('files.completeUploadExternal').map((c) => c.status)).toEqual([500]);
    expect(h.images()).toHaveLength(1);
    expect(image.files).toHaveLength(4);
    expect(await h.core.records.find('slack', image.ts)).toMatchObject({ images: 4 });
    expect(await h.usedToday(MEMBER)).toBe(4);
  });

  it('Reroll makes a new set of the same size, charged to the clicker; Delete removes the message, its 4 files and its buttons', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const { image, buttons: message } = await gallery(h, 'a lantern count:4');

    await clickOn(h, OTHER, 'fluxbot_reroll', message);
    const [, second] = await h.delivered(2);
    expect(second?.files).toHaveLength(4);
    expect(await h.core.records.find('slack', second?.ts ?? '')).toMatchObject({ rerollOf: image.ts, images: 4, requester: { userId: OTHER } });
    await expect.poll(() => h!.usedToday(OTHER)).toBe(4);

    await clickOn(h, MEMBER, 'fluxbot_delete', message);
    await told(h, MEMBER, 'The image was deleted.');
    expect(fake.message(CHANNEL, image.ts)).toBeUndefined();
    expect(fake.message(CHANNEL, message.ts)).toBeUndefined();
    for (const file of image.files!) expect(fake.workspace.files.has(file.id)).toBe(false);
    expect(second!.files!.every((f) => fake.workspace.files.has(f.id))).toBe(true);
  });

  it('App Home: a gallery offers Reroll and E1…Ek; E2 there edits image 2', async () => {
    const provider = new ScriptedProvider('preview');
    h = await SlackHarness.start('http', { providers: [provider] });
    const { fake } = h;
    const { image, bytes } = await gallery(h, 'a harbour count:3');

    await fake.appHomeOpened(MEMBER);
    await fake.waitForCall('views.publish');
    const home = fake.workspace.homes.get(MEMBER)!;
    expect(JSON.stringify(home.blocks)).toContain('3 images');
    const record = await h.core.records.find('slack', image.ts);
    expect(buttons(home).map((b) => [b.action_id, b.value])).toEqual([
      ['fluxbot_reroll', `${image.ts}|${record?.jobId}`],
      ['fluxbot_edit_1', `${image.ts}|${record?.jobId}|1`],
      ['fluxbot_edit_2', `${image.ts}|${record?.jobId}|2`],
      ['fluxbot_edit_3', `${image.ts}|${record?.jobId}|3`],
    ]);

    await fake.blockAction({ user: MEMBER, actionId: 'fluxbot_edit_2', viewId: home.id });
    await fake.waitForCall('views.open');
    await fake.viewSubmission({ user: MEMBER, inputs: { prompt: 'add gulls', model: 'flux-2-pro' } });
    const [, edited] = await h.delivered(2);
    expect(edited?.thread_ts).toBe(image.thread_ts);
    expect(inputBytes(provider, 'add gulls')?.equals(bytes[1]!)).toBe(true);
  });
});
