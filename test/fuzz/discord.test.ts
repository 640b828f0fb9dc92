import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInteraction } from '../fakes/discord/interaction.js';
import type { DispatchedInteraction } from '../fakes/discord/index.js';
import { Harness } from '../e2e/discord/harness.js';
import { fuzzSeed, garbageValue, NON_HTTP_LINKS, PRIVATE_LINKS, words, type Prng } from './hostile.js';

/**
 * Hostile /flux interactions through the real discord.js client against the fake Discord: values a client may send
 * (control and bidi characters in the prompt, private and non-http image links) and raw INTERACTION_CREATE payloads
 * whose options carry wrong types, out-of-range numbers, unknown names and dangling attachments (what a broken or
 * hostile gateway peer could deliver). Each gets a private answer naming the problem; nothing refused is enqueued
 * or charged; no error is logged; a valid /flux still delivers an image at the end.
 */

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
});
afterAll(async () => {
  const errors = h.log.errors;
  await h.close();
  expect(errors).toEqual([]);
});

const REFUSAL = /^(That request can’t be made: .+\.|The image prompt .+ Nothing was queued\.|Give image_prompt or image_prompt_url, not both\. Nothing was queued\.)$/s;

function hostileOptions(rng: Prng): Record<string, string | number | boolean> {
  const control = ['\u0000', '\u0007', '\u001b', '\u007f', '\u202e', '\u2066'];
  return rng.pick<() => Record<string, string | number | boolean>>([
    () => ({ prompt: `${words(rng, 4)} a${rng.pick(control)}b` }),
    () => ({ prompt: words(rng, 4), image_prompt_url: rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS]) }),
    () => ({ prompt: words(rng, 4), model: 'flux-schnell', steps: rng.int(5, 50) }),
    () => ({ prompt: words(rng, 4), width: rng.int(256, 1440) }),
    () => ({ prompt: '   ' }),
  ])();
}

/** A raw option list with garbage in it (types and values Discord itself would never send). */
function garbageOptions(rng: Prng): unknown[] {
  const options: unknown[] = [];
  if (rng.chance(0.8)) options.push({ name: 'prompt', type: 3, value: rng.chance(0.5) ? `${words(rng, 3)}\u202e` : garbageValue(rng) });
  for (let n = rng.int(1, 3); n > 0; n--) {
    const name = rng.pick(['steps', 'seed', 'width', 'guidance', 'model', 'aspect_ratio', 'image_prompt', 'image_prompt_url', 'colour', 'prompt_upsampling']);
    if (name === 'image_prompt') options.push({ name, type: 11, value: rng.pick(['123', '', 'missing']) }); // no resolved attachment
    else options.push({ name, type: rng.pick([3, 4, 5, 10, 99]), value: garbageValue(rng) });
  }
  if (!options.some((o) => (o as { name: string }).name === 'prompt')) options.push({ name: 'prompt', type: 3, value: '' });
  return options;
}

describe('/flux on Discord under hostile options (real discord.js)', () => {
  it('answers each hostile interaction privately with the problem; refused ones enqueue and charge nothing (200)', async () => {
    const rng = fuzzSeed('discord');
    let queued = 0;
    const pending: Array<{ i: DispatchedInteraction; what: string }> = [];
    for (let n = 0; n < 200; n++) {
      if (rng.chance(0.5)) {
        const options = hostileOptions(rng);
        pending.push({ i: h.flux(options, { user: 'alice' }), what: JSON.stringify(options).slice(0, 200) });
      } else {
        const { payload, record } = buildInteraction(h.fake.state, { name: 'flux', options: { prompt: 'x' }, user: 'alice' }, h.fake.settings.uploadLimitBytes);
        const options = garbageOptions(rng);
        (payload.data as { options: unknown[] }).options = options;
        h.fake.dispatch('INTERACTION_CREATE', payload);
        pending.push({ i: { id: record.id, token: record.token } as DispatchedInteraction, what: JSON.stringify(options).slice(0, 200) });
      }
      // A few at a time, as people would send them.
      if (pending.length === 10 || n === 199) {
        for (const { i, what } of pending.splice(0)) {
          const text = await h.privateReply(i);
          if (REFUSAL.test(text)) continue;
          // A garbage value that happened to be valid: an ordinary queued reply.
          expect(text, what).toMatch(/queued|Queued|position/i);
          queued++;
        }
      }
    }
    await expect.poll(() => h.replicate!.created, { timeout: 20_000 }).toBe(queued);
    expect((await h.usage('alice')).usedToday).toBe(queued);
  });

  it('still delivers an image for a valid /flux afterwards', async () => {
    const before = h.fake.calls.filter((c) => c.route === 'addOwnReaction' && c.status === 204).length;
    const i = h.flux({ prompt: 'a lighthouse at dawn' }, { user: 'bob' });
    expect(await h.privateReply(i)).toMatch(/queued|position/i);
    const image = await h.image(before);
    expect(image.attachments.length).toBe(1);
  });
});
