import { DISCORD_DM_BUCKET_KEY } from './bots/discord/dm-bucket.js';
import { redisTarget, type Config } from './config.js';
import type { CoreOptions } from './core/core.js';
import { PriceTable } from './core/prices.js';
import type { Logger } from './logger.js';

/** The core's settings from the app config: one mapping for the app (main.ts) and the operator CLI. */
export function coreOptions(config: Config, logger: Logger): CoreOptions {
  return {
    redisUrl: config.REDIS_URL,
    // REDIS_CLUSTER_NODES (when set, every connection is a Cluster client), REDIS_USERNAME/PASSWORD/TLS for both modes.
    redis: redisTarget(config),
    prefix: config.REDIS_PREFIX,
    logger,
    quotas: {
      dailyPerUser: config.QUOTA_DAILY_PER_USER,
      concurrentPerUser: config.QUOTA_CONCURRENT_PER_USER,
      dailyPerGuild: config.QUOTA_DAILY_PER_GUILD,
      concurrentPerGuild: config.QUOTA_CONCURRENT_PER_GUILD,
      dailyTotal: config.QUOTA_DAILY_TOTAL,
      maxDailyPerGuild: config.QUOTA_MAX_DAILY_PER_GUILD,
      maxGrant: config.QUOTA_MAX_GRANT,
      monthlyBudget: config.BUDGET_MONTHLY_USD,
      guildMonthlyBudget: config.BUDGET_GUILD_MONTHLY_USD,
      personDailyBudget: config.BUDGET_PERSON_DAILY_USD,
      buckets: { [DISCORD_DM_BUCKET_KEY]: { dailyPerUser: config.QUOTA_DAILY_PER_DM_USER, dailyPerGuild: config.QUOTA_DAILY_DM } },
    },
    allowedGuilds: config.ALLOWED_GUILDS,
    timeZone: config.QUOTA_TIMEZONE,
    retentionDays: config.JOB_RETENTION_DAYS,
    prices: new PriceTable(config.PRICE_OVERRIDES),
    pricedProviders: config.PROVIDERS,
    memberLinkGuard: { allowPrivate: config.ALLOW_PRIVATE_URLS },
    editModel: config.FLUX_EDIT_MODEL,
    routing: { PROVIDER_ROUTING: config.PROVIDER_ROUTING, COG_MODEL: config.COG_MODEL },
  };
}
