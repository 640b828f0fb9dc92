import { errorText, UNAVAILABLE_TEXT } from '../../commands/replies.js';
import { DeliveryRefused, isFluxError } from '../../core/errors.js';
import { NOT_IN_CHANNEL_TEXT } from './slack-text.js';

/** The Slack error code of a Web API platform error (`already_reacted`, `not_in_channel`, …). */
export function slackError(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * Slack answers that asking again cannot change: the conversation refuses the bot (not a member, archived, deleted,
 * posting restricted), the person cannot be messaged, the token or its scopes are not good enough (an operator must
 * act), or the call itself is malformed. Everything else (5xx, timeouts, rate limits, `internal_error`) may pass.
 */
const REFUSALS: ReadonlySet<string> = new Set([
  // The conversation.
  'not_in_channel',
  'is_archived',
  'channel_not_found',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'cannot_reply_to_message',
  'messages_tab_disabled',
  'ekm_access_denied',
  'team_access_not_granted',
  'slack_connect_file_upload_sharing_blocked',
  // The person (conversations.open).
  'user_not_found',
  'user_not_visible',
  'user_disabled',
  'cannot_dm_bot',
  // The token.
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'access_denied',
  // The call.
  'invalid_arguments',
  'invalid_form_data',
  'invalid_blocks',
  'msg_too_long',
]);

/** `err` as a DeliveryRefused when Slack refused for good (see REFUSALS), else undefined (a fault that may pass). */
export function refusalOf(err: unknown): DeliveryRefused | undefined {
  if (err instanceof DeliveryRefused) return err;
  const code = slackError(err);
  return code !== undefined && REFUSALS.has(code) ? new DeliveryRefused('slack', code, { cause: err }) : undefined;
}

/** Runs a Web API step of a delivery; a refusal for good comes out as DeliveryRefused (never retried). */
export async function refusing<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw refusalOf(err) ?? err;
  }
}

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
