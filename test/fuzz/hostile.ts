/**
 * Seeded random hostile inputs for the fuzz suites. Every suite prints its seed; rerun a failure with
 * `FUZZ_SEED=<seed> npx vitest run test/fuzz/<file>` (test code reads the environment; the app never does here).
 */

/** mulberry32: small, fast, good enough to pick test inputs; the same seed gives the same sequence. */
export class Prng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The suite's seed: `FUZZ_SEED` when set (to replay a failure), else a fresh one. Printed so it can be replayed. */
export function fuzzSeed(suite: string): Prng {
  const fromEnv = process.env.FUZZ_SEED;
  const seed = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`[fuzz] ${suite}: seed ${seed} (replay with FUZZ_SEED=${seed})\n`);
  return new Prng(seed);
}

/** Characters a prompt must never carry (C0/C1 controls but tab and newline, bidi overrides and isolates). */
export const FORBIDDEN_CHARS = [
  '\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\u000d', '\u001b', '\u001f', '\u007f', '\u0085', '\u009b',
  '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069',
];

/** Odd but acceptable characters: they may appear in a prompt that is otherwise fine. */
const ODD_CHARS = ['\t', '\n', '\u200b', '\u200d', '\ufeff', '\u2028', 'é', '🦊', '👩‍🚀', '漢', 'ﷺ', '`', '*', '_', '~', '<', '>', '&', '"', "'", '\\', '{{', '}}', '${x}', '%s', '@everyone', '<@U0ADMIN>', '<!channel>'];

/** Prompt-like text: mostly words, sometimes odd characters. */
export function words(rng: Prng, max = 12): string {
  const vocab = ['a', 'cat', 'lighthouse', 'at', 'dawn', 'in', 'the', 'style', 'of', 'neon', 'rain', 'steps:', 'seed', 'https://example.com/a.png', '--', 'null', 'undefined', 'NaN'];
  return Array.from({ length: rng.int(1, max) }, () => (rng.chance(0.15) ? rng.pick(ODD_CHARS) : rng.pick(vocab))).join(' ');
}

/** A hostile prompt and whether it must be refused (and why), for parsers that apply the prompt rules. */
export function hostilePrompt(rng: Prng): { prompt: string; refusal?: 'empty' | 'length' | 'control' } {
  switch (rng.int(0, 6)) {
    case 0:
      return { prompt: `${words(rng)} a${rng.pick(FORBIDDEN_CHARS)}b ${words(rng)}`, refusal: 'control' };
    case 1:
      return { prompt: 'x'.repeat(rng.int(2001, 100_000)), refusal: 'length' };
    case 2:
      return { prompt: rng.pick(['', ' ', '\n\t ', '   \n']), refusal: 'empty' };
    case 3:
      // Inside the text: at the ends, the whitespace-like controls (\v, \f, \r) are trimmed away, which is fine.
      return { prompt: `a${rng.pick(FORBIDDEN_CHARS).repeat(rng.int(1, 50))}a`, refusal: 'control' };
    default:
      return { prompt: words(rng) };
  }
}

/** Links that must never be fetched by the bot or passed on: private networks (every spelling) and non-http schemes. */
export const PRIVATE_LINKS = [
  'http://127.0.0.1/a.png',
  'http://127.1/a.png',
  'http://2130706433/a.png',
  'http://0x7f000001/a.png',
  'http://0177.0.0.1/a.png',
  'http://017700000001/a.png',
  'http://0x7f.0.0.1/a.png',
  'http://10.0.0.1/a.png',
  'http://10.255.255.255:8080/a.png',
  'http://172.16.3.4/a.png',
  'http://192.168.1.1/a.png',
  'http://169.254.169.254/latest/meta-data/',
  'http://0.0.0.0/a.png',
  'http://0/a.png',
  'http://[::1]/a.png',
  'http://[::]/a.png',
  'http://[::ffff:127.0.0.1]/a.png',
  'http://[::ffff:7f00:1]/a.png',
  'http://[::ffff:a9fe:a9fe]/a.png',
  'http://[::127.0.0.1]/a.png',
  'http://[64:ff9b::a9fe:a9fe]/a.png',
  'http://[2002:a00:1::]/a.png',
  'http://[fe80::1]/a.png',
  'http://[fd00::1]/a.png',
  'https://localhost/a.png',
  'https://LOCALHOST./a.png',
  'https://evil.localhost/a.png',
  'http://100.64.0.1/a.png',
  'http://224.0.0.1/a.png',
];

/** Links that are not http(s) at all. */
export const NON_HTTP_LINKS = [
  'file:///etc/passwd',
  'ftp://example.com/a.png',
  'data:text/html,<script>alert(1)</script>',
  'data:text/html;base64,PHNjcmlwdD4=',
  'javascript:alert(1)',
  'gopher://example.com/',
  'ws://example.com/a.png',
  'mailto:a@example.com',
  'about:blank',
  '//example.com/a.png',
  'example.com/a.png',
  'not a link',
  'https://user:pass@example.com/a.png',
];

/** A value of a random wrong type or out of any sane range. */
export function garbageValue(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => -1,
    () => 1e308,
    () => -0,
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () => 2 ** 53 + 1,
    () => 0.5,
    () => rng.int(-1e9, 1e9),
    () => '12',
    () => '',
    () => 'NaN',
    () => true,
    () => null,
    () => [],
    () => [1, 2],
    () => ({}),
    () => ({ toString: 'x' }),
    () => 'x'.repeat(rng.int(1, 5000)),
    () => rng.pick(FORBIDDEN_CHARS),
  ])();
}

/** Typed option text for Slack's `key:value` syntax: a key (sometimes unknown), a value (often garbage). */
export function garbageOptionText(rng: Prng, keys: readonly string[]): string {
  const key = rng.chance(0.85) ? rng.pick(keys) : rng.pick(['colour', 'x', 'prompt', 'PROMPT', '__proto__', 'constructor', 'toString', 'a-b']);
  const value = rng.pick<() => string>([
    () => String(rng.int(-1e6, 1e7)),
    () => String(rng.next() * 1e3 - 100),
    () => rng.pick(['NaN', 'Infinity', '-0', '1e308', '0x10', '1_000', '٣', '12abc', '', '""', 'true', 'maybe', 'flux-9', '7:3', 'gif']),
    () => rng.pick([...PRIVATE_LINKS, ...NON_HTTP_LINKS]),
    () => `"${words(rng, 4)}"`,
    () => 'y'.repeat(rng.int(1, 3000)),
  ])();
  return `${key}:${value}`;
}
