import { afterEach, describe, expect, it } from 'vitest';
import { isInputReference } from '../../../src/core/images/input-store.js';
import { makeImage } from '../../fakes/fake-server.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { ADMIN, CHANNEL, MEMBER, OTHER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const EXPIRED = 'The image prompt of this request has expired (images attached from Slack are kept for 2 hours); attach it again.';

/** The Redis key of a stored image prompt, from its reference. */
const keyOf = (harness: SlackHarness, reference: string) => harness.core.inputs.key(reference.slice('fluxbot-input:'.length));

describe('Slack image prompts are stored once, by reference', () => {
  it('the job and its record hold a short reference; the provider still gets the image; a reroll copies the reference', async () => {
    const provider = new ScriptedProvider('replicate');
    h = await SlackHarness.start('http', { providers: [provider], core: { inputImageTtlSeconds: 7200 } });
    const { fake } = h;
    const png = await makeImage(256, 256);
    const file = fake.addFile(png, { name: 'ref.png', user: MEMBER });
    const dataUri = `data:image/png;base64,${png.toString('base64')}`;

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${file.id}` });
    const [image] = await h.delivered(1);

    const record = await h.core.records.find('slack', image?.ts ?? '');
    const reference = record?.request.image_prompt ?? '';
    expect(isInputReference(reference)).toBe(true);
    expect(reference).toMatch(/^fluxbot-input:[0-9a-f]{64}$/);
    const [job] = await h.core.queue.getJobs(['completed']);
    expect(job?.data.request.image_prompt).toBe(reference);
    // The bytes are not copied into the job or the record (the image prompt alone is larger than both).
    expect(JSON.stringify(job?.data).length).toBeLessThan(png.length);
    expect((await h.core.redis.get(h.core.records.entry(record!).key))?.length).toBeLessThan(png.length);
    expect(provider.calls[0]?.request.image_prompt).toBe(dataUri);
    // Stored once, with its own short expiry.
    const ttl = await h.core.redis.ttl(keyOf(h, reference));
    expect(ttl).toBeGreaterThan(7000);
    expect(ttl).toBeLessThanOrEqual(7200);

    await fake.reactionAdded({ user: OTHER, reaction: 'repeat', channel: CHANNEL, ts: image?.ts ?? '' });
    const reroll = (await h.delivered(2))[1];
    expect((await h.core.records.find('slack', reroll?.ts ?? ''))?.request.image_prompt).toBe(reference);
    expect(provider.calls[1]?.request.image_prompt).toBe(dataUri);
  });

  it('a reroll whose image prompt expired is refused at once, privately: nothing charged, nothing posted', async () => {
    h = await SlackHarness.start('http', { core: { inputImageTtlSeconds: 7200 } });
    const { fake } = h;
    const file = fake.addFile(await makeImage(32, 32), { name: 'ref.png', user: MEMBER });
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${file.id}` });
    const [image] = await h.delivered(1);
    const reference = (await h.core.records.find('slack', image?.ts ?? ''))?.request.image_prompt ?? '';
    await h.core.redis.del(keyOf(h, reference));
    const posts = fake.callsTo('chat.postMessage').length;

    await fake.reactionAdded({ user: ADMIN, reaction: 'repeat', channel: CHANNEL, ts: image?.ts ?? '' });
    const told = await fake.until(() => fake.workspace.ephemerals.find((e) => e.user === ADMIN), 10_000, 'the private answer');

    expect(told).toMatchObject({ channel: CHANNEL, thread_ts: image?.thread_ts, text: EXPIRED });
    expect(fake.callsTo('chat.postMessage')).toHaveLength(posts);
    expect(await h.usedToday(ADMIN)).toBe(0);
    expect(await h.jobCount()).toBe(1);
  });

  it('an image prompt that expires before the job runs: the person is told in the thread, and nothing is charged', async () => {
    h = await SlackHarness.start('http', { worker: false, core: { inputImageTtlSeconds: 7200 } });
    const { fake } = h;
    const file = fake.addFile(await makeImage(32, 32), { name: 'ref.png', user: MEMBER });
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt:${file.id}` });
    await expect.poll(() => h!.jobCount()).toBe(1);
    const [job] = await h.core.queue.getJobs(['waiting', 'prioritized']);
    await h.core.redis.del(keyOf(h, job?.data.request.image_prompt ?? ''));
    const provider = new ScriptedProvider('replicate');
    await h.core.createWorker({ providers: [provider], deliveries: { slack: h.adapter.delivery } }).start();

    const status = await fake.until(() => fake.messagesIn(CHANNEL).find((m) => m.thread_ts === undefined && m.text.includes('No image')), 10_000, 'the failed status');
    expect(fake.messagesIn(CHANNEL, status.ts).map((m) => m.text)).toEqual([`<@${MEMBER}> no image this time: ${EXPIRED}`]);
    expect(provider.calls).toEqual([]);
    await expect.poll(() => h!.usedToday(MEMBER)).toBe(0);
  });
});
