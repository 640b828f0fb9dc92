import { errorText, UNAVAILABLE_TEXT } from '../../commands/replies.js';
import { isFluxError } from '../../core/errors.js';
import { slackError } from './slack-delivery.js';
import { NOT_IN_CHANNEL_TEXT } from './slack-text.js';

/**
 * The one place a fault becomes words for the person: typed errors say what went wrong, Slack's "cannot post here"
 * says how to fix it, and anything else (Redis away, Slack down) is "temporarily unavailable". Never a raw message.
 */
export function userTextFor(err: unknown): string {
  if (isFluxError(err)) return errorText(err);
  const code = slackError(err);
  if (code === 'not_in_channel' || code === 'channel_not_found' || code === 'is_archived') return NOT_IN_CHANNEL_TEXT;
  return UNAVAILABLE_TEXT;
}
