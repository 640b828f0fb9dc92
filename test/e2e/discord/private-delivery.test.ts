import { REST, Routes } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiscordDelivery } from '../../../src/bots/discord/discord-delivery.js';
import { interactionExtra, usableInteraction } from '../../../src/bots/discord/private-delivery.js';
import { INTERACTION_TOKEN_USE_MS } from '../../../src/bots/discord/services.js';
import { DeliveryRefused } from '../../../src/core/errors.js';
import type { DeliveryRequest, DeliveryTarget } from '../../../src/core/ports.js';
import type { GeneratedImage } from '../../../src/core/providers/provider.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { FakeDiscord, type DiscordCall } from '../../fakes/discord/index.js';
import { fluxRequest, silentLogger } from '../../helpers/core.js';

let fake: FakeDiscord;
let rest: REST;
let delivery: DiscordDelivery;
let image: GeneratedImage;
const request = fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256, prompt: 'a small boat' });

beforeEach(async () => {
  fake = await FakeDiscord.start();
  rest = new REST({ api: fake.apiUrl }).setToken('bot-token');
  delivery = new DiscordDelivery(rest, silentLogger);
  image ??= await new PreviewProvider().generate(request);
});
afterEach(async () => {
  await fake.close();
});

const isUpload = (c: DiscordCall) => c.route === 'createMessage' && c.files.length > 0;

function job(jobId: string, target: Partial<DeliveryTarget> = {}): DeliveryRequest {
  const channel = fake.channel('general');
  return {
    jobId,
    request,
    requester: { platform: 'discord', guildId: fake.guild.id, userId: fake.user('tester').id },
    target: { platform: 'discord', channelId: channel.id, threadId: channel.id, ...target },
    image,
    model: request.model,
    generationMs: 10,
  };
}

/** An acknowledged (deferred, ephemeral) `/flux` interaction of the tester, as `target.extra` carries it. */
async function interaction(createdAt = Date.now()): Promise<{ id: string; token: string; extra: Record<string, string> }> {
  const prepared = fake.prepareInteraction({ name: 'flux', user: 'tester' });
  const record = fake.interactionState(prepared.id);
  await rest.post(Routes.interactionCallback(record.id, record.token), { body: { type: 5, data: { flags: 64 } }, auth: false });
  return { id: record.id, token: record.token, extra: interactionExtra({ token: record.token, applicationId: fake.applicationId, createdTimestamp: createdAt }) };
}

const refused = new DeliveryRefused('discord', '50001');

describe('Discord delivery when the channel refuses the image', () => {
  it('turns permanent refusals into DeliveryRefused with Discord’s code, and leaves faults that may pass as they are', async () => {
    fake.removeBot('general');
    await expect(delivery.deliver(job('j1'))).rejects.toMatchObject({ code: 'delivery_refused', reason: '50001', retryable: false });
    fake.removeBot('general', true);
    fake.channel('general').botDeny = 1n << 15n; // Attach Files
    await expect(delivery.deliver(job('j2'))).rejects.toMatchObject({ code: 'delivery_refused', reason: '50013' });
    fake.channel('general').botDeny = 0n;
    await expect(delivery.deliver(job('j3', { channelId: '1', threadId: '1' }))).rejects.toMatchObject({ code: 'delivery_refused', reason: '10003' });
    for (const code of [50083, 160005, 200000]) {
      fake.failNext(isUpload, { status: 400, body: { message: 'refused', code } });
      await expect(delivery.deliver(job(`j-${code}`))).rejects.toMatchObject({ code: 'delivery_refused', reason: String(code) });
    }
    fake.settings.uploadLimitBytes = 100;
    await expect(delivery.deliver(job('j4'))).rejects.toMatchObject({ code: 'delivery_refused', reason: '40005' });
    fake.settings.uploadLimitBytes = 10 * 1024 * 1024;

    // A 5xx that outlasts discord.js's retries, or the bot's own token refused: not this image's fault, retried later.
    fake.failNext(isUpload, { status: 502 }, 4);
    const outage = await delivery.deliver(job('j5')).catch((e: unknown) => e);
    expect(outage).not.toBeInstanceOf(DeliveryRefused);
    fake.failNext(isUpload, { status: 401, body: { message: '401: Unauthorized', code: 0 } });
    const unauthorized = await delivery.deliver(job('j6')).catch((e: unknown) => e);
    expect(unauthorized).not.toBeInstanceOf(DeliveryRefused);
    expect(unauthorized).toMatchObject({ status: 401 });
    expect(fake.messages('general').filter((m) => m.attachments.length > 0)).toEqual([]);
  });

  it('answers through the interaction while its token is young, and never once it is 14 minutes old', async () => {
    const young = await interaction();
    const sent = await delivery.deliverPrivately(job('j1', { extra: young.extra }), refused);
    expect(sent).toMatchObject({ via: 'private', channelId: fake.channel('general').id });
    expect(fake.followups(young.id).map((m) => [m.id, m.flags, m.attachments.length])).toEqual([[sent.messageId, 64, 1]]);
    const call = fake.callsTo('createFollowup')[0]!;
    expect(call.headers.authorization).toBeUndefined(); // the interaction token authorizes; the bot token is not sent
    expect(call.query.get('wait')).toBe('true');

    const old = await interaction(Date.now() - INTERACTION_TOKEN_USE_MS);
    expect(usableInteraction({ platform: 'discord', channelId: 'c', extra: old.extra })).toBeUndefined();
    const dm = await delivery.deliverPrivately(job('j2', { extra: old.extra }), refused);
    expect(fake.followups(old.id)).toEqual([]);
    expect(fake.dms('tester').map((m) => m.id)).toEqual([dm.messageId]);
    expect(dm.via).toBe('private');
  });

  it('falls back to a DM when the follow-up is refused, and posts a DM once however often the job runs', async () => {
    const i = await interaction();
    fake.expireInteractionTokens(i.id); // 401, code 50027
    const first = await delivery.deliverPrivately(job('j1', { extra: i.extra }), refused);
    expect(fake.callsTo('createFollowup').map((c) => c.status)).toEqual([401]);
    // A re-run of the same job (a crash before its checkpoint): the nonce answers the DM already posted.
    const again = await delivery.deliverPrivately(job('j1', { extra: i.extra }), refused);
    expect(again.messageId).toBe(first.messageId);
    const [dm] = fake.dms('tester');
    expect(fake.dms('tester')).toHaveLength(1);
    expect(dm!.content).toContain(`I couldn’t post your image in <#${fake.channel('general').id}>`);
    expect(dm!.embeds[0]!.description).toBe('a small boat');
    expect(dm!.attachments[0]!.filename).toBe(`flux-${image.seed}.png`);
  });

  it('is refused for good when the person takes no DMs (no interaction: a reroll), and retried when Discord fails', async () => {
    fake.blockDms('tester');
    await expect(delivery.deliverPrivately(job('j1'), refused)).rejects.toMatchObject({ code: 'delivery_refused', reason: '50007' });
    fake.blockDms('tester', false);
    fake.failNext((c) => c.route === 'createMessage', { status: 503 }, 4);
    const fault = await delivery.deliverPrivately(job('j2'), refused).catch((e: unknown) => e);
    expect(fault).not.toBeInstanceOf(DeliveryRefused);
    expect(fake.dms('tester')).toEqual([]);
  });

  it('finishes a private or kept image without 🔄, saying where it went on the status message', async () => {
    const general = fake.channel('general');
    const status = fake.addMessage('general', { content: 'status' });
    const target = { platform: 'discord' as const, channelId: general.id, statusMessageId: status.id };
    const { image: _image, ...rest } = job('j1', target);
    const d = { ...rest, imageCount: 1 };
    await delivery.afterRecorded({ platform: 'discord', messageId: 'kept:j1', channelId: general.id, via: 'kept' }, { ...d, target });
    expect(fake.message(status.id)!.content).toContain('it is kept for 7 days: use /flux-history to get it.');
    await delivery.afterRecorded({ platform: 'discord', messageId: '123', channelId: general.id, via: 'private' }, { ...d, target });
    expect(fake.message(status.id)!.content).toContain('so it was sent privately');
    // Where the status message cannot be edited either, that is no failure: the image is where it went.
    fake.removeBot('general');
    await expect(delivery.afterRecorded({ platform: 'discord', messageId: '123', channelId: general.id, via: 'private' }, { ...d, target })).resolves.toBeUndefined();
    expect(fake.callsTo('addOwnReaction')).toEqual([]);
  });
});
