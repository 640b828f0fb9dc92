import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHANNEL, MEMBER, SlackHarness } from './harness.js';

let h: SlackHarness;
beforeEach(async () => {
  h = await SlackHarness.start('http', { worker: false });
});
afterEach(async () => {
  await h.stop();
});

function commandBody(text: string, triggerId: string): string {
  const { config } = h.fake;
  return new URLSearchParams({
    command: '/flux',
    text,
    team_id: config.teamId,
    channel_id: CHANNEL,
    user_id: MEMBER,
    user_name: 'max',
    trigger_id: triggerId,
    response_url: `${h.fake.url}/commands/x/1/y`,
    api_app_id: config.appId,
  }).toString();
}

describe('the HTTP receiver (SLACK_SIGNING_SECRET)', () => {
  it('runs a correctly signed command (control)', async () => {
    const answer = await h.fake.signedPost('/slack/events', commandBody('a cat', 't-good'));
    expect(answer.status).toBe(200);
    await expect.poll(() => h.jobCount()).toBe(1);
  });

  it('rejects a forged signature with 401 and enqueues nothing', async () => {
    const answer = await h.fake.signedPost('/slack/events', commandBody('a cat', 't-forged'), { secret: 'not-the-secret' });
    const garbage = await h.fake.signedPost('/slack/events', commandBody('a cat', 't-garbage'), { signature: 'v0=deadbeef' });
    expect([answer.status, garbage.status]).toEqual([401, 401]);
    expect(await h.jobCount()).toBe(0);
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('rejects a correctly signed but stale request (over 5 minutes old) with 401 and enqueues nothing', async () => {
    const answer = await h.fake.signedPost('/slack/events', commandBody('a cat', 't-stale'), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(answer.status).toBe(401);
    expect(await h.jobCount()).toBe(0);
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
  });
});
