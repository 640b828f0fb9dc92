/**
 * Where the bot's keys live on a Redis Cluster (issue 14). A key's slot is the CRC16 of its hash tag (the first
 * `{…}`), so the layout follows what must be atomic:
 *
 * - In the prefix's own tag (`{fluxbot}:…`, one slot): BullMQ's queue and everything the admission, release and
 *   reconcile scripts touch (quota counters, reservations, the subjects set, dedupe keys, the audit stream), the
 *   provider limiter and the webhook secret. A Lua script may touch any of them together.
 * - Under a tag of their own (`fluxbot:r:{discord:123…}`, spread over every slot): what is written or read for one
 *   job, message, person or image: reroll records, histories, stashed images, stored inputs, cancel flags, webhook
 *   records, and the adapters' per-message keys. These are the bulk of what the bot stores (30 days of records), and
 *   no script writes them together with the queue's keys (see queue/step-writes.ts for the order that replaces that).
 *
 * Spread keys start with the prefix's name without its braces (`{fluxbot}` → `fluxbot`, `{fb-staging}x` →
 * `fb-stagingx`), so two bots on one Redis keep apart and the prefix's tag is not reused; then a short kind (key
 * names are part of every retained image's bytes) and the tag, which is the id itself: no hash to store, and CRC16
 * spreads ids well. Ids never contain braces (snowflakes, Slack timestamps, job ids, hex hashes); one that did would
 * still map to one fixed slot.
 */
export class SpreadKeys {
  /** The prefix's name without braces: the start of every spread key. */
  readonly name: string;

  constructor(readonly prefix: string) {
    this.name = spreadName(prefix);
  }

  /** `<name>:<kind>:{<tag>}` and, when given, `:<rest>` (outside the tag: keys of one tag share a slot). */
  key(kind: string, tag: string, rest?: string): string {
    return rest === undefined ? `${this.name}:${kind}:{${tag}}` : `${this.name}:${kind}:{${tag}}:${rest}`;
  }

  /** The pattern that matches every spread key (for SCAN on each master). */
  get pattern(): string {
    return `${this.name}:*`;
  }
}

/** The prefix without its braces: `{fluxbot}` → `fluxbot`. */
export function spreadName(prefix: string): string {
  return prefix.replace(/[{}]/g, '');
}

/** The kinds of spread keys (short: they are part of every key's bytes). */
export const SPREAD = {
  record: 'r',
  history: 'h',
  image: 'i',
  input: 'in',
  canceled: 'c',
  hook: 'hook',
  hookSeen: 'hook-seen',
  rerollTold: 'rt',
  pick: 'pick',
  web: 'web',
} as const;
