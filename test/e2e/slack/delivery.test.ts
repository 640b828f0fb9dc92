import { afterEach, describe, expect, it } from 'vitest';
import { ContentModerated } from '../../../src/core/errors.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { makeImage } from '../../fakes/fake-server.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

/** Resolves once `count` jobs completed (their last step, afterRecorded, included). */
async function jobsEnded(harness: SlackHarness, count: number): Promise<void> {
  await expect.poll(async () => (await harness.core.queue.getJobCounts('completed')).completed, { timeout: 10_000 }).toBe(count);
}

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each(MODES)('delivery through the Web API (%s mode)', (mode) => {
  it('polls files.info for the message ts when the upload answer has no shares yet, and records that ts', async () => {
    h = await SlackHarness.start(mode);
    const { fake } = h;
    fake.setMissingShares({ afterInfoCalls: 2 });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill seed:3' });
    const [image] = await h.delivered(1);

    const complete = fake.callsTo('files.completeUploadExternal')[0];
    expect((complete?.response.files as Array<{ shares: unknown }>)[0]?.shares).toEqual({});
    expect(fake.callsTo('files.info')).toHaveLength(3);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ seed: 3, channelId: CHANNEL });
  });
});

describe('delivery edge cases', () => {
  it('gives up polling after a bounded number of files.info calls: the image stays posted once, without the 🔄', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    fake.setMissingShares({ afterInfoCalls: Infinity });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill' });
    const status = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.text.includes('Done')), 10_000, 'the status marked done');
    // The status is marked done as soon as the image is posted; the look for its message ts comes after.
    await jobsEnded(h, 1);

    expect(fake.callsTo('files.info')).toHaveLength(5);
    expect(h.images()).toHaveLength(1);
    expect(h.images()[0]?.thread_ts).toBe(status.ts);
    expect(fake.workspace.reactions).toEqual([]);
  });

  it('a delivery that fails after its upload is retried without posting the image a second time', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    // Slack posts the image but its answer to the upload's completion is lost: the attempt fails after the image is posted.
    fake.failNext('files.completeUploadExternal', 'internal_error', { status: 500, processed: true });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill seed:5' });
    const [image] = await h.delivered(1);

    // The retry found the first upload (files.list, the bot's own files) instead of uploading again.
    expect(fake.callsTo('files.completeUploadExternal').map((c) => c.status)).toEqual([500]);
    expect(fake.callsTo('files.list')).toHaveLength(1);
    expect(h.images()).toHaveLength(1);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ seed: 5, channelId: CHANNEL });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('when that lookup itself fails (e.g. a missing scope), the retry posts the image rather than losing it', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    fake.failNext('files.completeUploadExternal', 'internal_error', { status: 500, processed: true });
    fake.failNext('files.list', 'missing_scope');

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill seed:6' });
    const [image] = await h.delivered(1);

    expect(fake.callsTo('files.list')[0]?.response).toMatchObject({ ok: false, error: 'missing_scope' });
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(2);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ seed: 6 });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it.each([
    { error: 'internal_error', status: 500 },
    { error: 'missing_scope', status: 200 },
  ])('an upload whose message files.info cannot find ($error, HTTP $status) is posted once, and the job completes without a refund', async ({ error, status }) => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    fake.setMissingShares({ afterInfoCalls: 2 });
    fake.failNext('files.info', error, { status, times: 20 });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill seed:8' });
    const done = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.thread_ts === undefined && m.text.includes('Done')), 10_000, 'the status marked done');
    await jobsEnded(h, 1);

    expect(fake.callsTo('files.info').map((c) => c.response)).toEqual([{ ok: false, error }]);
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
    // Delivered on the first attempt: no redelivery lookup, so no retry.
    expect(fake.callsTo('files.list')).toEqual([]);
    expect(h.images()).toHaveLength(1);
    expect(fake.messagesIn(CHANNEL, done.ts).filter((m) => m.text.includes('no image this time'))).toEqual([]);
    await expect.poll(async () => (await h!.core.queue.getJobCounts('completed', 'failed'))).toEqual({ completed: 1, failed: 0 });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it.each([
    { error: 'missing_scope', status: 200 },
    { error: 'internal_error', status: 500 },
  ])('a 🔄 that cannot be added ($error, HTTP $status) still lets the worker mark the status message done', async ({ error, status }) => {
    h = await SlackHarness.start('http', { worker: false });
    const { fake } = h;
    fake.failNext('reactions.add', error, { status });
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill seed:9' });
    await expect.poll(() => h!.jobCount()).toBe(1);
    // The bot process that took the command goes away (a restart), so only the worker's own edit can mark it done.
    await h.adapter.stop();
    await h.core.createWorker({ providers: [new PreviewProvider()], deliveries: { slack: h.adapter.delivery } }).start();

    const done = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.thread_ts === undefined && m.text.includes('Done')), 10_000, 'the status marked done');
    await jobsEnded(h, 1);

    expect(fake.callsTo('reactions.add').map((c) => c.response)).toEqual([{ ok: false, error }]);
    expect(h.images(done.ts)).toHaveLength(1);
    expect(fake.workspace.reactions).toEqual([]);
    expect(await h.core.records.find('slack', h.images()[0]?.ts ?? '')).toMatchObject({ seed: 9, channelId: CHANNEL });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('waits out a rate-limited Web API call (429 with Retry-After) and carries on', async () => {
    h = await SlackHarness.start('http', { adapter: { retryConfig: { retries: 1, factor: 1, minTimeout: 0, maxTimeout: 0 } } });
    const { fake } = h;
    fake.rateLimitNext('chat.postMessage', 1);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a windmill' });
    await h.delivered(1);

    const [limited, retried] = fake.callsTo('chat.postMessage');
    expect([limited?.status, retried?.status]).toEqual([429, 200]);
    // Retry-After said one second: the WebClient did not come back sooner.
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('explains a failed generation in the thread, marks the status failed and refunds the quota', async () => {
    h = await SlackHarness.start('http', { providers: [new ScriptedProvider('replicate', [new ContentModerated('replicate')])] });
    const { fake } = h;

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'something refused' });
    const status = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.thread_ts === undefined && m.text.includes('No image')), 10_000, 'failed status');

    const [reason] = fake.messagesIn(CHANNEL, status.ts);
    expect(reason?.text).toBe(`<@${MEMBER}> no image this time: ${new ContentModerated('replicate').userMessage}`);
    expect(h.images()).toEqual([]);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(0);
  });

  it('takes a Slack file named in the text as the image prompt, and refuses a file that is not an image', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const png = await makeImage(32, 32);
    const good = fake.addFile(png, { name: 'ref.png', user: MEMBER });
    const bad = fake.addFile(Buffer.from('%PDF-1.4'), { name: 'doc.pdf', mimetype: 'application/pdf', user: MEMBER });

    const refused = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${bad.id}` });
    const answer = await fake.until(() => fake.responsesTo(refused.responseUrl)[0], 10_000, 'the refusal');
    expect((answer.body as { text: string }).text).toBe('The image could not be used: the file is not a PNG, JPEG or WebP image.');
    expect(fake.callsTo('chat.postMessage')).toEqual([]);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${good.url_private}` });
    const [image] = await h.delivered(1);
    // The record holds a short reference to the stored bytes (see image-prompt-store.test.ts).
    const record = await h.core.records.find('slack', image?.ts ?? '');
    expect((await h.core.inputs.resolve(record!.request)).image_prompt).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('uses another person’s file only where it is shared: elsewhere it reads as not found, and nothing is charged', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    const png = await makeImage(32, 32);
    // Someone else's file, seen by the bot (e.g. in a private channel or a DM it is in) but not shared here.
    const hidden = fake.addFile(png, { name: 'private.png', user: 'U0SOMEONE' });
    const sharedHere = fake.addFile(png, { name: 'shared.png', user: 'U0SOMEONE', channels: [CHANNEL] });

    for (const text of [`a cat image_prompt:${hidden.id}`, `a cat image_prompt:${hidden.url_private}`]) {
      const refused = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
      const answer = await fake.until(() => fake.responsesTo(refused.responseUrl)[0], 10_000, 'the refusal');
      expect((answer.body as { text: string }).text).toBe('The image could not be used: the Slack file could not be found, or it is neither yours nor shared in this conversation.');
    }
    // Its bytes were never fetched, nothing was posted or charged.
    expect(fake.requests.filter((c) => c.path.startsWith('/files-pri/'))).toEqual([]);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
    expect(await h.usedToday(MEMBER)).toBe(0);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${sharedHere.id}` });
    const [image] = await h.delivered(1);
    const record = await h.core.records.find('slack', image?.ts ?? '');
    expect((await h.core.inputs.resolve(record!.request)).image_prompt).toBe(`data:image/png;base64,${png.toString('base64')}`);
  });

  it('keeps working after a command that fails (the bot is not in the channel)', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    fake.failNext('chat.postMessage', 'not_in_channel');

    const first = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a cat' });
    const answer = await fake.until(() => fake.responsesTo(first.responseUrl)[0], 10_000, 'the explanation');
    expect((answer.body as { text: string }).text).toContain('Invite me');
    expect(await h.jobCount()).toBe(0);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a cat' });
    await h.delivered(1);
  });
});
