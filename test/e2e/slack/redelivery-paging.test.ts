import { afterEach, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { makeImage } from '../../fakes/fake-server.js';
import { CHANNEL, MEMBER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('a re-run looking for its earlier upload on a busy bot', () => {
  it('reads every page of files.list: 150 newer uploads push it to page 2, and the image is still posted once', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    // Slack posts the image but its answer is lost: the job runs its delivery again and looks for that upload.
    fake.failNext('files.completeUploadExternal', 'internal_error', { status: 500, processed: true });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a busy harbour seed:11' });
    await fake.waitForCall('files.completeUploadExternal');
    // Meanwhile the bot uploads 150 other images (other jobs): files.list answers newest first, 100 a page.
    const png = await makeImage(8, 8);
    for (let i = 0; i < 150; i++) fake.addFile(png, { name: `other-${i}.png`, user: fake.config.botUserId });
    const [image] = await h.delivered(1);

    expect(fake.callsTo('files.list').map((c) => [c.args.page, (c.response.files as unknown[]).length, c.response.paging])).toEqual([
      ['1', 100, { count: 100, total: 151, page: 1, pages: 2 }],
      ['2', 51, { count: 100, total: 151, page: 2, pages: 2 }],
    ]);
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
    expect(h.images()).toHaveLength(1);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ seed: 11, channelId: CHANNEL });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('fake files.list: newest first, paged, and capped at page 100 like Slack', async () => {
    h = await SlackHarness.start('http', { worker: false });
    const { fake } = h;
    const png = await makeImage(8, 8);
    for (let i = 0; i < 3; i++) fake.addFile(png, { name: `f-${i}.png`, user: MEMBER });
    const client = new webApi.WebClient(fake.config.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });

    const page2 = await client.files.list({ user: MEMBER, count: 2, page: 2 });
    expect(page2.files?.map((f) => f.name)).toEqual(['f-0.png']);
    expect(page2.paging).toEqual({ count: 2, total: 3, page: 2, pages: 2 });
    const tooFar = await client.files.list({ user: MEMBER, count: 2, page: 101 });
    expect(tooFar.files?.map((f) => f.name)).toEqual(['f-2.png', 'f-1.png']);
    expect((tooFar as { warning?: string }).warning).toBe('max_page_limit');
  });
});
