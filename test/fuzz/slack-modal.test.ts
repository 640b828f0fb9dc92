import { afterEach, describe, expect, it } from 'vitest';
import { FLUX_OPTIONS } from '../../src/commands/flux.js';
import { CHANNEL, MEMBER, MODES, SlackHarness } from '../e2e/slack/harness.js';
import { fuzzSeed, garbageValue, hostilePrompt, NON_HTTP_LINKS, PRIVATE_LINKS, type Prng } from './hostile.js';

/**
 * Hostile /flux modal submissions through the real Bolt app (HTTP receiver and Socket Mode) against the fake Slack:
 * well-formed forms with values out of range or refused, and forms whose `state.values` have the wrong shapes (what a
 * buggy or changed Slack client could send). Each is answered with errors under the fields (the modal stays open) or,
 * only when the form is valid, closed and queued; the app never fails to answer; nothing refused is enqueued or charged.
 */

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

// File inputs (image_prompt, image…image_4) are not typed values: the modal takes them as Slack files.
const NAMES = FLUX_OPTIONS.map((o) => o.name).filter((n) => !/^image(_\d)?$/.test(n));

/** A value a person could type or pick in a field, often out of range or refused (strings, as Slack sends them). */
function typedValue(rng: Prng, name: string): string {
  if (name === 'prompt') return hostilePrompt(rng).prompt;
  if (name === 'image_prompt_url') return rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS, 'https://example.com/a.png']);
  return rng.pick(['-1', '0', '1', '7', '33', '1441', '1e308', 'NaN', '2.5', '', ' ', 'flux-9', '16:9', 'gif', 'x'.repeat(rng.int(1, 3000))]);
}

/** One element's state in a shape Slack would never send: wrong types, nulls, missing or extra parts. */
function brokenState(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => garbageValue(rng),
    () => ({ type: 'plain_text_input', value: garbageValue(rng) }),
    () => ({ type: 'static_select', selected_option: garbageValue(rng) }),
    () => ({ type: 'static_select', selected_option: { value: garbageValue(rng) } }),
    () => ({ type: 'checkboxes', selected_options: garbageValue(rng) }),
    () => ({ type: 'checkboxes', selected_options: [garbageValue(rng)] }),
    () => ({ type: 'file_input', files: garbageValue(rng) }),
    () => ({ type: 'file_input', files: [{ id: garbageValue(rng), name: garbageValue(rng), filetype: garbageValue(rng), size: garbageValue(rng) }] }),
    () => ({ type: 'number_input', value: JSON.stringify(garbageValue(rng)) ?? '' }),
  ])();
}

describe.each(MODES)('the /flux modal under hostile submissions (%s mode)', (mode) => {
  it('answers every bad form with errors under a field, queues only valid ones, and keeps answering (120 forms)', async () => {
    h = await SlackHarness.start(mode, { worker: false });
    const { fake } = h;
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    const opened = await fake.waitForCall('views.open');
    const blocks = (opened.args.view as { blocks: Array<{ block_id: string; element: { action_id: string; options?: Array<{ value: string }> } }> }).blocks;
    const blockIds = new Set(blocks.map((b) => b.block_id));
    // What a select or a checkbox offers (the fake, like Slack, only lets a person pick one of those).
    const offered = new Map(blocks.filter((b) => b.element.options).map((b) => [b.element.action_id, b.element.options!.map((o) => o.value)]));
    const rng = fuzzSeed(`slack modal ${mode}`);
    let accepted = 0;

    for (let i = 0; i < 120; i++) {
      // Each form is its own modal (a view is submitted once: its id is the submission's dedupe key).
      if (i > 0) {
        await fake.slashCommand({ user: MEMBER, channel: CHANNEL });
        await fake.until(() => fake.callsTo('views.open').length === i + 1, 10_000, `modal ${i} opened`);
      }
      let answer;
      if (rng.chance(0.5)) {
        // A well-formed form: a prompt (often hostile) and a few fields with values a person could enter.
        const inputs: Record<string, string> = { prompt: typedValue(rng, 'prompt') };
        for (const name of NAMES.filter((n) => n !== 'prompt' && n !== 'image_prompt' && rng.chance(0.2))) {
          const choices = offered.get(name);
          inputs[name] = choices ? rng.pick(choices) : typedValue(rng, name);
        }
        answer = await fake.viewSubmission({ inputs });
      } else {
        // Broken shapes: random elements under random (sometimes real) block ids, sometimes no values at all.
        // Built with Maps and Object.fromEntries: '__proto__' becomes an own key (as JSON.parse makes it on the app's
        // side), not a write to Object.prototype.
        const blocksOut = new Map<string, Map<string, unknown>>();
        for (let k = rng.int(0, 5); k > 0; k--) {
          const block = rng.chance(0.7) ? rng.pick([...blockIds]) : rng.pick(['__proto__', 'x', '']);
          const actions = blocksOut.get(block) ?? new Map<string, unknown>();
          blocksOut.set(block, actions);
          actions.set(rng.chance(0.8) ? rng.pick(NAMES) : rng.pick(['toString', 'constructor', '__proto__']), brokenState(rng));
        }
        const values = Object.fromEntries([...blocksOut].map(([block, actions]) => [block, Object.fromEntries(actions)])) as Record<string, Record<string, unknown>>;
        answer = await fake.viewSubmission({ values });
      }
      expect(answer.ok, `form ${i}: ${String(JSON.stringify(answer.body)).slice(0, 200)}`).toBe(true);
      const body = answer.body as { response_action?: string; errors?: Record<string, unknown> } | string | undefined;
      if (typeof body === 'object' && body?.response_action === 'errors') {
        const errors = Object.entries(body.errors ?? {});
        expect(errors.length, `form ${i}`).toBeGreaterThan(0);
        for (const [, text] of errors) {
          expect(typeof text).toBe('string');
          expect((text as string).length).toBeGreaterThan(5);
          expect(text as string).not.toMatch(/\n\s+at .+:\d+|node:internal|TypeError|ReferenceError|undefined/);
        }
      } else {
        // Closed: the form was valid, so it is submitted (and charged) exactly once.
        expect([{}, '', undefined], `form ${i}: ${JSON.stringify(body).slice(0, 200)}`).toContainEqual(body);
        accepted++;
      }
    }
    await expect.poll(() => h!.jobCount(), { timeout: 15_000 }).toBe(accepted);
    expect(await h.usedToday(MEMBER)).toBe(accepted);

    // Still alive: a valid form closes the modal and is queued.
    await fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    await fake.until(() => fake.callsTo('views.open').length === 121, 10_000, 'the last modal opened');
    const done = await fake.viewSubmission({ inputs: { prompt: 'a lighthouse at dawn' } });
    expect([{}, '', undefined]).toContainEqual(done.body);
    await expect.poll(() => h!.jobCount(), { timeout: 15_000 }).toBe(accepted + 1);
  });
});
