import type { CommandInteractionOption } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { readFluxInput } from '../../src/bots/discord/flux-input.js';
import { parseFluxText } from '../../src/bots/slack/flux-text.js';
import { FLUX_OPTIONS } from '../../src/commands/flux.js';
import { InvalidInput } from '../../src/core/errors.js';
import { assertFetchableUrl, isPrivateLink } from '../../src/core/images/url-guard.js';
import { FluxRequestSchema, MAX_PROMPT_LENGTH, parseFluxRequest } from '../../src/core/request.js';
import { ASPECT_RATIOS, MODEL_IDS, OUTPUT_FORMATS } from '../../src/core/models.js';
import { FORBIDDEN_CHARS, fuzzSeed, garbageOptionText, garbageValue, hostilePrompt, NON_HTTP_LINKS, PRIVATE_LINKS, words, type Prng } from './hostile.js';

/**
 * Thousands of random and hostile inputs through the pure parsers every adapter relies on: parseFluxRequest (the
 * core's schema), the Slack `key:value` parser and the Discord option reader. For each input: no throw, and either a
 * request that satisfies the provider-facing schema and the prompt rules, or a short, specific error.
 */

const FIELDS = FLUX_OPTIONS.map((o) => o.name).filter((n) => n !== 'image_prompt_url');
const KEYS = FLUX_OPTIONS.filter((o) => o.name !== 'prompt').map((o) => o.name);

/** An error a person can read: a sentence, no stack frames, not an echo of a huge input. */
function expectClearError(text: string): void {
  expect(text.length).toBeGreaterThan(5);
  expect(text.length).toBeLessThan(4000);
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(text).not.toMatch(/TypeError|ReferenceError|undefined is not|Cannot read prop/);
}

/** What every accepted request must satisfy, whatever came in. */
function expectSaneRequest(request: unknown): void {
  expect(FluxRequestSchema.safeParse(request).success).toBe(true);
  const r = request as { prompt: string; width: number; height: number; image_prompt?: string };
  expect(r.prompt.trim().length).toBeGreaterThan(0);
  expect(r.prompt.length).toBeLessThanOrEqual(MAX_PROMPT_LENGTH);
  for (const c of FORBIDDEN_CHARS) expect(r.prompt.includes(c)).toBe(false);
  expect(Number.isInteger(r.width) && r.width > 0 && r.width <= 4096).toBe(true);
  expect(Number.isInteger(r.height) && r.height > 0 && r.height <= 4096).toBe(true);
  if (r.image_prompt !== undefined) expect(r.image_prompt).toMatch(/^(https?:\/\/|data:image\/(png|jpeg|webp|gif);base64,)/i);
}

function randomInput(rng: Prng): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const p = hostilePrompt(rng);
  if (rng.chance(0.95)) input.prompt = rng.chance(0.9) ? p.prompt : garbageValue(rng);
  for (let n = rng.int(0, 5); n > 0; n--) {
    const field = rng.chance(0.9) ? rng.pick(FIELDS) : rng.pick(['colour', '__proto__', 'constructor', 'webhook', 'image_prompt_url']);
    input[field] = rng.pick<() => unknown>([
      () => garbageValue(rng),
      () => rng.pick(MODEL_IDS),
      () => rng.pick(ASPECT_RATIOS),
      () => rng.pick(OUTPUT_FORMATS),
      () => rng.int(-100, 5000),
      () => rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS]),
      () => `data:image/png;base64,${'A'.repeat(rng.int(0, 64))}${rng.pick(['', '!', '<', '\n'])}`,
    ])();
  }
  return input;
}

describe('parseFluxRequest under random and hostile input', () => {
  it('never throws; accepts only sane requests; refuses with a named field otherwise (3000 inputs)', () => {
    const rng = fuzzSeed('parseFluxRequest');
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const input = randomInput(rng);
      const result = parseFluxRequest(input, { randomSeed: () => 7 });
      if (result.ok) {
        accepted++;
        expectSaneRequest(result.request);
      } else {
        expect(result.error).toBeInstanceOf(InvalidInput);
        expectClearError(result.error.message);
      }
    }
    // The generator is not so hostile that nothing passes: the accept path was exercised too.
    expect(accepted).toBeGreaterThan(50);
  });

  it('refuses every prompt that is empty, too long or carries control or bidi characters, naming the prompt', () => {
    const rng = fuzzSeed('prompt rules');
    for (let i = 0; i < 1500; i++) {
      const { prompt, refusal } = hostilePrompt(rng);
      const result = parseFluxRequest({ prompt });
      if (refusal === undefined) continue;
      expect(result.ok, JSON.stringify(prompt.slice(0, 80))).toBe(false);
      if (!result.ok) {
        expect(result.error.field).toBe('prompt');
        expect(result.error.message).toMatch(refusal === 'empty' ? /must not be empty/ : refusal === 'length' ? /at most 2000/ : /control characters/);
      }
    }
  });

  it('refuses every non-http image link and every link with credentials', () => {
    for (const link of NON_HTTP_LINKS) {
      const result = parseFluxRequest({ prompt: 'a cat', image_prompt: link });
      expect(result.ok, link).toBe(false);
      if (!result.ok) expect(result.error.field).toBe('image_prompt');
    }
  });
});

describe('the private-network guard', () => {
  it('recognises every spelling of a private or local address as private (decimal, octal, hex, v4-in-v6, NAT64, 6to4)', () => {
    for (const link of PRIVATE_LINKS) expect(isPrivateLink(link), link).toBe(true);
    for (const link of ['https://example.com/a.png', 'http://8.8.8.8/a.png', 'http://[2606:4700::1111]/a.png', 'http://[::ffff:808:808]/a.png', 'https://localhost.example.com/a.png']) {
      expect(isPrivateLink(link), link).toBe(false);
    }
  });

  it('refuses to fetch any literal private address or non-http link, with an ImageInvalid that says why', async () => {
    const literal = PRIVATE_LINKS.filter((l) => !/localhost/i.test(l)); // names would need DNS; the sync check covers them
    for (const link of [...literal, ...NON_HTTP_LINKS]) {
      const err = await assertFetchableUrl(link).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, link).toMatchObject({ code: 'image_invalid' });
      expectClearError((err as Error).message);
    }
  });
});

describe('the Slack key:value parser under random and hostile text', () => {
  it('never throws; non-http links are refused by the parser and private ones by the core; what parses is sane (3000 texts)', () => {
    const rng = fuzzSeed('parseFluxText');
    let requests = 0;
    for (let i = 0; i < 3000; i++) {
      const parts = [hostilePrompt(rng).prompt];
      for (let n = rng.int(0, 4); n > 0; n--) parts.splice(rng.int(0, parts.length), 0, garbageOptionText(rng, KEYS));
      if (rng.chance(0.1)) parts.push(rng.pick(['"unclosed', '“curly', 'key:"open', '&lt;&gt;&amp;', '<https://example.com|x>', '<http://127.0.0.1/a.png|x>']));
      const text = parts.join(rng.pick([' ', '  ', '\n', '\t']));
      const parsed = parseFluxText(text);
      if (parsed.kind === 'error') {
        expectClearError(parsed.text);
        continue;
      }
      if (parsed.kind === 'help') continue;
      const link = parsed.input.image_prompt;
      if (typeof link === 'string') expect(link).toMatch(/^https?:\/\//i);
      const result = parseFluxRequest(parsed.input);
      // A private link gets through the parser's syntax check; the core refuses the request (this field, or an
      // earlier bad one).
      if (typeof link === 'string' && isPrivateLink(link)) expect(result.ok, link).toBe(false);
      if (result.ok) {
        requests++;
        expectSaneRequest(result.request);
      } else {
        expectClearError(result.error.message);
      }
    }
    expect(requests).toBeGreaterThan(20);
  });

  it('refuses every private or non-http image link as an option value, naming the option (the parser, or the core)', () => {
    for (const key of ['image_prompt', 'image_prompt_url']) {
      for (const link of [...PRIVATE_LINKS, ...NON_HTTP_LINKS]) {
        const parsed = parseFluxText(`a cat ${key}:"${link}"`);
        if (parsed.kind === 'error') {
          expect(parsed.text, link).toContain(`\`${key}\``);
          continue;
        }
        // Links with credentials are well-formed http links: the core's schema refuses them.
        expect(parsed.kind, link).toBe('request');
        const result = parsed.kind === 'request' ? parseFluxRequest(parsed.input) : undefined;
        expect(result?.ok, link).toBe(false);
        if (result && !result.ok) expect(result.error.field).toBe('image_prompt');
      }
    }
  });
});

/** Raw option data as discord.js hands it over (type numbers as Discord sends them; values possibly garbage). */
function discordOptions(rng: Prng): CommandInteractionOption[] {
  const options: CommandInteractionOption[] = [];
  const p = hostilePrompt(rng);
  if (rng.chance(0.95)) options.push({ name: 'prompt', type: 3, value: rng.chance(0.9) ? p.prompt : (garbageValue(rng) as string) } as CommandInteractionOption);
  for (let n = rng.int(0, 4); n > 0; n--) {
    const name = rng.chance(0.9) ? rng.pick(KEYS) : rng.pick(['colour', 'prompt', '__proto__']);
    if (options.some((o) => o.name === name)) continue; // Discord sends each option once
    if (name === 'image_prompt') {
      const attachment = {
        name: rng.pick(['a.png', 'notes.pdf', '../../etc/passwd', '\u202egnp.exe', 'x'.repeat(300)]),
        contentType: rng.pick<string | null>(['image/png', 'image/jpeg; charset=x', 'IMAGE/WEBP', 'application/pdf', 'text/html', 'image/svg+xml', null, '']),
        size: rng.pick([0, 100, 10 * 1024 * 1024, 10 * 1024 * 1024 + 1, 2 ** 40, -1, Number.NaN]),
        url: rng.pick(['https://cdn.discordapp.com/a.png', ...PRIVATE_LINKS]),
      };
      options.push({ name, type: 11, value: '1', attachment } as unknown as CommandInteractionOption);
      continue;
    }
    const value = rng.chance(0.5) ? garbageValue(rng) : rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS, 'https://example.com/a.png', words(rng, 3)]);
    options.push({ name, type: rng.pick([3, 4, 5, 10]), value } as CommandInteractionOption);
  }
  return options;
}

describe('the Discord option reader under garbage options', () => {
  it('never throws; refuses with a sentence; what it accepts is sane and carries no typed private link (3000 interactions)', () => {
    const rng = fuzzSeed('readFluxInput');
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const data = discordOptions(rng);
      const result = readFluxInput(data, { FLUX_MODEL: 'flux-pro' });
      if (!result.ok) {
        expectClearError(result.text);
        continue;
      }
      accepted++;
      expectSaneRequest(result.request);
      const typed = data.find((o) => o.name === 'image_prompt_url')?.value;
      if (typeof typed === 'string') expect(isPrivateLink(typed)).toBe(false);
      const attachment = data.find((o) => o.name === 'image_prompt')?.attachment;
      if (attachment && result.request.image_prompt === attachment.url) {
        expect(['image/png', 'image/jpeg', 'image/webp']).toContain(attachment.contentType?.split(';')[0]?.trim().toLowerCase());
        expect(attachment.size).toBeLessThanOrEqual(10 * 1024 * 1024);
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });
});
