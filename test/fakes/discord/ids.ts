import { randomBytes } from 'node:crypto';

/** Discord's epoch (2015-01-01), the zero of every snowflake's timestamp. */
const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;

/**
 * A fresh, valid snowflake: discord.js derives `createdAt` from ids, so they must carry a real timestamp.
 * Ids rise strictly within the process, as Discord's do for one worker.
 */
export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  const id = ((BigInt(Math.round(at)) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment;
  return id.toString();
}

/** An opaque url-safe token, shaped like an interaction token. */
export function interactionToken(): string {
  return `aW50ZXJhY3Rpb246${randomBytes(40).toString('base64url')}`;
}
