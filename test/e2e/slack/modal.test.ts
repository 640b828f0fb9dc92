import { afterEach, describe, expect, it } from 'vitest';
import { FLUX_OPTIONS } from '../../../src/commands/flux.js';
import { MODEL_IDS } from '../../../src/core/models.js';
import { makeImage } from '../../fakes/fake-server.js';
import { CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

type Block = { type: string; block_id?: string; optional?: boolean; element: Record<string, unknown> };

describe.each(MODES)('the /flux modal (%s mode)', (mode) => {
  it('opens from `/flux` alone and `/flux help` with one field per option, generated from FLUX_OPTIONS', async () => {
    h = await SlackHarness.start(mode, { worker: false });
    const { fake } = h;

    const command = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: '' });
    const opened = await fake.waitForCall('views.open');
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'help' });
    await fake.until(() => fake.callsTo('views.open').length === 2);

    expect(command.ok).toBe(true);
    expect(opened.args.trigger_id).toBe(command.triggerId);
    expect(fake.callsTo('views.open').map((c) => c.response.ok)).toEqual([true, true]);
    const blocks = (opened.args.view as { blocks: Block[] }).blocks;
    const byName = new Map(blocks.map((b) => [b.element.action_id as string, b]));
    // Discord's numbered image slots are one file input here, followed by the image links.
    const expected = FLUX_OPTIONS.filter((o) => !/^image_\d$/.test(o.name)).flatMap((o) => (o.name === 'image' ? ['image', 'image_links'] : [o.name]));
    expect([...byName.keys()]).toEqual(expected);
    expect(byName.get('prompt')).toMatchObject({ optional: false, element: { type: 'plain_text_input', multiline: true } });
    const model = byName.get('model')?.element as { type: string; options: Array<{ value: string }> };
    expect(model.type).toBe('static_select');
    expect(model.options.map((o) => o.value)).toEqual([...MODEL_IDS]);
    expect(byName.get('steps')?.element).toMatchObject({ type: 'number_input', is_decimal_allowed: false, min_value: '1', max_value: '50' });
    expect(byName.get('guidance')?.element).toMatchObject({ type: 'number_input', is_decimal_allowed: true });
    expect(byName.get('prompt_upsampling')?.element).toMatchObject({ type: 'checkboxes' });
    expect(byName.get('image_prompt')?.element).toMatchObject({ type: 'file_input', max_files: 1 });
    expect(byName.get('image')?.element).toMatchObject({ type: 'file_input', max_files: 10, filetypes: ['png', 'jpg', 'jpeg', 'webp', 'gif'] });
    expect(byName.get('image_prompt_url')?.element).toMatchObject({ type: 'url_text_input' });
    expect(await h.jobCount()).toBe(0);
  });

  it('answers invalid submissions with errors under the field and submits nothing', async () => {
    h = await SlackHarness.start(mode, { worker: false });
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    await fake.waitForCall('views.open');
    const notAnImage = fake.addFile(Buffer.from('just text'), { name: 'notes.txt', user: MEMBER });

    const noPair = await fake.viewSubmission({ inputs: { prompt: 'a cat', width: '512' } });
    const wrongModel = await fake.viewSubmission({ inputs: { prompt: 'a cat', model: 'flux-1.1-pro', steps: '30' } });
    const textFile = await fake.viewSubmission({ inputs: { prompt: 'a cat', image_prompt: [notAnImage.id] } });

    expect(noPair.body).toEqual({ response_action: 'errors', errors: { height: 'A custom size needs both width and height.' } });
    expect(wrongModel.body).toEqual({ response_action: 'errors', errors: { steps: '`steps` is not supported by flux-1.1-pro.' } });
    expect(textFile.body).toEqual({ response_action: 'errors', errors: { image_prompt: 'notes.txt is not a PNG, JPEG or WebP image' } });
    expect(await h.jobCount()).toBe(0);
    expect(await h.usedToday(MEMBER)).toBe(0);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('submits a valid form: the uploaded image prompt is fetched with the bot token and stored, the request holding its reference', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    await fake.waitForCall('views.open');
    const reference = await makeImage(64, 48);
    const file = fake.addFile(reference, { name: 'reference.png', user: MEMBER });

    const done = await fake.viewSubmission({
      inputs: { prompt: 'a cat in a hat', aspect_ratio: '3:2', seed: '9', prompt_upsampling: ['true'], image_prompt: [file.id] },
    });

    expect(done.ok).toBe(true);
    // A plain ack closes the modal: an empty HTTP body, or an empty socket ack payload.
    expect([{}, '', undefined]).toContainEqual(done.body);
    const [image] = await h.delivered(1);
    expect(image?.text).toMatch(/seed 9 · 1216×832/);
    const record = await h.core.records.find('slack', image?.ts ?? '');
    expect(record?.request).toMatchObject({ prompt: 'a cat in a hat', aspect_ratio: '3:2', seed: 9, prompt_upsampling: true });
    // The provider gets it as a data: URI; the record holds only the reference (see image-prompt-store.test.ts).
    expect((await h.core.inputs.resolve(record!.request)).image_prompt).toBe(`data:image/png;base64,${reference.toString('base64')}`);
    const download = fake.http.calls.find((c) => c.path.startsWith('/files-pri/'));
    expect(download?.headers.authorization).toBe(`Bearer ${fake.config.botToken}`);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });
});
