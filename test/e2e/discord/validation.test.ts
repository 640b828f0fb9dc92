import { PermissionFlagsBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { makeImage } from '../../fakes/fake-server.js';
import { GUILD, Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

/** Nothing happened beyond the private answer: no job, no charge, no status message, no provider call. */
async function expectNothingQueued(harness: Harness): Promise<void> {
  expect(await harness.jobCount()).toBe(0);
  expect(await harness.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  expect(harness.fake.callsTo('createMessage')).toEqual([]);
  expect(harness.replicate!.created).toBe(0);
}

describe('invalid /flux requests on Discord', () => {
  it.each([
    [{ prompt: 'x', model: 'flux-schnell', steps: 30 }, 'That request can’t be made: steps must be between 1 and 4 for flux-schnell.'],
    [{ prompt: 'x', width: 512 }, 'That request can’t be made: a custom size needs both width and height.'],
    [{ prompt: 'x', aspect_ratio: '1:1', width: 512, height: 512 }, 'That request can’t be made: width and height only apply with aspect_ratio custom.'],
    [{ prompt: 'x', model: 'flux-dev', image_prompt_url: 'https://example.com/a.png' }, 'That request can’t be made: image_prompt is not supported by flux-dev.'],
    [{ prompt: 'x', image_prompt_url: 'not a link' }, /^That request can’t be made: image_prompt must be an http\(s\) link/],
    [{ prompt: '   ' }, 'That request can’t be made: prompt must not be empty.'],
  ])('refuses %j privately and enqueues nothing', async (options, expected) => {
    h = await Harness.start();
    const i = h.flux(options, { user: 'alice' });
    const text = await h.privateReply(i);
    if (typeof expected === 'string') expect(text).toBe(expected);
    else expect(text).toMatch(expected);
    await expectNothingQueued(h);
  });

  it('refuses a non-image attachment, an oversized one, and an attachment with a link, before downloading anything', async () => {
    h = await Harness.start();
    const pdf = h.fake.addAttachment(Buffer.from('%PDF-1.7 not an image'), { filename: 'notes.pdf', contentType: 'application/pdf' });
    const png = h.fake.addAttachment(await makeImage(32, 32), { filename: 'huge.png', contentType: 'image/png' });
    const huge = { ...png, size: 11 * 1024 * 1024 }; // what Discord reports for an 11 MB upload
    const cases = [
      [h.flux({ prompt: 'x', image_prompt: pdf }, { user: 'alice' }), 'The image prompt notes.pdf is not a PNG, JPEG or WebP image (it is application/pdf). Nothing was queued.'],
      [h.flux({ prompt: 'x', image_prompt: huge }, { user: 'alice' }), 'The image prompt huge.png is 11 MB; the limit is 10 MB. Nothing was queued.'],
      [h.flux({ prompt: 'x', image_prompt: png, image_prompt_url: 'https://example.com/a.png' }, { user: 'alice' }), 'Give image_prompt or image_prompt_url, not both. Nothing was queued.'],
    ] as const;
    for (const [i, text] of cases) expect(await h.privateReply(i)).toBe(text);
    expect(h.fake.callsTo('cdn')).toEqual([]);
    await expectNothingQueued(h);
  });

  it('refuses where the bot may not post, saying which permission is missing', async () => {
    h = await Harness.start();
    const i = h.flux({ prompt: 'x' }, { user: 'alice', channel: 'read-only' });
    expect(await h.privateReply(i)).toBe(
      'I can’t post images here: I need the Send Messages permission in this channel. Ask a server admin, or use another channel.',
    );
    await expectNothingQueued(h);
  });

  it('refuses where the bot cannot see the channel, naming View Channel', async () => {
    const hidden = { name: 'hidden', botDeny: PermissionFlagsBits.ViewChannel };
    h = await Harness.start({ fake: { guilds: [{ ...GUILD, channels: [...(GUILD.channels ?? []), hidden] }] } });
    const i = h.flux({ prompt: 'x' }, { user: 'alice', channel: 'hidden' });
    expect(await h.privateReply(i)).toBe(
      'I can’t post images here: I need the View Channel permission in this channel. Ask a server admin, or use another channel.',
    );
    await expectNothingQueued(h);
  });

  it('names the permission problem when Discord refuses the status message (403, Missing Permissions), and charges nothing', async () => {
    h = await Harness.start();
    h.fake.failNext('createMessage', { status: 403, body: { message: 'Missing Permissions', code: 50013 } });
    const i = h.flux({ prompt: 'x' }, { user: 'alice' });
    expect(await h.privateReply(i)).toBe(
      'I can’t post images here: I need the Send Messages permission in this channel. Ask a server admin, or use another channel.',
    );
    expect(h.fake.callsTo('createMessage').map((c) => c.status)).toEqual([403]);
    expect(await h.jobCount()).toBe(0);
    expect(await h.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
    expect(h.replicate!.created).toBe(0);
  });
});
