import { REST } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordDelivery } from '../../../src/bots/discord/discord-delivery.js';
import type { DeliveryRequest } from '../../../src/core/ports.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { FakeDiscord } from '../../fakes/discord/index.js';
import { fluxRequest, silentLogger } from '../../helpers/core.js';

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
});
