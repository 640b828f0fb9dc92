/**
 * Shortening text for platforms with length limits. Cutting with `.slice()` can split a surrogate pair (an emoji) or
 * a grapheme cluster (a flag, a family emoji, a letter with a combining accent); half a surrogate pair is not valid
 * UTF-16, and Slack's client then throws "URI malformed" while encoding the request. These cut on whole grapheme
 * clusters only.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The longest prefix of `text` made of whole grapheme clusters whose length (UTF-16 code units, which is how Slack
 * and Discord count) is at most `max`.
 */
export function cutGraphemes(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    if (index + segment.length > max) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/** `text` itself when it fits in `max` code units, else whole graphemes followed by `ellipsis`, `max` at most in all. */
export function truncate(text: string, max: number, ellipsis = '…'): string {
  if (text.length <= max) return text;
  if (max <= ellipsis.length) return cutGraphemes(text, max);
  return `${cutGraphemes(text, max - ellipsis.length)}${ellipsis}`;
}
