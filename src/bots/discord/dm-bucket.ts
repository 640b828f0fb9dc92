/**
 * The quota bucket of Discord use outside servers that installed the bot: DMs with the bot, group DMs, and servers
 * where only the person installed it. No server admin owns it: its limits are the operator's (QUOTA_DAILY_PER_DM_USER
 * per person, QUOTA_DAILY_DM for all of it together). People in it are `discord:dm:<user>`.
 */
export const DISCORD_DM_BUCKET = 'dm';

/** The bucket's guild key, as quotas and ALLOWED_GUILDS name it. */
export const DISCORD_DM_BUCKET_KEY = `discord:${DISCORD_DM_BUCKET}`;
