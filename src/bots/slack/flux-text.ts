import { FLUX_OPTIONS, IMAGE_SLOTS, isNumberedImageSlot } from '../../commands/flux.js';
import type { CommandOption } from '../../commands/definition.js';
import { truncate } from '../../core/text.js';
import { badValueText, unknownOptionText } from './slack-text.js';

/** An image prompt that lives in Slack (private): resolved with the bot token after the ack. */
export interface SlackFileRef {
  fileId: string;
}

/** One reference image as a person gave it on Slack: a link (fetched and checked at admission), or a Slack file. */
export type ImageEntry = { link: string } | SlackFileRef;

export type ParsedFluxText =
  | { kind: 'help' }
  | { kind: 'request'; input: Record<string, unknown>; slackFile?: SlackFileRef; images?: ImageEntry[] }
  | { kind: 'error'; text: string };

/**
 * The /flux options as Slack offers them: Discord's numbered image slots (`image_2` …) are one repeatable `image:`
 * here (they are still read, as more images in the order written, for people used to Discord).
 */
export const SLACK_FLUX_OPTIONS = FLUX_OPTIONS.filter((o) => !isNumberedImageSlot(o.name));

/** Options a person may write as `key:value`: every /flux option but the prompt, which is the free text. */
const KEYED = new Map(FLUX_OPTIONS.filter((o) => o.name !== 'prompt').map((o) => [o.name, o]));
const IMAGE_KEYS: ReadonlySet<string> = new Set(IMAGE_SLOTS);

/** `key:value` with a lowercase key; `https://…` is not an option but a link in the prompt. */
const OPTION_TOKEN = /^([a-z][a-z0-9_-]*):(?!\/\/)([\s\S]*)$/i;
/** Double quotes only (apostrophes occur in prompts); Slack clients may turn them into curly ones. */
const QUOTES: Record<string, string> = { '"': '"', '“': '”', '”': '”', '„': '“' };

/**
 * Parses `/flux` text: free text is the prompt, `key:value` tokens are options (generated from FLUX_OPTIONS), values
 * with spaces in quotes (`key:"a b"`). Returns a specific error for an unknown key or a bad value, so the person sees
 * exactly what to fix; nothing is submitted unless everything parses.
 */
export function parseFluxText(raw: string): ParsedFluxText {
  const text = unescapeSlack(raw).trim();
  if (text === '' || /^help$/i.test(text)) return { kind: 'help' };
  const tokens = tokenize(text);
  if ('error' in tokens) return { kind: 'error', text: tokens.error };

  const prompt: string[] = [];
  const input: Record<string, unknown> = {};
  let slackFile: SlackFileRef | undefined;
  const images: ImageEntry[] = [];
  for (const token of tokens) {
    const match = token.quoted ? null : OPTION_TOKEN.exec(token.text);
    if (!match) {
      prompt.push(token.text);
      continue;
    }
    const key = match[1]!.toLowerCase().replace(/-/g, '_');
    const option = KEYED.get(key);
    if (!option) return { kind: 'error', text: unknownOptionText(key, SLACK_FLUX_OPTIONS) };
    if (IMAGE_KEYS.has(key)) {
      // `image:` is repeatable: each one adds a reference image, in the order written.
      const entry = imageEntry(option, token.valueText ?? match[2]!);
      if ('error' in entry) return { kind: 'error', text: entry.error };
      images.push(entry);
      continue;
    }
    const field = key === 'image_prompt_url' ? 'image_prompt' : key;
    if (field in input || (field === 'image_prompt' && slackFile)) {
      return { kind: 'error', text: `\`${field}\` is given twice (image_prompt and image_prompt_url are the same option).` };
    }
    const value = token.valueText ?? match[2]!;
    const converted = convert(option, value);
    if ('error' in converted) return { kind: 'error', text: converted.error };
    if (converted.slackFile) slackFile = converted.slackFile;
    else input[field] = converted.value;
  }
  input.prompt = prompt.join(' ');
  return { kind: 'request', input, ...(slackFile ? { slackFile } : {}), ...(images.length > 0 ? { images } : {}) };
}

/** One `image:` value: an http(s) link, or a Slack file by id or link. */
export function imageEntry(option: CommandOption, value: string): ImageEntry | { error: string } {
  const v = value.trim();
  if (v === '') return { error: badValueText(option, `\`${option.name}\` has no value`) };
  const fileId = slackFileId(v);
  if (fileId) return { fileId };
  if (!/^https?:\/\//i.test(v)) return { error: badValueText(option, `\`${v}\` is not a link`) };
  return { link: v };
}

type Converted = { value: unknown; slackFile?: undefined } | { slackFile: SlackFileRef; value?: undefined } | { error: string };

/** Turns one option's text into the type FluxRequestInput expects, checking ranges and choices from the definition. */
export function convert(option: CommandOption, value: string): Converted {
  const v = value.trim();
  if (v === '') return { error: badValueText(option, `\`${option.name}\` has no value`) };
  if (option.choices) {
    const choice = option.choices.find((c) => c.toLowerCase() === v.toLowerCase());
    return choice === undefined ? { error: badValueText(option, `\`${v}\` is not a valid ${option.name}`) } : { value: choice };
  }
  switch (option.type) {
    case 'integer':
    case 'number': {
      const n = Number(v);
      const shape = option.type === 'integer' ? /^[-+]?\d+$/ : /^[-+]?(\d+\.?\d*|\.\d+)$/;
      const inRange = (option.min === undefined || n >= option.min) && (option.max === undefined || n <= option.max);
      if (!shape.test(v) || !Number.isFinite(n) || !inRange) return { error: badValueText(option, `\`${v}\` is not valid for ${option.name}`) };
      return { value: n };
    }
    case 'boolean': {
      const lower = v.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(lower)) return { value: true };
      if (['false', 'no', 'off', '0'].includes(lower)) return { value: false };
      return { error: badValueText(option, `\`${v}\` is not valid for ${option.name}`) };
    }
    case 'attachment':
    case 'string': {
      if (option.name !== 'image_prompt' && option.name !== 'image_prompt_url') return { value: v };
      const fileId = slackFileId(v);
      if (fileId) return { slackFile: { fileId } };
      if (!/^https?:\/\//i.test(v)) return { error: badValueText(option, `\`${v}\` is not a link`) };
      return { value: v };
    }
    default:
      return { value: v };
  }
}

/**
 * A Slack file named by id (`F0123ABCD`), by its private URL (`…/files-pri/T…-F…/…`) or by its permalink
 * (`https://team.slack.com/files/U…/F…/name`). Such files need the bot token, so they are downloaded by the bot.
 */
export function slackFileId(value: string): string | undefined {
  if (/^F[A-Z0-9]{6,}$/.test(value)) return value;
  const privateUrl = /\/files-pri\/[A-Z0-9]+-(F[A-Z0-9]+)(?:\/|$)/.exec(value);
  if (privateUrl) return privateUrl[1];
  const permalink = /^https:\/\/[a-z0-9-]+\.slack\.com\/files\/[A-Z0-9]+\/(F[A-Z0-9]+)(?:\/|$)/.exec(value);
  return permalink?.[1];
}

interface Token {
  text: string;
  quoted: boolean;
  /** For `key:"quoted value"`, the value without its quotes. */
  valueText?: string;
}

/** Splits on whitespace, keeping quoted runs together (`"a b"` and `key:"a b"`), straight or curly quotes. */
function tokenize(text: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const open = text[i]!;
    if (open in QUOTES) {
      const end = text.indexOf(QUOTES[open]!, i + 1);
      if (end < 0) return { error: unclosedQuote(text.slice(i)) };
      tokens.push({ text: text.slice(i + 1, end), quoted: true });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!)) {
      const c = text[j]!;
      // key:"value with spaces": the quote starts right after the first colon.
      if (c in QUOTES && j > i && text[j - 1] === ':' && OPTION_TOKEN.test(text.slice(i, j))) {
        const end = text.indexOf(QUOTES[c]!, j + 1);
        if (end < 0) return { error: unclosedQuote(text.slice(i)) };
        tokens.push({ text: text.slice(i, end + 1), quoted: false, valueText: text.slice(j + 1, end) });
        j = end + 1;
        i = j;
        break;
      }
      j++;
    }
    if (i !== j) {
      tokens.push({ text: text.slice(i, j), quoted: false });
      i = j;
    }
  }
  return tokens;
}

/** The start of the text from an unclosed quote on, cut on whole characters. */
function unclosedQuote(rest: string): string {
  return `A quote is not closed: ${truncate(rest, 31)}`;
}

/** Slack escapes `&`, `<`, `>` in command text and may wrap links as `<url>` or `<url|label>`. */
export function unescapeSlack(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
