import { DiscordAPIError } from 'discord.js';
import { DeliveryRefused } from '../../core/errors.js';

/** Discord's "Missing Access": the bot cannot see the channel (or was removed from the private thread). */
export const MISSING_ACCESS = 50001;
/** "Missing Permissions": the bot sees the channel but may not do this in it. */
export const MISSING_PERMISSIONS = 50013;
/** "Cannot send messages to this user": their DMs are closed to the bot (privacy settings, a block, no shared server). */
export const CANNOT_DM = 50007;
/** "Interaction has already been acknowledged": another delivery of this interaction was handled. */
export const ALREADY_ACKNOWLEDGED = 40060;
/** A thread already exists on the message (a retried delivery, or a reroll of an image in it). */
export const THREAD_EXISTS = 160004;

/** A Discord JSON error answer, optionally one of `codes`. */
export const isDiscordError = (err: unknown, ...codes: number[]): err is DiscordAPIError =>
  err instanceof DiscordAPIError && (codes.length === 0 || codes.includes(Number(err.code)));

/**
 * Whether Discord refused a request for good: the same request can never succeed, however often it is sent. That is
 * every 4xx answer but two. 429 is a rate limit (discord.js waits it out; if it still surfaces, later works). 401 means
 * Discord did not take the bot's own token: nothing is wrong with this image or this channel, the operator fixes the
 * token and the very same post then works, so it is a fault to retry. Everything else is about the request itself:
 * no access or permission (50001, 50013), the channel or thread gone, archived or locked (10003, 50083, 160005),
 * AutoMod blocking the message (200000), a file too large for the destination (40005), a body Discord cannot accept
 * (50035), DMs closed (50007). 5xx and network errors are faults that may pass.
 */
export function isPermanentRefusal(err: unknown): err is DiscordAPIError {
  return isDiscordError(err) && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401;
}

/** `err` as DeliveryRefused when Discord refused for good (the worker then delivers privately), else as it is. */
export function asDeliveryRefusal(err: unknown): unknown {
  return isPermanentRefusal(err) ? new DeliveryRefused('discord', String(err.code), { cause: err }) : err;
}
