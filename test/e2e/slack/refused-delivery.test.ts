import { afterEach, describe, expect, it } from 'vitest';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Submits `/flux` while no worker runs, then lets `refuse` change the workspace, then starts the worker. */
async function submitThenRefuse(harness: SlackHarness, text: string, refuse: () => void): Promise<void> {
  await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
  await expect.poll(() => harness.jobCount()).toBe(1);
  refuse();
  await harness.core.createWorker({ providers: [new PreviewProvider()], deliveries: { slack: harness.adapter.delivery } }).start();
}

async function jobsCompleted(harness: SlackHarness, count: number): Promise<void> {
  await expect.poll(async () => (await harness.core.queue.getJobCounts('completed')).completed, { timeout: 10_000 }).toBe(count);
}

/** Image messages the bot posted in `channel`. */
const imagesIn = (harness: SlackHarness, channel: string) => harness.fake.messagesIn(channel).filter((m) => (m.files?.length ?? 0) > 0);

describe.each(MODES)('a channel that refuses the image for good (%s mode)', (mode) => {
  it('an archived channel: the image goes to the person’s DM, is charged (used 1, in flight 0) and is never retried or refunded', async () => {
    h = await SlackHarness.start(mode, { worker: false });
    const { fake } = h;
    await submitThenRefuse(h, 'a lighthouse seed:7', () => fake.refuseChannel(CHANNEL, 'is_archived'));

    const dm = fake.dmChannel(MEMBER);
    const [image] = await fake.until(() => (imagesIn(h!, dm).length > 0 ? imagesIn(h!, dm) : undefined), 15_000, 'the image in the DM');
    await jobsCompleted(h, 1);

    expect(image?.text).toContain('seed 7');
    expect(image?.text).toContain(`<#${CHANNEL}> is archived`);
    expect(imagesIn(h, CHANNEL)).toEqual([]);
    // Refused once, never asked again; the DM was opened with the person who asked.
    expect(fake.callsTo('files.completeUploadExternal').map((c) => [c.args.channel_id, c.response.error])).toEqual([
      [CHANNEL, 'is_archived'],
      [dm, undefined],
    ]);
    expect(fake.callsTo('conversations.open').map((c) => c.args.users)).toEqual([MEMBER]);
    expect(await h.core.records.find('slack', image?.ts ?? '')).toMatchObject({ via: 'private', channelId: dm, seed: 7 });
    // Rerollable where it is: the 🔄 is on the DM image.
    expect(fake.workspace.reactions).toEqual([{ channel: dm, ts: image?.ts, name: 'arrows_counterclockwise', user: fake.config.botUserId }]);
    expect(await h.usedToday(MEMBER)).toBe(1);
    expect(await h.inFlight(MEMBER)).toBe(0);
    expect(fake.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes('no image this time'))).toEqual([]);
  });
});

describe('refused deliveries', () => {
  it.each(['not_in_channel', 'channel_not_found'])('%s: the image goes to the DM, saying why', async (reason) => {
    h = await SlackHarness.start('http', { worker: false });
    const { fake } = h;
    await submitThenRefuse(h, 'a lighthouse', () => fake.refuseChannel(CHANNEL, reason));

    const dm = fake.dmChannel(MEMBER);
    const [image] = await fake.until(() => (imagesIn(h!, dm).length > 0 ? imagesIn(h!, dm) : undefined), 15_000, 'the image in the DM');
    await jobsCompleted(h, 1);
    expect(image?.text).toContain(reason === 'not_in_channel' ? `I am no longer a member of <#${CHANNEL}>` : 'the channel you asked in no longer exists');
    expect(fake.callsTo('files.completeUploadExternal').filter((c) => c.args.channel_id === CHANNEL)).toHaveLength(1);
    expect(await h.usedToday(MEMBER)).toBe(1);
  });

  it('no DM either: the image is kept and charged, /flux-quota names it, /flux-history hands it over once a DM works', async () => {
    // The second image takes a moment, so the channel can refuse it after its status message is posted.
    h = await SlackHarness.start('http', { providers: [new ScriptedProvider('replicate', ['ok', { hangMs: 1500 }])] });
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a harbour seed:1' });
    const [posted] = await h.delivered(1);
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a kept harbour seed:2' });
    await fake.until(() => fake.messagesIn(CHANNEL).filter((m) => m.thread_ts === undefined).length === 2, 10_000, 'the second status message');
    const dm = fake.dmChannel(MEMBER);
    fake.refuseChannel(CHANNEL, 'not_in_channel');
    fake.refuseChannel(dm, 'messages_tab_disabled');
    await jobsCompleted(h, 2);

    const jobs = await h.core.queue.getJobs(['completed']);
    const kept = jobs.find((j) => j.data.request.seed === 2);
    expect(kept?.returnvalue.messageId).toBe(`kept:${kept?.data.jobId}`);
    expect(await h.core.records.find('slack', `kept:${kept?.data.jobId}`)).toMatchObject({ via: 'kept', seed: 2 });
    expect(await h.usedToday(MEMBER)).toBe(2);
    expect(await h.inFlight(MEMBER)).toBe(0);
    // Each refusal was final: one try at the channel, one at the DM.
    expect(fake.callsTo('files.completeUploadExternal').map((c) => c.response.error)).toEqual([undefined, 'not_in_channel', 'messages_tab_disabled']);
    fake.refuseChannel(CHANNEL, false);

    expect(await h.privateAnswer(MEMBER, '/flux-quota')).toContain('1 image is kept for you (the channel refused it): use /flux-history to get it.');

    // While the DM still refuses, /flux-history says it could not hand the image over.
    const refused = await h.privateAnswer(MEMBER, '/flux-history');
    expect(refused).toContain('I could not send the kept images to you in a direct message');
    expect(imagesIn(h, dm)).toEqual([]);

    fake.refuseChannel(dm, false);
    const history = await h.privateAnswer(MEMBER, '/flux-history');
    expect(history).toContain('“a kept harbour” (flux-pro, seed 2');
    expect(history).toContain('the channel refused it, so it is kept for you until <!date^');
    expect(history).toContain('I sent the kept image to our direct messages');
    expect(history).toContain(`“a harbour” (flux-pro, seed 1`);
    expect(history).toContain(`posted in <#${CHANNEL}> (<https://slack.com/archives/${CHANNEL}/p${posted?.ts.replace('.', '')}?thread_ts=${posted?.thread_ts}&cid=${CHANNEL}|open>)`);
    const [handed] = imagesIn(h, dm);
    expect(handed?.files?.[0]?.name).toBe('flux-2.webp');
    expect(fake.fileBytes(handed?.files?.[0]?.id ?? '')).toEqual(await h.core.stash.get(kept?.data.jobId ?? ''));
    expect(await h.usedToday(MEMBER)).toBe(2);
  });
});
