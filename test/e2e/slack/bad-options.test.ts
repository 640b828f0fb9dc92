import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackText, CHANNEL, MEMBER, MODES, SlackHarness } from './harness.js';

/** Typed text → a piece of the specific ephemeral error it must get. */
const BAD: Array<[string, string]> = [
  ['a cat colour:red', 'Unknown option `colour`. Valid options: `model`, `aspect_ratio`'],
  ['a cat aspect_ratio:7:3', '`aspect_ratio` must be one of custom, 1:1, 16:9'],
  ['a cat seed:-1', '`seed` must be a whole number from 0 to 2147483647'],
  ['a cat steps:many', '`steps` must be a whole number from 1 to 50'],
  ['a cat steps:3.5', '`steps` must be a whole number'],
  ['a cat guidance:11', '`guidance` must be a number from 0 to 10'],
  ['a cat prompt_upsampling:maybe', '`prompt_upsampling` must be true or false'],
  ['a cat model:flux-9', '`model` must be one of flux-2-pro, flux-2-max'],
  ['a cat output_format:gif', '`output_format` must be one of'],
  ['a cat output_quality:101', '`output_quality` must be a whole number from 0 to 100'],
  ['a cat seed:1 seed:2', '`seed` is given twice'],
  ['a cat "in a hat', 'A quote is not closed'],
  ['aspect_ratio:16:9 seed:3', '`prompt` must not be empty'],
  ['a cat model:flux-1.1-pro steps:30', '`steps` is not supported by flux-1.1-pro'],
  ['a cat model:flux-schnell steps:10', '`steps` must be between 1 and 4 for flux-schnell'],
  ['a cat width:512', 'A custom size needs both width and height'],
  ['a cat model:flux-dev image_prompt:https://example.com/a.png', '`image_prompt` is not supported by flux-dev'],
  ['a cat model:flux-dev image_prompt:F0SLACKFILE1', 'An image prompt is not supported by flux-dev'],
  ['a cat image_prompt:not-a-link', '`image_prompt` must be an https link to an image, or a Slack file id'],
];

describe.each(MODES)('/flux refuses bad options in the ack, with nothing enqueued (%s mode)', (mode) => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await SlackHarness.start(mode, { worker: false });
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each(BAD)('%s', async (text, expected) => {
    const answer = await h.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
    expect(answer.ok).toBe(true);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(ackText(answer)).toContain(expected);
  });

  it('enqueued nothing, charged nothing and posted nothing for any of them', async () => {
    expect(await h.jobCount()).toBe(0);
    expect(await h.usedToday(MEMBER)).toBe(0);
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
    expect(h.fake.callsTo('files.info')).toEqual([]);
  });
});
