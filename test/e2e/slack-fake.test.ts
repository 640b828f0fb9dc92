import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webApi, type App } from '@slack/bolt';
import { makeImage } from '../fakes/fake-server.js';
import { FakeSlack, startBoltApp, type SlackMode, type StartedApp } from '../fakes/slack/index.js';

const CHANNEL = 'C0GENERAL';
const ADMIN = 'U0ADMIN';
const MEMBER = 'U0MEMBER';

const modal = {
  type: 'modal' as const,
  callback_id: 'flux_modal',
  private_metadata: CHANNEL,
  title: { type: 'plain_text' as const, text: 'Generate an image' },
  submit: { type: 'plain_text' as const, text: 'Generate' },
  blocks: [
    { type: 'input', block_id: 'prompt', label: { type: 'plain_text', text: 'Prompt' }, element: { type: 'plain_text_input', action_id: 'prompt' } },
    {
      // No block_id on purpose: Slack assigns a random one, so the handler must look values up by action_id.
      type: 'input',
      optional: true,
      label: { type: 'plain_text', text: 'Aspect ratio' },
      element: {
        type: 'static_select',
        action_id: 'aspect_ratio',
        options: ['1:1', '16:9'].map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
      },
    },
  ],
};

/** Finds an input value by action_id, whatever block it is in. */
function valueOf(values: Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>, actionId: string) {
  for (const block of Object.values(values)) {
    const element = block[actionId];
    if (element) return element.value ?? element.selected_option?.value ?? null;
  }
  return undefined;
}

let fake: FakeSlack;
let started: StartedApp | undefined;

beforeEach(async () => {
  fake = await FakeSlack.start({
    users: [
      { id: ADMIN, name: 'ada', isAdmin: true },
      { id: MEMBER, name: 'max' },
    ],
    channels: [{ id: CHANNEL, name: 'general' }],
  });
});

afterEach(async () => {
  await started?.stop();
  started = undefined;
  await fake.close();
});

async function start(mode: SlackMode, register: (app: App) => void = () => {}, clientOptions = {}): Promise<App> {
  started = await startBoltApp(fake, mode, register, clientOptions);
  return started.app;
}

describe.each(['http', 'socket'] as const)('the real Bolt app against FakeSlack (%s mode)', (mode) => {
  it('verifies its bot token with auth.test, acks a slash command and posts with chat.postMessage', async () => {
    await start(mode, (app) => {
      app.command('/flux', async ({ ack, command, client, respond }) => {
        await ack();
        await client.chat.postMessage({
          channel: command.channel_id,
          text: `Queued: ${command.text}`,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${command.text}*` } }],
        });
        await respond({ response_type: 'ephemeral', text: 'on it' });
      });
    });

    const answer = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a lighthouse aspect_ratio:16:9' });

    expect(answer.ok).toBe(true);
    expect(answer.via).toBe(mode);
    const post = await fake.waitForCall('chat.postMessage');
    expect(post.token).toBe(fake.config.botToken);
    expect(post.args.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*a lighthouse aspect_ratio:16:9*' } }]);
    expect(fake.messagesIn(CHANNEL).map((m) => m.text)).toEqual(['Queued: a lighthouse aspect_ratio:16:9']);
    await fake.until(() => fake.responsesTo(answer.responseUrl).length > 0);
    expect(fake.responsesTo(answer.responseUrl)[0]?.body).toEqual({ response_type: 'ephemeral', text: 'on it' });
    expect(fake.callsTo('auth.test')[0]?.response).toMatchObject({ ok: true, user_id: fake.config.botUserId });
    if (mode === 'socket') {
      expect(fake.callsTo('apps.connections.open')[0]?.token).toBe(fake.config.appToken);
      expect(fake.acks.map((a) => a.envelopeId)).toContain(answer.via === 'socket' ? answer.envelopeId : '');
    }
    expect(started?.logger.errors).toEqual([]);
  });

  it('opens a modal within the trigger window and handles its view_submission, errors included', async () => {
    const submissions: Array<{ user: string; prompt: unknown; aspect: unknown; metadata: string }> = [];
    await start(mode, (app) => {
      app.command('/flux', async ({ ack, body, client }) => {
        await ack();
        await client.views.open({ trigger_id: body.trigger_id, view: modal });
      });
      app.view('flux_modal', async ({ ack, view, body }) => {
        const values = view.state.values as Parameters<typeof valueOf>[0];
        const prompt = valueOf(values, 'prompt');
        if (!prompt) return void (await ack({ response_action: 'errors', errors: { prompt: 'Describe the image' } }));
        await ack();
        submissions.push({ user: body.user.id, prompt, aspect: valueOf(values, 'aspect_ratio'), metadata: view.private_metadata });
      });
    });

    const command = await fake.slashCommand({ user: ADMIN, channel: CHANNEL });
    const opened = await fake.waitForCall('views.open');
    expect(opened.response.ok).toBe(true);
    expect(opened.args.trigger_id).toBe(command.triggerId);

    const empty = await fake.viewSubmission();
    expect(empty.ok).toBe(true);
    expect(empty.body).toEqual({ response_action: 'errors', errors: { prompt: 'Describe the image' } });
    expect(submissions).toEqual([]);

    const done = await fake.viewSubmission({ inputs: { prompt: 'a lighthouse at dawn', aspect_ratio: '16:9' } });
    expect(done.ok).toBe(true);
    expect(submissions).toEqual([{ user: ADMIN, prompt: 'a lighthouse at dawn', aspect: '16:9', metadata: CHANNEL }]);

    // A trigger is exchanged once.
    await expect(started?.app.client.views.open({ trigger_id: command.triggerId, view: modal })).rejects.toMatchObject({
      data: { error: 'exchanged_trigger_id' },
    });
  });

  it('hears reaction_added from people, not from itself, and sees redeliveries as retries', async () => {
    const heard: Array<{ user: string; reaction: string; retryNum: number | undefined }> = [];
    const app = await start(mode, (app) => {
      app.event('reaction_added', async ({ event, context, client }) => {
        heard.push({ user: event.user, reaction: event.reaction, retryNum: context.retryNum });
        await client.reactions.add({ channel: event.item.channel, timestamp: (event.item as { ts: string }).ts, name: 'eyes' });
      });
    });
    const { ts } = await app.client.chat.postMessage({ channel: CHANNEL, text: 'image' });
    if (!ts) throw new Error('no ts');

    const own = await fake.reactionAdded({ user: fake.config.botUserId, reaction: 'repeat', channel: CHANNEL, ts });
    const first = await fake.reactionAdded({ user: MEMBER, reaction: 'repeat', channel: CHANNEL, ts });
    await fake.waitForCall('reactions.add');
    const again = await fake.reactionAdded({ user: MEMBER, reaction: 'repeat', channel: CHANNEL, ts }, { eventId: first.eventId, retryNum: 1 });
    await fake.waitFor((c) => c.method === 'reactions.add' && c.response.error === 'already_reacted');

    expect([own.ok, first.ok, again.ok]).toEqual([true, true, true]);
    expect(heard).toEqual([
      { user: MEMBER, reaction: 'repeat', retryNum: undefined },
      { user: MEMBER, reaction: 'repeat', retryNum: 1 },
    ]);
    expect(fake.workspace.reactions).toEqual([{ channel: CHANNEL, ts, name: 'eyes', user: fake.config.botUserId }]);
  });

  it('routes a block action (button) to app.action with a usable response_url', async () => {
    await start(mode, (app) => {
      app.action('reroll', async ({ ack, respond, action }) => {
        await ack();
        await respond({ replace_original: false, text: `rerolling ${(action as { value?: string }).value ?? ''}` });
      });
    });
    const image = fake.seedMessage({ channel: CHANNEL, user: fake.config.botUserId, text: 'image' });

    const click = await fake.blockAction({ user: MEMBER, actionId: 'reroll', value: 'job-42', channel: CHANNEL, messageTs: image.ts });

    expect(click.ok).toBe(true);
    await fake.until(() => fake.responsesTo(click.responseUrl)[0]);
    expect(fake.responsesTo(click.responseUrl)[0]?.body).toEqual({ replace_original: false, text: 'rerolling job-42' });
  });

  it('uploads into a thread with filesUploadV2 and gets the message ts from shares', async () => {
    const app = await start(mode);
    const png = await makeImage(64, 32);
    const status = await app.client.chat.postMessage({ channel: CHANNEL, text: 'Generating…' });
    const threadTs = status.ts as string;

    const result = await app.client.filesUploadV2({ channel_id: CHANNEL, thread_ts: threadTs, file: png, filename: 'flux.png', initial_comment: 'seed 7' });

    const file = result.files[0]?.files?.[0];
    const reply = fake.messagesIn(CHANNEL, threadTs)[0];
    expect(reply?.text).toBe('seed 7');
    expect(file?.shares?.public?.[CHANNEL]?.[0]).toMatchObject({ ts: reply?.ts, thread_ts: threadTs });
    expect(fake.fileBytes(file?.id ?? '')?.equals(png)).toBe(true);
    expect(fake.message(CHANNEL, reply?.ts ?? '')?.files?.map((f) => f.id)).toEqual([file?.id]);
    const upload = fake.http.calls.find((c) => c.path.startsWith('/upload/v1/'));
    expect(String(upload?.headers['content-type'])).toMatch(/^multipart\/form-data/);
    expect(fake.callsTo('files.getUploadURLExternal')[0]?.args).toMatchObject({ filename: 'flux.png', length: String(png.length) });
  });

  it('uploads with missing shares: the ts appears in files.info only after polling', async () => {
    const app = await start(mode);
    fake.setMissingShares({ afterInfoCalls: 2 });
    const status = await app.client.chat.postMessage({ channel: CHANNEL, text: 'Generating…' });
    const png = await makeImage(16, 16);

    const result = await app.client.filesUploadV2({ channel_id: CHANNEL, thread_ts: status.ts as string, file: png, filename: 'flux.png' });

    const completed = result.files[0]?.files?.[0];
    expect(completed?.shares).toEqual({});
    let shareTs: string | undefined;
    let polls = 0;
    while (!shareTs && polls < 5) {
      polls += 1;
      const info = await app.client.files.info({ file: completed?.id ?? '' });
      shareTs = info.file?.shares?.public?.[CHANNEL]?.[0]?.ts;
    }
    expect(polls).toBe(3);
    expect(shareTs).toBe(fake.messagesIn(CHANNEL, status.ts as string)[0]?.ts);
  });
});

describe('HTTP receiver security (real HTTPReceiver)', () => {
  beforeEach(async () => {
    await start('http', (app) => {
      app.command('/flux', async ({ ack, client, command }) => {
        await ack();
        await client.chat.postMessage({ channel: command.channel_id, text: 'ran' });
      });
    });
  });

  const command = () => new URLSearchParams({ command: '/flux', text: 'x', team_id: fake.config.teamId, channel_id: CHANNEL, user_id: MEMBER }).toString();

  it('accepts a correctly signed request (control)', async () => {
    const answer = await fake.signedPost('/slack/events', JSON.stringify({ type: 'url_verification', challenge: 'c-123' }), { contentType: 'application/json' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ challenge: 'c-123' });
  });

  it('rejects a forged signature with 401 and runs nothing', async () => {
    const answer = await fake.signedPost('/slack/events', command(), { secret: 'not-the-secret' });
    expect(answer.status).toBe(401);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('rejects a stale timestamp (over 5 minutes old) with 401 even when correctly signed', async () => {
    const answer = await fake.signedPost('/slack/events', command(), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(answer.status).toBe(401);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
  });
});

describe('Web API faults seen through the real WebClient', () => {
  it('waits out a 429 Retry-After and retries once (retries enabled, bounded)', async () => {
    const app = await start('http', () => {}, { retryConfig: { retries: 1, factor: 1, minTimeout: 0, maxTimeout: 0 } });
    const limited: number[] = [];
    app.client.on(webApi.WebClientEvent.RATE_LIMITED, (sec: number) => limited.push(sec));
    fake.rateLimitNext('chat.postMessage', 1);

    const result = await app.client.chat.postMessage({ channel: CHANNEL, text: 'after the limit' });

    expect(result.ok).toBe(true);
    const [first, second] = fake.callsTo('chat.postMessage');
    expect([first?.status, second?.status]).toEqual([429, 200]);
    expect(limited).toEqual([1]);
    // The client honoured Retry-After: the retry came no sooner than a second later.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('surfaces a 429 as a rate-limited error with rejectRateLimitedCalls, and failNext as a platform error', async () => {
    const app = await start('http', () => {}, { rejectRateLimitedCalls: true });
    fake.rateLimitNext('chat.postMessage', 30);
    await expect(app.client.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 30 });
    fake.failNext('chat.postMessage', 'channel_not_found');
    await expect(app.client.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ data: { ok: false, error: 'channel_not_found' } });
    expect((await app.client.chat.postMessage({ channel: CHANNEL, text: 'x' })).ok).toBe(true);
  });
});

describe('FakeSlack behaviour the adapter relies on', () => {
  it('serves users with their admin flags, channels, and refuses unknown methods loudly', async () => {
    const app = await start('http');
    expect((await app.client.users.info({ user: ADMIN })).user).toMatchObject({ id: ADMIN, is_admin: true, is_owner: false });
    expect((await app.client.users.info({ user: MEMBER })).user).toMatchObject({ is_admin: false });
    expect((await app.client.conversations.info({ channel: CHANNEL })).channel).toMatchObject({ name: 'general', is_private: false });
    await expect(app.client.apiCall('chat.frobnicate', {})).rejects.toMatchObject({ data: { error: 'unknown_method' } });
    expect(fake.unknownMethods).toEqual(['chat.frobnicate']);
  });

  it('updates status messages, posts ephemerals, gives permalinks and guards views.update with the hash', async () => {
    const app = await start('http');
    const posted = await app.client.chat.postMessage({ channel: CHANNEL, text: 'queued' });
    const ts = posted.ts as string;

    await app.client.chat.update({ channel: CHANNEL, ts, text: 'generating' });
    const ephemeral = await app.client.chat.postEphemeral({ channel: CHANNEL, user: MEMBER, text: 'quota left: 3' });
    const link = await app.client.chat.getPermalink({ channel: CHANNEL, message_ts: ts });

    expect(fake.message(CHANNEL, ts)).toMatchObject({ text: 'generating', updates: 1 });
    expect(fake.workspace.ephemerals).toEqual([{ channel: CHANNEL, user: MEMBER, message_ts: ephemeral.message_ts, text: 'quota left: 3' }]);
    expect(link.permalink).toBe(`https://fluxbot-test.slack.com/archives/${CHANNEL}/p${ts.replace('.', '')}`);
    const user = fake.seedMessage({ channel: CHANNEL, user: MEMBER, text: 'mine' });
    await expect(app.client.chat.update({ channel: CHANNEL, ts: user.ts, text: 'x' })).rejects.toMatchObject({ data: { error: 'cant_update_message' } });

    const trigger = fake.workspace.issueTrigger(ADMIN);
    const opened = await app.client.views.open({ trigger_id: trigger, view: modal });
    const viewId = opened.view?.id ?? '';
    const updated = await app.client.views.update({ view_id: viewId, hash: opened.view?.hash ?? '', view: modal });
    expect(updated.view?.hash).not.toBe(opened.view?.hash);
    await expect(app.client.views.update({ view_id: viewId, hash: opened.view?.hash ?? '', view: modal })).rejects.toMatchObject({
      data: { error: 'hash_conflict' },
    });
  });

  it('hosts private files that need the bot token (a sign-in page without it)', async () => {
    const png = await makeImage(8, 8);
    const file = fake.addFile(png, { name: 'prompt.png' });

    const anonymous = await fetch(file.url_private_download, { redirect: 'manual' });
    const followed = await fetch(file.url_private_download);
    const authed = await fetch(file.url_private_download, { headers: { authorization: `Bearer ${fake.config.botToken}` } });

    expect(anonymous.status).toBe(302);
    expect(followed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(authed.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await authed.arrayBuffer()).equals(png)).toBe(true);
  });

  it('keeps serving after a dropped socket: Bolt reconnects and the next command is acked', async () => {
    await start('socket', (app) => app.command('/flux', async ({ ack }) => ack({ text: 'pong' })));
    expect(fake.socketConnections).toBe(1);

    fake.dropSocket();
    await fake.waitForSocketConnections(2);

    const answer = await fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'ping' });
    expect(answer).toMatchObject({ via: 'socket', acked: true, body: { text: 'pong' } });
    expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
  });
});
