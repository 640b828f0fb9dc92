import { describe, expect, it } from 'vitest';
import { cutGraphemes, truncate } from '../../src/core/text.js';

/** No unpaired surrogate anywhere (what `.slice()` leaves when it cuts an emoji in half). */
function wellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);

const FAMILY = '👨‍👩‍👧‍👦'; // 4 people joined by ZWJ: 11 code units, one character
const FLAG = '🇫🇷'; // two regional indicators: 4 code units
const E_ACUTE = 'e\u0301'; // e + combining acute accent
const THUMBS = '👍🏽'; // emoji + skin tone modifier

describe('grapheme-safe shortening', () => {
  it('keeps text that fits, as is', () => {
    expect(truncate('a lighthouse', 12)).toBe('a lighthouse');
    expect(cutGraphemes('a lighthouse', 12)).toBe('a lighthouse');
    expect(truncate('', 5)).toBe('');
  });

  it('drops an emoji that straddles the limit instead of cutting it in half', () => {
    // 🎨 occupies code units 999 and 1000 (0-based 998–999 would fit; 999–1000 does not).
    const text = `${'a'.repeat(999)}🎨 and more`;
    const cut = cutGraphemes(text, 1000);
    expect(cut).toBe('a'.repeat(999));
    expect(text.slice(0, 1000).endsWith('\uD83C')).toBe(true); // what a plain slice would have left
    const shortened = truncate(text, 1000);
    expect(shortened).toBe(`${'a'.repeat(999)}…`);
    expect(shortened.length).toBeLessThanOrEqual(1000);
    expect(wellFormed(shortened)).toBe(true);
  });

  it('keeps an emoji that ends exactly at the limit', () => {
    const text = `${'a'.repeat(998)}🎨 and more`;
    expect(cutGraphemes(text, 1000)).toBe(`${'a'.repeat(998)}🎨`);
    // With the ellipsis there is room for 999 code units: the emoji no longer fits and goes whole.
    expect(truncate(text, 1000)).toBe(`${'a'.repeat(998)}…`);
  });

  it('never splits a flag, a ZWJ family, a skin tone or a combining mark', () => {
    for (const cluster of [FLAG, FAMILY, E_ACUTE, THUMBS]) {
      const text = `abc${cluster}${cluster}xyz`;
      for (let max = 0; max <= text.length; max++) {
        const cut = cutGraphemes(text, max);
        expect(cut.length).toBeLessThanOrEqual(max);
        expect(wellFormed(cut)).toBe(true);
        // Whole clusters only: the cut is a prefix made of the text's own characters.
        const parts = graphemes(cut);
        expect(parts).toEqual(graphemes(text).slice(0, parts.length));
        const shortened = truncate(text, max);
        expect(shortened.length).toBeLessThanOrEqual(max);
        expect(wellFormed(shortened)).toBe(true);
      }
    }
    expect(cutGraphemes(`ab${FAMILY}`, 12)).toBe('ab'); // 13 code units in all: the family goes whole
    expect(truncate(`caf${E_ACUTE} au lait`, 5)).toBe('caf…');
  });

  it('stays within very small limits', () => {
    expect(truncate('🎨🎨', 1)).toBe('');
    expect(truncate('🎨🎨', 2)).toBe('…'); // the emoji needs both code units, the ellipsis one
    expect(truncate('abc', 1)).toBe('a');
    expect(cutGraphemes('abc', 0)).toBe('');
    expect(cutGraphemes('abc', -3)).toBe('');
  });

  it('holds on random mixes of clusters for every limit', () => {
    const pieces = ['a', ' ', FLAG, FAMILY, E_ACUTE, THUMBS, '🎨', 'ß', '中'];
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const text = Array.from({ length: 30 }, () => pieces[next() % pieces.length]).join('');
      for (let max = 0; max <= text.length + 1; max++) {
        const shortened = truncate(text, max);
        expect(shortened.length).toBeLessThanOrEqual(max);
        expect(wellFormed(shortened)).toBe(true);
        if (text.length <= max) expect(shortened).toBe(text);
        else expect(text.startsWith(shortened.replace(/…$/, ''))).toBe(true);
      }
    }
  });
});
