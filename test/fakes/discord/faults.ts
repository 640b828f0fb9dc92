import type { DiscordCall, DiscordRoute } from './http.js';
import type { Reply } from './rules.js';

/** Which requests a fault applies to: a route name, a RegExp tested on `"METHOD /decoded/path"`, or a predicate. */
export type RouteMatcher = DiscordRoute | RegExp | ((call: DiscordCall) => boolean);

/**
 * An injected failure. 429 carries `retryAfter` in seconds (fractions allowed, as in Discord's body), sent both
 * as the `Retry-After` header discord.js reads and as `retry_after` in the body; `global` adds
 * `X-RateLimit-Global`. Any other status answers `{ message, code: 0 }`, or `body` when given.
 */
export type Fault =
  | { status: 429; retryAfter: number; global?: boolean; scope?: 'user' | 'shared' | 'global' }
  | { status: number; body?: unknown };

interface Armed<T> {
  match: RouteMatcher;
  value: T;
  remaining: number;
}

/** Armed faults, delays and connection drops, each consumed by the next matching requests. */
export class FaultBook {
  private failures: Array<Armed<Fault>> = [];
  private delays: Array<Armed<number>> = [];
  private drops: Array<Armed<true>> = [];

  failNext(match: RouteMatcher, fault: Fault, times: number): void {
    this.failures.push({ match, value: fault, remaining: times });
  }

  delayNext(match: RouteMatcher, ms: number, times: number): void {
    this.delays.push({ match, value: ms, remaining: times });
  }

  dropNext(match: RouteMatcher, times: number): void {
    this.drops.push({ match, value: true, remaining: times });
  }

  clear(): void {
    this.failures = [];
    this.delays = [];
    this.drops = [];
  }

  /** Whether to cut this call's connection without an answer (consuming one use of the armed drop). */
  takeDrop(call: DiscordCall): boolean {
    return take(this.drops, call) ?? false;
  }

  /** The reply of the first armed fault matching this call, consuming one use of it. */
  takeFailure(call: DiscordCall): Reply | null {
    const fault = take(this.failures, call);
    return fault === undefined ? null : faultReply(fault);
  }

  /** Milliseconds to hold this call's answer back (0 when no delay is armed for it). */
  takeDelay(call: DiscordCall): number {
    return take(this.delays, call) ?? 0;
  }
}

function take<T>(list: Array<Armed<T>>, call: DiscordCall): T | undefined {
  const armed = list.find((a) => a.remaining > 0 && matches(a.match, call));
  if (!armed) return undefined;
  armed.remaining--;
  return armed.value;
}

export function matches(match: RouteMatcher, call: DiscordCall): boolean {
  if (typeof match === 'string') return call.route === match;
  if (match instanceof RegExp) return match.test(`${call.method} ${call.path}`);
  return match(call);
}

function faultReply(fault: Fault): Reply {
  if ('retryAfter' in fault) {
    const global = fault.global ?? false;
    return {
      status: 429,
      json: { message: 'You are being rate limited.', retry_after: fault.retryAfter, global, code: 0 },
      headers: {
        'retry-after': String(fault.retryAfter),
        'x-ratelimit-scope': fault.scope ?? (global ? 'global' : 'user'),
        ...(global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }
  return { status: fault.status, json: 'body' in fault && fault.body !== undefined ? fault.body : { message: `${fault.status}: fake fault`, code: 0 } };
}
