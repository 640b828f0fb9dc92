import { afterEach, describe, expect, it } from 'vitest';
import { userKey } from '../../../src/core/ports.js';
import { ADMIN, CHANNEL, LISTED, MEMBER, MODES, OTHER, OWNER, SlackHarness } from './harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Runs a command and resolves with the private answer the person got through the response_url. */
async function run(harness: SlackHarness, user: string, command: string, text: string): Promise<string> {
  const answer = await harness.fake.slashCommand({ user, channel: CHANNEL, command, text });
  expect(answer.ok).toBe(true);
  const post = await harness.fake.until(() => harness.fake.responsesTo(answer.responseUrl)[0], 10_000, `the answer to ${command} ${text}`);
  expect(post.body).toMatchObject({ response_type: 'ephemeral' });
  return String((post.body as { text: unknown }).text);
}

const member = (harness: SlackHarness, userId: string) => ({ kind: 'user' as const, key: userKey({ platform: 'slack', guildId: harness.fake.config.teamId, userId }) });

describe.each(MODES)('quotas and admin commands (%s mode)', (mode) => {
  it('/flux-quota shows the caller their own usage, privately', async () => {
    h = await SlackHarness.start(mode, { quotas: { dailyPerUser: 7 } });
    const text = await run(h, MEMBER, '/flux-quota', '');
    expect(text).toContain('You have used 0 of 7 images today; 7 left.');
    expect(text).toMatch(/Your quota resets <!date\^\d+\^/);
  });

  it('refuses a person over their daily quota privately: nothing enqueued, nothing posted in the channel', async () => {
    h = await SlackHarness.start(mode, { worker: false, quotas: { dailyPerUser: 0 } });
    const text = await run(h, MEMBER, '/flux', 'a cat');
    expect(text).toMatch(/^You have used all 0 of your images for today\. It resets <!date\^/);
    expect(await h.jobCount()).toBe(0);
    expect(h.fake.messagesIn(CHANNEL)).toEqual([]);
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('lets workspace admins, owners and SLACK_ADMIN_USER_IDS manage quotas, and the changes apply at once', async () => {
    h = await SlackHarness.start(mode, { worker: false });

    expect(await run(h, ADMIN, '/flux-admin', `set <@${MEMBER}|max> daily:0`)).toBe(`Limits for <@${MEMBER}>: 0 per day, 20 at once.`);
    expect(await run(h, MEMBER, '/flux', 'a cat')).toContain('You have used all 0 of your images for today.');
    expect(await run(h, OWNER, '/flux-admin', `grant 3 <@${MEMBER}>`)).toBe(`Granted 3 extra images to <@${MEMBER}> (now 3 extra).`);
    expect(await run(h, LISTED, '/flux-admin', `show <@${MEMBER}>`)).toContain('Granted extra images left: 3');
    expect(await run(h, ADMIN, '/flux-admin', `ban <@${OTHER}> spamming the channel`)).toBe(`<@${OTHER}> can no longer generate images here.`);
    expect(await run(h, OTHER, '/flux', 'a cat')).toBe('You are not allowed to generate images on this server (spamming the channel).');
    expect(await run(h, ADMIN, '/flux-admin', 'frobnicate')).toContain('Unknown subcommand `frobnicate`');
    expect(await run(h, ADMIN, '/flux-admin', 'grant <@U0MEMBER>')).toContain('`grant` needs `amount`');
    expect(await h.jobCount()).toBe(0);
    // The allow-listed user needed no users.info lookup; the others were checked with Slack on every call.
    expect(h.fake.callsTo('users.info').map((c) => c.args.user)).not.toContain(LISTED);
    expect(h.fake.callsTo('users.info').filter((c) => c.args.user === ADMIN)).toHaveLength(4);
  });

  it('refuses /flux-admin to everyone else and changes nothing', async () => {
    h = await SlackHarness.start(mode, { worker: false });

    expect(await run(h, MEMBER, '/flux-admin', `set <@${OTHER}> daily:0`)).toBe('Only server admins can manage image quotas.');
    expect(await run(h, MEMBER, '/flux-admin', `ban <@${OTHER}>`)).toBe('Only server admins can manage image quotas.');

    const other = await h.core.admin.show(member(h, OTHER));
    expect(other.daily).toEqual({ value: 100, overridden: false });
    expect(other.banned).toBeUndefined();
  });
});
