import { afterEach, describe, expect, it } from 'vitest';
import { UNAVAILABLE_TEXT } from '../../../src/commands/replies.js';
import { Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

const WEBHOOK_ROUTES = new Set(['editOriginal', 'getOriginal', 'createFollowup', 'editFollowup', 'deleteOriginal']);

describe('Discord adapter resilience', () => {
  it('charges a duplicate INTERACTION_CREATE once', async () => {
    h = await Harness.start();
    const i = h.flux({ prompt: 'one lantern', aspect_ratio: '1:1' }, { user: 'alice' });
    h.fake.dispatch('INTERACTION_CREATE', i.payload);
    await h.image();
    await expect.poll(() => h!.fake.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id).length).toBe(2);
    const callbacks = h.fake.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
    expect(callbacks.map((c) => c.status).sort()).toEqual([204, 400]);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await h.jobCount()).toBe(1);
    expect(h.replicate!.created).toBe(1);
    expect(h.fake.messages().filter((m) => m.content.includes('one lantern') && m.attachments.length === 0)).toHaveLength(1);
  });

  it('still delivers when the gateway drops mid-job, and takes commands again after resuming', async () => {
    h = await Harness.start({ replicateLatencyMs: 600 });
    h.flux({ prompt: 'a storm at sea', aspect_ratio: '1:1' }, { user: 'alice' });
    await h.replicate!.waitFor((c) => c.method === 'POST');
    h.fake.dropSocket({ abrupt: true });
    const image = await h.image();
    expect(image.attachments).toHaveLength(1);
    await h.fake.waitForGatewayOp(6); // RESUME on the new connection
    await expect.poll(() => h!.fake.gateway.connected).toBe(true);
    const next = h.flux({ prompt: 'calm after the storm', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(next)).toMatch(/^Queued/);
    await h.image(1);
    expect(h.adapter.isReady()).toBe(true);
  });

  it('respects a Discord 429 on the image upload and delivers after retry_after', async () => {
    h = await Harness.start({ provider: 'preview' });
    h.fake.failNext((c) => c.route === 'createMessage' && c.files.length > 0, { status: 429, retryAfter: 0.3 });
    h.flux({ prompt: 'patience', aspect_ratio: '1:1' }, { user: 'alice' });
    await h.image();
    const uploads = h.fake.callsTo((c) => c.route === 'createMessage' && c.files.length > 0);
    expect(uploads.map((c) => c.status)).toEqual([429, 200]);
    expect(uploads[1]!.at - uploads[0]!.at).toBeGreaterThanOrEqual(250);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('never uses an interaction token once it has expired: progress, image and “done” go through the bot token', async () => {
    h = await Harness.start({ replicateLatencyMs: 400 });
    const i = h.flux({ prompt: 'a slow sunrise', aspect_ratio: '1:1' }, { user: 'alice' });
    await h.privateReply(i);
    h.fake.expireInteractionTokens(i.id);
    const seenBefore = h.fake.calls.length;
    const image = await h.image();
    const status = h.fake.messages('general').find((m) => m.content.includes('a slow sunrise'))!;
    await expect.poll(() => h!.fake.message(status.id)!.content).toContain('✅ Done');
    expect(image.channelId).toBe(status.id);
    // Progress reached the status message through the progress feed on the way (edits with the bot token).
    const edits = h.fake.callsTo((c) => c.route === 'editMessage' && c.params.messageId === status.id).map((c) => (c.body as { content: string }).content);
    expect(edits.some((text) => text.includes('📤 Uploading…'))).toBe(true);
    expect(h.fake.calls.slice(seenBefore).filter((c) => c.route && WEBHOOK_ROUTES.has(c.route))).toEqual([]);
    expect(h.fake.calls.filter((c) => c.status === 401)).toEqual([]);
  });

  it('does not answer through an interaction token older than 14 minutes, and still delivers through the bot token', async () => {
    h = await Harness.start({ provider: 'preview' });
    // An interaction whose id says it was created 14.5 minutes ago (its token has less than a minute left).
    const i = h.flux({ prompt: 'an old command', aspect_ratio: '1:1' }, { user: 'alice', createdAt: Date.now() - 14.5 * 60_000 });
    const image = await h.image();
    expect(image.channelId).toBeDefined();
    const status = h.fake.messages('general').find((m) => m.content.includes('an old command'))!;
    await expect.poll(() => h!.fake.message(status.id)!.content).toContain('✅ Done');
    // Acked at once, then never touched again through the token: no webhook edit, no follow-up.
    expect(h.fake.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id)).toHaveLength(1);
    expect(h.fake.calls.filter((c) => c.route && WEBHOOK_ROUTES.has(c.route) && c.params.token === i.token)).toEqual([]);
    expect(h.log.warnings.map((w) => w.msg)).toContain('interaction token too old to answer; reply dropped');
  });

  it('answers a failing command in plain words and keeps serving the next ones', async () => {
    h = await Harness.start({ provider: 'preview' });
    // Discord fails the status message post (500, retried by discord.js, then given up).
    h.fake.failNext('createMessage', { status: 500 }, 4);
    const failing = h.flux({ prompt: 'unlucky', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(failing)).toBe(UNAVAILABLE_TEXT);
    expect(h.log.errors.splice(0).map((e) => e.msg)).toEqual(['command failed']);
    expect(await h.jobCount()).toBe(0);

    const next = h.flux({ prompt: 'lucky', aspect_ratio: '1:1' }, { user: 'alice' });
    await h.image();
    expect(await h.privateReply(next)).toMatch(/^Queued/);
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('tells the person in the thread when the image service fails, and refunds the quota', async () => {
    h = await Harness.start();
    h.replicate!.failNext('moderate');
    h.flux({ prompt: 'something refused', aspect_ratio: '1:1' }, { user: 'alice' });
    const status = await h.fake.waitFor((c) => c.route === 'createMessage' && String((c.body as { content?: string }).content).includes('something refused'));
    const statusId = (status.response as { id: string }).id;
    await expect.poll(() => h!.fake.message(statusId)!.content, { timeout: 10_000 }).toContain('❌ No image this time: The image service refused');
    expect(await h.usage('alice')).toEqual({ usedToday: 0, inFlight: 0 });
  });
});
