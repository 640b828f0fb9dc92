import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UNAVAILABLE_TEXT } from '../../src/commands/replies.js';
import { FluxbotCore } from '../../src/core/core.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { silentLogger } from '../helpers/core.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

const QUEUED = 6;

let redis: PrivateRedis;
let replicate: ReplicateFake;
let deployment: SlackDeployment;

beforeEach(async () => {
  redis = await PrivateRedis.start();
  replicate = await ReplicateFake.start({ latencyMs: 400 });
  deployment = await SlackDeployment.start(
    {
      REPLICATE_API_TOKEN: replicate.token,
      REPLICATE_API_URL: replicate.baseUrl,
      // One generation at a time, so most jobs are still queued when Redis goes away.
      PROVIDER_CONCURRENCY: '1',
      JOB_LOCK_MS: '4000',
    },
    { redisUrl: redis.url },
  );
});
afterEach(async () => {
  await deployment.close();
  await replicate.close();
  await redis.close();
});

async function jobCounts(): Promise<Record<string, number>> {
  const core = new FluxbotCore({ redisUrl: redis.url, logger: silentLogger, prefix: deployment.prefix, quotas: { dailyPerUser: 1, concurrentPerUser: 1, dailyPerGuild: 1, concurrentPerGuild: 1 } });
  try {
    await core.ready();
    return await core.queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized');
  } finally {
    await core.close(1000);
  }
}

describe('Redis loss (own redis-server, AOF on, killed and restarted)', () => {
  it('queued jobs survive; the bot answers "temporarily unavailable" and is not ready meanwhile; workers resume', async () => {
    const bot = await deployment.add('bot');
    const worker = await deployment.add('worker');
    for (let i = 0; i < QUEUED; i++) expect((await deployment.flux(i, `queued-${i} a harbour at night`)).ok).toBe(true);
    // Every command is admitted (a Slack command is acked before it is submitted, so this must be waited for, or the
    // last ones may meet the outage and be rightly refused), the first generation has started, the rest wait.
    await expect.poll(async () => Object.values(await jobCounts()).reduce((a, b) => a + b, 0), { timeout: 15_000 }).toBe(QUEUED);
    await replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 15_000);
    expect(deployment.images().length).toBeLessThan(QUEUED);

    await redis.down();
    await expect.poll(async () => (await bot.readyz()).status, { timeout: 15_000 }).toBe(503);
    expect((await bot.readyz()).checks).toMatchObject({ redis: false, slack: true });
    await expect.poll(async () => (await worker.readyz()).status, { timeout: 15_000 }).toBe(503);

    // A command during the outage gets a clear answer instead of silence, and leaves nothing behind.
    const during = await deployment.flux(7, 'lost-in-outage a harbour at night');
    expect(during.ok).toBe(true);
    await deployment.slack.until(() => deployment.privateTexts().includes(UNAVAILABLE_TEXT), 15_000, 'the unavailable answer');
    expect(bot.exited || worker.exited).toBe(false);

    await redis.up();
    await expect.poll(async () => (await bot.readyz()).status, { timeout: 20_000 }).toBe(200);
    await expect.poll(async () => (await worker.readyz()).status, { timeout: 20_000 }).toBe(200);
    // A job whose moveToActive ran just before the kill but whose reply was lost sits "active" without a worker until
    // its lock expires (JOB_LOCK_MS); then it runs again. Nothing is lost either way.
    await deployment.delivered(QUEUED, 45_000);
    for (let i = 0; i < QUEUED; i++) expect(deployment.imagesTagged(`queued-${i} `), `job ${i}`).toHaveLength(1);

    // The bot takes commands again, and the refused one was never queued.
    expect((await deployment.flux(8, 'after-outage a harbour at night')).ok).toBe(true);
    await deployment.delivered(QUEUED + 1, 30_000);
    expect(deployment.imagesTagged('after-outage')).toHaveLength(1);
    expect(deployment.imagesTagged('lost-in-outage')).toHaveLength(0);
    // Every command was answered: none of the queued ones was mistaken for a duplicate after Redis came back.
    expect(deployment.privateTexts()).toEqual([UNAVAILABLE_TEXT]);
    await expect.poll(jobCounts, { timeout: 10_000 }).toMatchObject({ completed: QUEUED + 1, failed: 0, active: 0, waiting: 0, delayed: 0, prioritized: 0 });
  }, 120_000);
});
