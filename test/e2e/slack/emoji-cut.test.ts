import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL, MEMBER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A prompt of `length` code units with a two-unit emoji starting at each of `at` (so a cut at `at + 1` halves it). */
function promptWithEmoji(length: number, at: readonly number[]): string {
  let text = '';
  while (text.length < length) text += at.includes(text.length) ? '🎨' : String.fromCharCode(97 + (text.length % 26));
  return text;
}

const hasHalfEmoji = (text: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

describe('text shortened for Slack', () => {
  it('cuts on whole characters: an emoji across the 200 (status), 250 (title) and 1000 (alt text) limits is delivered, not refunded', async () => {
    h = await SlackHarness.start('http');
    const { fake } = h;
    // `.slice(0, 199)` (the status line's 200 with its ellipsis), `.slice(0, 250)` and `.slice(0, 1000)` each end in half an emoji.
    const prompt = promptWithEmoji(1200, [198, 249, 999]);
    for (const cut of [199, 250, 1000]) expect(hasHalfEmoji(prompt.slice(0, cut))).toBe(true);

    await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: prompt });
    const [image] = await h.delivered(1);

    const status = fake.message(CHANNEL, image?.thread_ts ?? '');
    expect(status?.text).toContain(`_${prompt.slice(0, 198)}…_`);
    const upload = fake.callsTo('files.getUploadURLExternal')[0];
    expect(upload?.args.alt_text).toBe(prompt.slice(0, 999));
    const complete = fake.callsTo('files.completeUploadExternal')[0];
    expect((complete?.args.files as Array<{ title: string }>)[0]?.title).toBe(prompt.slice(0, 249));
    for (const call of fake.calls) expect(hasHalfEmoji(JSON.stringify(call.args)), call.method).toBe(false);
    await expect.poll(async () => (await h!.core.queue.getJobCounts('completed', 'failed'))).toEqual({ completed: 1, failed: 0 });
    expect(await h.usedToday(MEMBER)).toBe(1);
  });
});
