import { afterEach, describe, expect, it } from 'vitest';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  // Hung requests end first, so the adapter and the worker can stop even if the code under test waits on them.
  h?.fake.releaseHung();
  await h?.stop();
  h = undefined;
});

describe.each(MODES)('the in-flight slot (%s mode)', (mode) => {
  it('is free once the image is visible, while Slack is still sharing the upload: the next /flux is admitted', async () => {
    // Slack shares uploads asynchronously: here the share shows on the third files.info, polled every 800 ms.
    h = await SlackHarness.start(mode, { quotas: { concurrentPerUser: 1 }, adapter: { sharePolling: { attempts: 5, delayMs: () => 800 } } });
    const { fake } = h;
    fake.setMissingShares({ afterInfoCalls: 2 });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a kite seed:1' });
    await fake.until(() => h!.images().length === 1, 10_000, 'the first image in the thread');
    // Released within moments of the image appearing, not after the ~2.4 s of looking for its message ts.
    await expect.poll(() => h!.inFlight(MEMBER), { timeout: 1_000, interval: 20 }).toBe(0);

    const second = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'another kite seed:2' });
    const [first, next] = await h.delivered(2);
    expect(h.ephemeralTexts(second.responseUrl).filter((t) => t.includes('in progress'))).toEqual([]);
    // The first image's message ts, found after the release, still leads a 🔄 to its record.
    expect(await h.core.records.find('slack', first?.ts ?? '')).toMatchObject({ seed: 1, messageId: first?.ts, threadId: first?.thread_ts });
    expect(await h.core.records.find('slack', next?.ts ?? '')).toMatchObject({ seed: 2 });
    expect(await h.usedToday(MEMBER)).toBe(2);
  });
});

describe('Web API timeouts', () => {
  it('a chat.update Slack never answers does not hold the worker’s only image slot: both images are delivered', async () => {
    h = await SlackHarness.start('http', { worker: false, adapter: { timeoutMs: 300 } });
    const { fake } = h;
    await h.core.createWorker({ providers: [new PreviewProvider()], deliveries: { slack: h.adapter.delivery }, imageConcurrency: 1 }).start();
    fake.hangNext('chat.update', { times: 1_000 });

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a kite seed:1' });
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a kite seed:2' });
    await h.delivered(2);

    await expect.poll(async () => (await h!.core.queue.getJobCounts('completed')).completed, { timeout: 10_000 }).toBe(2);
    expect(fake.callsTo('chat.update').length).toBeGreaterThanOrEqual(2);
    expect(fake.callsTo('chat.update').every((c) => c.status === 0)).toBe(true);
    expect(await h.inFlight(MEMBER)).toBe(0);
  });

  it('an upload whose bytes Slack never takes times out, and the retry posts the image once', async () => {
    h = await SlackHarness.start('http', { adapter: { timeoutMs: 300 } });
    const { fake } = h;
    fake.hangNext('upload');

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a kite seed:3' });
    const [image] = await h.delivered(1);

    expect(fake.requests.filter((r) => r.path.startsWith('/upload/v1/'))).toHaveLength(2);
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
    expect(h.images()).toHaveLength(1);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ seed: 3 });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });
});
