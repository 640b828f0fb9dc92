import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUX_OPTIONS } from '../../src/commands/flux.js';
import { ackText, CHANNEL, MEMBER, SlackHarness } from '../e2e/slack/harness.js';
import { fuzzSeed, garbageOptionText, hostilePrompt, NON_HTTP_LINKS, PRIVATE_LINKS } from './hostile.js';

/**
 * Hostile input through the real Bolt app (HTTP receiver) against the fake Slack: forged and unsigned requests,
 * wrong content types and garbage bodies, and signed /flux commands with garbage options, hostile prompts and
 * private or non-http image links. Each is refused (401/4xx, or an ephemeral naming the problem); nothing is
 * enqueued or charged; the app keeps answering, and a valid command still works at the end.
 */

const KEYS = FLUX_OPTIONS.filter((o) => o.name !== 'prompt').map((o) => o.name);
let h: SlackHarness;

beforeAll(async () => {
  h = await SlackHarness.start('http', { worker: false });
});
afterAll(async () => {
  await h.stop();
});

function commandBody(text: string, trigger: string): string {
  const { config } = h.fake;
  return new URLSearchParams({
    command: '/flux',
    text,
    team_id: config.teamId,
    channel_id: CHANNEL,
    user_id: MEMBER,
    user_name: 'max',
    trigger_id: trigger,
    response_url: `${h.fake.url}/commands/x/1/y`,
    api_app_id: config.appId,
  }).toString();
}

function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+|node:internal|TypeError|ReferenceError/);
  expect(text.includes(h.fake.config.signingSecret)).toBe(false);
  expect(text.includes(h.fake.config.botToken)).toBe(false);
}

describe('the Slack app under hostile requests (real Bolt, HTTP receiver)', () => {
  it('refuses forged, unsigned, stale and malformed requests without running anything (150 requests)', async () => {
    const rng = fuzzSeed('slack http');
    for (let i = 0; i < 150; i++) {
      const body = rng.pick([
        () => commandBody('a cat', `t-forged-${i}`),
        () => 'payload=%7Bnot%20json',
        () => 'payload=' + encodeURIComponent(JSON.stringify({ type: rng.pick(['view_submission', 'block_actions', 'shortcut', 'nope']), user: null })),
        () => '{"type":"url_verification"',
        () => '\u0000'.repeat(rng.int(1, 100)),
        () => 'x'.repeat(rng.int(1, 20_000)),
        () => '',
      ])();
      const forge = rng.int(0, 3);
      const answer = await h.fake.signedPost('/slack/events', body, {
        ...(forge === 0 ? { secret: 'not-the-secret' } : {}),
        ...(forge === 1 ? { signature: rng.pick(['v0=deadbeef', '', 'v1=abc', 'v0=' + 'f'.repeat(64)]) } : {}),
        ...(forge === 2 ? { timestamp: Math.floor(Date.now() / 1000) - rng.int(301, 1e6) } : {}),
        ...(forge === 3 ? { contentType: rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=utf-8', 'multipart/form-data']) } : {}),
      });
      // A forged signature or a stale timestamp is 401. A correctly signed but malformed or unknown body is acked
      // (Slack would retry otherwise) or refused with a 4xx; never a 5xx, never a command run.
      if (forge <= 2) expect(answer.status, `case ${i}`).toBe(401);
      else expect(answer.status, `case ${i}: ${answer.text.slice(0, 100)}`).toBeLessThan(500);
      expectNoLeak(answer.text);
    }
    expect(await h.jobCount()).toBe(0);
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('answers each signed /flux with garbage options or hostile links with an ephemeral naming the problem (200 commands)', async () => {
    const rng = fuzzSeed('slack commands');
    let passed = 0;
    for (let i = 0; i < 200; i++) {
      const prompt = hostilePrompt(rng);
      // Every command carries at least one thing that must be refused: a bad prompt, a bad option or a bad link.
      // (An empty prompt gets a valid option, so the command is a request without a prompt, not a call for help.)
      const bad =
        prompt.refusal === 'empty' ? 'seed:1' : prompt.refusal !== undefined ? '' : rng.chance(0.5) ? garbageOptionText(rng, KEYS) : `image_prompt:${rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS])}`;
      const text = `${prompt.prompt} ${bad}`;
      const answer = await h.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
      expect(answer.ok, `command ${i}`).toBe(true);
      const reply = ackText(answer);
      if (reply === undefined) {
        // What may pass: a "garbage" option that happens to be valid (seed:12) with a fine prompt, or controls that
        // are whitespace (\v, \f, \r), which split Slack's text into words like spaces. Never a hostile link.
        expect(bad, text.slice(0, 200)).not.toMatch(/^image_prompt:[a-z]*:/);
        expect(prompt.refusal === undefined || /^a[\v\f\r]+a/.test(prompt.prompt) || / a[\v\f\r]b /.test(prompt.prompt), text.slice(0, 200)).toBe(true);
        passed++;
        continue;
      }
      expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
      expect(reply.length).toBeGreaterThan(10);
      expectNoLeak(reply);
    }
    // Exactly the commands that were not refused were enqueued and charged; every refused one left nothing.
    await expect.poll(() => h.jobCount(), { timeout: 15_000 }).toBe(passed);
    expect(await h.usedToday(MEMBER)).toBe(passed);
    expect(h.fake.callsTo('files.info')).toEqual([]);
  });

  it('refuses every private or non-http image link in a command, enqueuing and charging nothing', async () => {
    const before = await h.jobCount();
    for (const link of [...PRIVATE_LINKS, ...NON_HTTP_LINKS]) {
      const answer = await h.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `a cat image_prompt_url:"${link}"` });
      const reply = ackText(answer) ?? h.ephemeralTexts(answer.responseUrl).at(-1) ?? '';
      expect(reply, link).toMatch(/image_prompt_url|image_prompt/);
    }
    expect(await h.jobCount()).toBe(before);
  });

  it('is still alive: a valid command is queued after all of that', async () => {
    const before = await h.jobCount();
    await h.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: 'a lighthouse at dawn' });
    await expect.poll(() => h.jobCount(), { timeout: 15_000 }).toBe(before + 1);
  });
});
