import { REST, Routes } from 'discord.js';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordDelivery } from '../../../src/bots/discord/discord-delivery.js';
import { DISCORD_DM_BUCKET } from '../../../src/bots/discord/dm-bucket.js';
import { redisFollowupMemo } from '../../../src/bots/discord/followups.js';
import { personalTarget } from '../../../src/bots/discord/personal.js';
import { DeliveryRefused } from '../../../src/core/errors.js';
import type { DeliveryRequest } from '../../../src/core/ports.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { FakeDiscord } from '../../fakes/discord/index.js';
import { dropPrefix, fluxRequest, REDIS_URL, silentLogger, testPrefix } from '../../helpers/core.js';

let fake: FakeDiscord | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('Discord delivery is idempotent per job', () => {
  it('a job delivered again (a re-run after a crash before its checkpoint) posts the image once', async () => {
    fake = await FakeDiscord.start();
    const rest = new REST({ api: fake.apiUrl }).setToken('bot-token');
    const delivery = new DiscordDelivery(rest, silentLogger);
    const request = fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256 });
    const image = await new PreviewProvider().generate(request);
    const channel = fake.channel('general');
    const d = (jobId: string): DeliveryRequest => ({
      jobId,
      request,
      requester: { platform: 'discord', guildId: fake!.guild.id, userId: fake!.user('tester').id },
      target: { platform: 'discord', channelId: channel.id, threadId: channel.id },
      image,
      model: request.model,
      generationMs: 10,
    });

    const first = await delivery.deliver(d('job-1'));
    const again = await delivery.deliver(d('job-1'));
    const other = await delivery.deliver(d('job-2'));
    expect(again.messageId).toBe(first.messageId);
    expect(other.messageId).not.toBe(first.messageId);
    const uploads = fake.callsTo((c) => c.route === 'createMessage' && c.files.length > 0);
    expect(uploads).toHaveLength(3);
    expect(new Set(uploads.map((c) => (c.body as { nonce: string }).nonce)).size).toBe(2);
    expect(fake.messages('general').filter((m) => m.attachments.length > 0)).toHaveLength(2);
  });

  it('a gallery delivered again posts its one message of k images once', async () => {
    fake = await FakeDiscord.start();
    const rest = new REST({ api: fake.apiUrl }).setToken('bot-token');
    const delivery = new DiscordDelivery(rest, silentLogger);
    const request = fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256, count: 3 });
    const preview = new PreviewProvider();
    const images = await Promise.all([0, 1, 2].map((i) => preview.generate({ ...request, seed: request.seed + i })));
    const channel = fake.channel('general');
    const jobId = `j${'7'.repeat(32)}`;
    const d: DeliveryRequest = {
      jobId,
      request,
      requester: { platform: 'discord', guildId: fake.guild.id, userId: fake.user('tester').id },
      target: { platform: 'discord', channelId: channel.id, threadId: channel.id },
      image: images[0]!,
      images,
      model: request.model,
      generationMs: 10,
      redelivery: { since: Date.now() - 1000 },
    };
    const first = await delivery.deliver(d);
    const again = await delivery.deliver(d);
    expect(again.messageId).toBe(first.messageId);
    const posted = fake.messages('general').filter((m) => m.attachments.length > 0);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.attachments.map((a) => a.filename)).toEqual([1, 2, 3].map((n) => `flux-${jobId}-${n}.png`));
  });

  it('a personal follow-up (no nonce on webhooks) delivered again on a re-run answers the one already posted', async () => {
    fake = await FakeDiscord.start();
    const rest = new REST({ api: fake.apiUrl }).setToken('bot-token');
    const redis = new Redis(REDIS_URL);
    const prefix = testPrefix('followups');
    try {
      const delivery = new DiscordDelivery(rest, silentLogger, redisFollowupMemo(redis, prefix));
      const request = fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256 });
      const image = await new PreviewProvider().generate(request);
      // A user-installed /flux in the DM with the bot, acknowledged as the bot does (a deferred ephemeral reply).
      const command = fake.prepareInteraction({ name: 'flux', context: 1, install: 'user', user: 'tester' });
      const record = fake.interactionState(command.id);
      await rest.post(Routes.interactionCallback(record.id, record.token), { body: { type: 5, data: { flags: 64 } }, auth: false });
      const target = personalTarget({ token: record.token, applicationId: fake.applicationId, createdTimestamp: Date.now(), channelId: record.channelId, attachmentSizeLimit: 10 << 20 });
      const d = (jobId: string, redelivery?: boolean): DeliveryRequest => ({
        jobId,
        request,
        requester: { platform: 'discord', guildId: DISCORD_DM_BUCKET, userId: fake!.user('tester').id },
        target,
        image,
        model: request.model,
        generationMs: 10,
        ...(redelivery ? { redelivery: { since: Date.now() - 1000 } } : {}),
      });

      const first = await delivery.deliver(d('job-1'));
      expect(first).toMatchObject({ followUp: true });
      const again = await delivery.deliver(d('job-1', true));
      expect(again).toEqual(first);
      expect(fake.followups(command.id).map((m) => m.id)).toEqual([first.messageId]);
      // Another job on the same interaction is no re-run: it posts its own follow-up.
      const other = await delivery.deliver(d('job-2', true));
      expect(other.messageId).not.toBe(first.messageId);
      expect(fake.followups(command.id).map((m) => m.id)).toEqual([first.messageId, other.messageId]);

      // Given privately after a channel refused it (an ephemeral follow-up), likewise once; also once the token is too
      // old to post with, as the earlier run's follow-up is what the person has.
      const refused = new DeliveryRefused('discord', '50001');
      const privately = await delivery.deliverPrivately(d('job-3'), refused);
      const old = { ...d('job-3', true), target: personalTarget({ token: record.token, applicationId: fake.applicationId, createdTimestamp: Date.now() - 15 * 60_000, channelId: record.channelId, attachmentSizeLimit: 10 << 20 }) };
      expect(await delivery.deliverPrivately(old, refused)).toEqual(privately);
      expect(fake.followups(command.id)).toHaveLength(3);
      expect(fake.dms('tester').filter((m) => m.webhookId === undefined)).toEqual([]);
    } finally {
      redis.disconnect();
      await dropPrefix(prefix);
    }
  });
});
