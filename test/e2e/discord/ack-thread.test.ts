import { once } from 'node:events';
import { Client, DefaultUserAgent, Events, GatewayIntentBits, MessageFlags } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AckThread } from '../../../src/bots/discord/ack-thread.js';
import { FakeDiscord, type DispatchedInteraction } from '../../fakes/discord/index.js';
import { silentLogger } from '../../helpers/core.js';
import { Harness } from './harness.js';

/** The acks are sent from a worker thread (src/bots/discord/ack-thread.ts), against the fake Discord's REST rules. */

let h: Harness | undefined;
let fake: FakeDiscord | undefined;
let thread: AckThread | undefined;
let client: Client | undefined;
afterEach(async () => {
  await thread?.close();
  await client?.destroy();
  client = undefined;
  await fake?.close();
  const errors = h?.log.errors ?? [];
  await h?.close();
  thread = undefined;
  fake = undefined;
  h = undefined;
  expect(errors).toEqual([]);
});

const callbacksOf = (f: FakeDiscord, i: DispatchedInteraction) => f.callsTo((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);

async function startThread(options: { ackDeadlineMs?: number } = {}): Promise<{ fake: FakeDiscord; thread: AckThread; command: () => DispatchedInteraction }> {
  await client?.destroy();
  fake = await FakeDiscord.start(options);
  // A logged-in client that does not answer: the fake dispatches interactions only to a gateway session.
  client = new Client({ intents: GatewayIntentBits.Guilds, rest: { api: fake.apiUrl } });
  const ready = once(client, Events.ClientReady);
  await client.login('bot-token');
  await ready;
  thread = new AckThread({ apiUrl: fake.apiUrl, version: '10', userAgent: DefaultUserAgent, logger: silentLogger });
  const f = fake;
  return { fake: f, thread, command: () => f.interaction({ name: 'flux', options: { prompt: 'a cat' } }) };
}

describe('acks from the ack thread', () => {
  it('the adapter acks through the thread (ephemeral defer, no bot token), and the command carries on through discord.js', async () => {
    h = await Harness.start();
    const i = h.flux({ prompt: 'a quiet harbour', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(i)).toMatch(/^Queued/);
    const [ack] = callbacksOf(h.fake, i);
    expect(ack).toMatchObject({ status: 204, body: { type: 5, data: { flags: MessageFlags.Ephemeral } } });
    expect(ack!.headers.authorization).toBeUndefined();
    // discord.js's own REST appends "Node.js <version>" to this: the ack came from the thread.
    expect(ack!.headers['user-agent']).toBe(DefaultUserAgent);
    await h.image();
  });

  it('waits out a 429 for its retry_after, and retries a 500, within the deadline', async () => {
    const t = await startThread();
    t.fake.failNext('interactionCallback', { status: 429, retryAfter: 0.3 });
    const limited = t.command();
    expect(await t.thread.defer(limited.id, limited.token, MessageFlags.Ephemeral)).toEqual({ ok: true });
    const [first, second] = callbacksOf(t.fake, limited);
    expect([first?.status, second?.status]).toEqual([429, 204]);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(250);

    t.fake.failNext('interactionCallback', { status: 500 });
    const failing = t.command();
    expect(await t.thread.defer(failing.id, failing.token, MessageFlags.Ephemeral)).toEqual({ ok: true });
    expect(callbacksOf(t.fake, failing).map((c) => c.status)).toEqual([500, 204]);
  });

  it('reports Discord refusals with their codes: already acknowledged, unknown (too late) interaction', async () => {
    const t = await startThread();
    const i = t.command();
    expect(await t.thread.defer(i.id, i.token, MessageFlags.Ephemeral)).toEqual({ ok: true });
    expect(await t.thread.defer(i.id, i.token, MessageFlags.Ephemeral)).toMatchObject({ ok: false, status: 400, code: 40060 });
    await t.thread.close();
    await t.fake.close();

    const late = await startThread({ ackDeadlineMs: 0 });
    const j = late.command();
    expect(await late.thread.defer(j.id, j.token, MessageFlags.Ephemeral)).toMatchObject({ ok: false, status: 404, code: 10062 });
  });

  it('says it is unavailable once closed, so the caller acks through discord.js', async () => {
    const t = await startThread();
    await t.thread.close();
    const i = t.command();
    expect(await t.thread.defer(i.id, i.token, MessageFlags.Ephemeral)).toEqual({ ok: 'unavailable' });
    expect(callbacksOf(t.fake, i)).toEqual([]);
  });

  it('when the thread’s callback fails in transit (connection cut on every try), the adapter acks through discord.js', async () => {
    h = await Harness.start({ provider: 'preview' });
    h.fake.dropNext('interactionCallback', 3); // the thread's three tries; none reached Discord
    const i = h.flux({ prompt: 'a night ferry', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(i)).toMatch(/^Queued/);
    const acks = callbacksOf(h.fake, i);
    expect(acks.map((c) => c.status)).toEqual([0, 0, 0, 204]);
    expect(acks[3]!.headers['user-agent']).not.toBe(DefaultUserAgent);
    await h.image();
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
  });

  it('when the thread’s callback landed but its answer came too late, discord.js’s “already acknowledged” means the command is ours', async () => {
    h = await Harness.start({ provider: 'preview' });
    // Handled at once, answered after the thread's 2.5 s deadline: the thread reports a transport failure (status 0).
    h.fake.delayNext('interactionCallback', 4000);
    const i = h.flux({ prompt: 'a slow tide', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(i)).toMatch(/^Queued/);
    expect(callbacksOf(h.fake, i).map((c) => [c.status, (c.response as { code?: number } | undefined)?.code])).toEqual([
      [204, undefined],
      [400, 40060],
    ]);
    await h.image();
    expect(await h.usage('alice')).toEqual({ usedToday: 1, inFlight: 0 });
    expect(await h.jobCount()).toBe(1);
  });

  it('when the thread dies, the adapter acks through discord.js and nothing is lost', async () => {
    h = await Harness.start();
    // The thread's end, as a crash would: terminated from outside.
    const acker = (h.adapter as unknown as { acker: AckThread }).acker;
    await (acker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const i = h.flux({ prompt: 'a lighthouse', aspect_ratio: '1:1' }, { user: 'alice' });
    expect(await h.privateReply(i)).toMatch(/^Queued/);
    const [ack] = callbacksOf(h.fake, i);
    expect(ack?.status).toBe(204);
    expect(ack!.headers['user-agent']).not.toBe(DefaultUserAgent);
    await h.image();
    h.log.errors.splice(0); // the thread's end is logged as an error, on purpose
  });
});
