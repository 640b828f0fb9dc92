import type { FluxError } from '../core/errors.js';
import type { RefusalReason } from '../core/queue/admission.js';
import type { SubmitResult } from '../core/queue/generation-service.js';
import { formatUsd } from '../core/prices.js';

/** A platform-neutral answer: the adapter sends `text` as an ephemeral reply or a normal message. */
export interface Reply {
  text: string;
  ephemeral: boolean;
}

/** Renders a moment in the platform's own markup (Discord `<t:…:R>`, Slack `<!date^…>`), falling back to plain text. */
export type TimeFormatter = (epochMs: number) => string;

export const plainTime: TimeFormatter = (ms) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Why a submission was refused, in plain words: what limit, how many, when it resets. The one place these are worded. */
export function refusalText(
  r: { reason: RefusalReason; limit?: number; used?: number; cost?: number; resetAt?: number; banReason?: string; asked?: number },
  time: TimeFormatter,
): string {
  const resets = r.resetAt === undefined ? '' : ` It resets ${time(r.resetAt)}.`;
  // Budgets: what is left, what this image would cost, when it resets (amounts are micro-dollars).
  const money = (whose: string, period: string) => {
    const limit = r.limit ?? 0;
    const left = Math.max(0, limit - (r.used ?? 0));
    const what = r.asked !== undefined && r.asked > 1 ? `these ${r.asked} images` : 'this image';
    const cost = r.cost === undefined ? '' : ` and ${what} would cost up to ${formatUsd(r.cost)}`;
    return `${whose} ${period} budget of ${formatUsd(limit)} has ${formatUsd(left)} left${cost}.${resets}`;
  };
  // A gallery that does not fit: how many are left, so the person can ask for fewer.
  const fewer = (whose: string) => {
    const left = Math.max(0, (r.limit ?? 0) - (r.used ?? 0));
    return `${whose} ${left} of ${r.limit ?? 0} images left for today, and this asks for ${r.asked}: ask for at most ${left}.${resets}`;
  };
  if (r.asked !== undefined && r.asked > 1 && (r.used ?? 0) < (r.limit ?? 0)) {
    if (r.reason === 'user_daily') return fewer('You have');
    if (r.reason === 'guild_daily') return fewer('This server has');
    if (r.reason === 'global_daily') return fewer('The bot has');
  }
  switch (r.reason) {
    case 'banned':
      return `You are not allowed to generate images on this server${r.banReason ? ` (${r.banReason})` : ''}.`;
    case 'user_daily':
      return `You have used all ${r.limit ?? 0} of your images for today.${resets}`;
    case 'guild_daily':
      return `This server has used all ${r.limit ?? 0} of its images for today.${resets}`;
    case 'global_daily':
      return `The bot has made all ${r.limit ?? 0} images its operator allows per day, across every server.${resets}`;
    case 'not_allowed':
      return 'This bot is not enabled for this server or workspace: its operator allows only some (ALLOWED_GUILDS).';
    case 'user_concurrent':
      return `You already have ${r.used ?? r.limit ?? 0} image${(r.used ?? 0) === 1 ? '' : 's'} in progress (the limit is ${r.limit ?? 0}). Try again when one is done.`;
    case 'guild_concurrent':
      return `This server already has ${r.used ?? r.limit ?? 0} images in progress (the limit is ${r.limit ?? 0}). Try again in a moment.`;
    case 'user_budget':
      return money('Your', 'daily');
    case 'guild_budget':
      return money("This server's", 'monthly');
    case 'global_budget':
      return money("The bot operator's", 'monthly (across every server)');
  }
}

/** The status line for a submission. */
export function submitText(result: SubmitResult, time: TimeFormatter): Reply {
  switch (result.status) {
    case 'queued':
      return { text: result.position > 0 ? `Queued — ${result.position} ahead of you.` : 'Queued — starting shortly.', ephemeral: false };
    case 'duplicate':
      return { text: 'This request is already being worked on.', ephemeral: true };
    case 'refused':
      return { text: refusalText(result, time), ephemeral: true };
  }
}

/** A typed error as a person should read it. Never includes keys, URLs or provider bodies. */
export function errorText(error: FluxError): string {
  return error.userMessage;
}

export const UNAVAILABLE_TEXT = 'The bot is temporarily unavailable. Please try again in a minute.';
