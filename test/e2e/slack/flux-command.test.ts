import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { ReplicateProvider } from '../../../src/core/providers/replicate/index.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { ackText, CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
let replicate: ReplicateFake | undefined;
afterEach(async () => {
  await h?.stop();
  await replicate?.close();
  h = undefined;
  replicate = undefined;
});

describe.each(MODES)('/flux with typed options (%s mode)', (mode) => {
  it('posts a status message, then the image in its thread with prompt, model, seed, size, time and the 🔄 reaction', async () => {
    replicate = await ReplicateFake.start({ latencyMs: 20 });
    h = await SlackHarness.start(mode, { providers: [new ReplicateProvider({ baseUrl: replicate.baseUrl, token: replicate.token, pollIntervalMs: 20, allowPrivateDownloads: true })] });
    const { fake } = h;

    const answer = await fake.slashCommand({
      user: MEMBER,
      channel: CHANNEL,
      text: 'a lighthouse "at dawn, in fog" aspect_ratio:16:9 seed:42 model:flux-1.1-pro output_format:png',
    });

    expect(answer.ok).toBe(true);
    expect(ackText(answer)).toBeUndefined();
    const [image] = await h.delivered(1);
    const status = fake.messagesIn(CHANNEL).find((m) => m.thread_ts === undefined && m.files === undefined);
    expect(status?.text).toContain(`<@${MEMBER}>`);
    expect(image?.thread_ts).toBe(status?.ts);
    expect(image?.text).toContain('*a lighthouse at dawn, in fog*');
    expect(image?.text).toMatch(/FLUX1\.1 \[pro\] · seed 42 · 1344×768 · \d+\.\d s · \$\d+\.\d{2,4} · requested by <@U0MEMBER>/);
    expect(image?.files?.[0]?.name).toMatch(/^flux-42-j[0-9a-f]{32}\.png$/); // the seed, and the job id (found again by a re-run)
    const bytes = fake.fileBytes(image?.files?.[0]?.id ?? '');
    expect((await sharp(bytes).metadata()).format).toBe('png');

    // The status message ends as "done", the image is recorded for rerolls under its ts, the quota is charged once.
    await fake.until(() => fake.message(CHANNEL, status?.ts ?? '')?.text.includes('Done'));
    const record = await h.core.records.find('slack', image?.ts ?? '');
    expect(record?.request).toMatchObject({ prompt: 'a lighthouse at dawn, in fog', model: 'flux-1.1-pro', aspect_ratio: '16:9', seed: 42 });
    expect(record?.threadId).toBe(status?.ts);
    expect(replicate.created).toBe(1);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(1);
  });

  it('charges a redelivered command (same trigger_id) once and tells the person it is already in progress', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    const text = 'a red fox seed:7';

    const first = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text, triggerId: 'trigger-same' });
    const second = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text, triggerId: 'trigger-same' });

    expect([first.ok, second.ok]).toEqual([true, true]);
    await h.delivered(1);
    await fake.until(() => fake.responsesTo(second.responseUrl)[0], 10_000, 'the answer to the redelivery');
    expect(h.ephemeralTexts(second.responseUrl)).toEqual(['This request is already being worked on.']);
    // The redelivery was never admitted, so it posted nothing: one status message (besides the image's buttons) and one image.
    expect(fake.callsTo('chat.postMessage').filter((c) => c.args.blocks === undefined)).toHaveLength(1);
    expect(fake.workspace.deleted).toHaveLength(0);
    expect(h.images()).toHaveLength(1);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('keeps the status message current from the progress feed: generating while the provider works, then done', async () => {
    h = await SlackHarness.start(mode, { providers: [new PreviewProvider({ latencyMs: 1000 })] });
    const { fake } = h;
    expect(h.adapter.isReady()).toBe(true);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a slow snail' });
    const status = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.text.includes('Generating')), 10_000, 'a generating status');
    await h.delivered(1);
    await fake.until(() => fake.message(CHANNEL, status.ts)?.text.includes('Done'), 10_000, 'the done status');

    const texts = fake.callsTo('chat.update').filter((c) => c.args.ts === status.ts).map((c) => String(c.args.text));
    expect(texts.at(-1)).toContain('Done');
    expect(texts.findIndex((t) => t.includes('Generating'))).toBeLessThan(texts.findIndex((t) => t.includes('Done')));
  });
});
