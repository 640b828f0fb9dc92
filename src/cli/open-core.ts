import { pino } from 'pino';
import type { Config } from '../config.js';
import { FluxbotCore } from '../core/core.js';

/** A core for one CLI command: quiet logging, fail-fast Redis, closed by the caller. */
export async function openCore(config: Config): Promise<FluxbotCore> {
  const core = new FluxbotCore({
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    logger: pino({ level: 'silent' }),
    quotas: {
      dailyPerUser: config.QUOTA_DAILY_PER_USER,
      concurrentPerUser: config.QUOTA_CONCURRENT_PER_USER,
      dailyPerGuild: config.QUOTA_DAILY_PER_GUILD,
      concurrentPerGuild: config.QUOTA_CONCURRENT_PER_GUILD,
    },
    timeZone: config.QUOTA_TIMEZONE,
    retentionDays: config.JOB_RETENTION_DAYS,
  });
  await core.ready(5000);
  return core;
}
