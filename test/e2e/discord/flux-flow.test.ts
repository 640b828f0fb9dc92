import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { makeImage } from '../../fakes/fake-server.js';
import { GUILD, Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  const unmatched = h?.fake.unmatchedCalls ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
  expect(unmatched).toEqual([]);
});

describe('/flux on Discord, end to end', () => {
  it('defers privately first, then posts a status message, a thread on it, the image with its embed, and 🔄', async () => {
    h = await Harness.start();
    const i = h.flux({ prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', seed: 42 }, { user: 'alice', channel: 'general' });

    // The ack is an ephemeral deferred reply, sent before anything else the command does.
    const ack = await h.fake.waitFor((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
    expect(ack.body).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(ack.status).toBe(204);

    const image = await h.image();
    const calls = h.fake.calls;
    expect(calls.indexOf(ack)).toBeLessThan(calls.findIndex((c) => c.route === 'createMessage'));
    const general = h.fake.channel('general');
    const status = h.fake.messages('general').find((m) => m.author.id === h!.fake.bot.id && m.content.includes('a lighthouse at dawn'))!;
    // The image lives in a thread started on the status message (a thread takes its starter message's id).
    expect(status.threadId).toBe(status.id);
    expect(image.channelId).toBe(status.id);
    expect(h.fake.channel(image.channelId).parentId).toBe(general.id);

    expect(image.content).toContain(`<@${h.fake.user('alice').id}>`);
    const embed = image.embeds[0]!;
    expect(embed.description).toBe('a lighthouse at dawn');
    const fields = Object.fromEntries((embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({ Model: 'FLUX.1 [pro]', Seed: '42', Size: '1344×768' });
    expect(fields.Time).toMatch(/^\d+\.\d s$/);
    const file = image.attachments[0]!;
    expect(embed.image?.url).toBe(`attachment://${file.filename}`);
    expect(file.filename).toBe('flux-42.webp');
    const meta = await sharp(h.fake.fileAt(file.url)!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1344, 768]);

    // The bot's own 🔄 is on the image; the status message ends "done"; the person got a private "queued" with a link.
    expect(h.fake.message(image.id)!.reactions.map((r) => r.emoji.name)).toEqual(['🔄']);
    await expect.poll(() => h!.fake.message(status.id)!.content).toContain('✅ Done');
    const reply = await h.privateReply(i);
    expect(reply).toMatch(/^Queued — /);
    expect(reply).toContain(`/channels/${h.fake.guild.id}/${general.id}/${status.id}`);
    expect(h.fake.originalResponse(i.id)!.flags & 64).toBe(64);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('passes every option to the provider as typed', async () => {
    h = await Harness.start();
    const attachment = h.fake.addAttachment(await makeImage(64, 64), { filename: 'guide.png', contentType: 'image/png' });
    h.flux(
      {
        prompt: 'a red fox in snow',
        model: 'flux-pro',
        aspect_ratio: 'custom',
        width: 800,
        height: 600,
        image_prompt: attachment,
        steps: 30,
        guidance: 3.5,
        interval: 2.5,
        safety_tolerance: 4,
        seed: 1234,
        prompt_upsampling: true,
        output_format: 'png',
        output_quality: 90,
      },
      { user: 'alice' },
    );
    const image = await h.image();
    const create = h.replicate!.calls.find((c) => c.method === 'POST' && c.path.includes('/models/'))!;
    expect(create.path).toContain('black-forest-labs/flux-pro/predictions');
    expect((create.body as { input: unknown }).input).toEqual({
      prompt: 'a red fox in snow',
      aspect_ratio: 'custom',
      width: 800,
      height: 608, // rounded to a multiple of 32, as the API does
      image_prompt: attachment.url,
      steps: 30,
      guidance: 3.5,
      interval: 2.5,
      safety_tolerance: 4,
      prompt_upsampling: true,
      output_quality: 90,
      seed: 1234,
      output_format: 'png',
    });
    expect(image.attachments[0]!.filename).toBe('flux-1234.png');
  });

  it('uses the thread the command was used in', async () => {
    h = await Harness.start({ provider: 'preview' });
    const thread = h.fake.channel('renders');
    h.flux({ prompt: 'a quiet harbour', aspect_ratio: '1:1' }, { user: 'bob', channel: 'renders' });
    const image = await h.image();
    expect(image.channelId).toBe(thread.id);
    expect(h.fake.callsTo('startThreadFromMessage')).toEqual([]);
    // The preview placeholder is never passed off as FLUX output.
    expect(image.embeds[0]!.footer?.text).toContain('not FLUX output');
  });

  it('posts in the channel, replying to the status message, where the bot may not create threads', async () => {
    h = await Harness.start({ provider: 'preview' });
    h.flux({ prompt: 'a windmill', aspect_ratio: '1:1' }, { user: 'bob', channel: 'no-threads' });
    const image = await h.image();
    expect(image.channelId).toBe(h.fake.channel('no-threads').id);
    const status = h.fake.messages('no-threads').find((m) => m.content.includes('a windmill') && m.id !== image.id)!;
    expect(image.reference).toMatchObject({ message_id: status.id });
    expect(h.fake.callsTo('startThreadFromMessage').map((c) => c.status)).toEqual([403]);
  });

  it('posts in the channel, replying to the status message, where threads cannot exist (a voice channel’s text chat)', async () => {
    h = await Harness.start({ provider: 'preview', fake: { guilds: [{ ...GUILD, channels: [...(GUILD.channels ?? []), { name: 'lounge', type: 2 }] }] } });
    const i = h.flux({ prompt: 'a campfire', aspect_ratio: '1:1' }, { user: 'bob', channel: 'lounge' });
    const image = await h.image();
    expect(image.channelId).toBe(h.fake.channel('lounge').id);
    const status = h.fake.messages('lounge').find((m) => m.content.includes('a campfire') && m.id !== image.id)!;
    expect(image.reference).toMatchObject({ message_id: status.id });
    // Discord answers 400 "Cannot execute action on this channel type" (50024): no retry, no second image.
    expect(h.fake.callsTo('startThreadFromMessage').map((c) => [c.status, (c.response as { code: number }).code])).toEqual([[400, 50024]]);
    expect(h.fake.messages('lounge').filter((m) => m.attachments.length > 0)).toHaveLength(1);
    await expect.poll(() => h!.fake.message(status.id)!.content).toContain('✅ Done');
    expect(await h.privateReply(i)).toMatch(/^Queued/);
    expect(await h.usage('bob')).toEqual({ usedToday: 1, inFlight: 0 });
  });
});
