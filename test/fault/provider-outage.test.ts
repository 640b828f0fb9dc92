import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../src/core/core.js';
import { FalFake } from '../fakes/fal-fake.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL, silentLogger } from '../helpers/core.js';
import { OutageProxy } from '../helpers/outage-proxy.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

const JOBS = 5;
let replicate: ReplicateFake;
let proxy: OutageProxy;
let fal: FalFake;
let deployment: SlackDeployment | undefined;

beforeEach(async () => {
  replicate = await ReplicateFake.start({ latencyMs: 100 });
  proxy = await OutageProxy.start(replicate.url);
  fal = await FalFake.start({ latencyMs: 100 });
});
afterEach(async () => {
  if (deployment) {
    await deployment.close();
    await dropPrefix(deployment.prefix);
    deployment = undefined;
  }
  await proxy.close();
  await replicate.close();
  await fal.server.close();
  await fal.decoy.close();
});

const replicateEnv = () => ({ REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: `${proxy.url}${replicate.basePath}` });
const creates = () => proxy.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/predictions'));
/**
 * Looks for an earlier prediction of the job (`GET /predictions`): after a create that failed (it may have gone through)
 * and before every later try's create. With the list down too, a try ends there rather than risk paying twice, so
 * during a whole outage a job creates once and then only looks.
 */
const lookups = () => proxy.calls.filter((c) => c.method === 'GET' && /\/predictions(\?|$)/.test(c.path));

async function start(env: Record<string, string>) {
  deployment = await SlackDeployment.start(env);
  await deployment.add('all');
  return deployment;
}

async function submitAll(d: SlackDeployment) {
  for (let i = 0; i < JOBS; i++) expect((await d.flux(i, `outage-${i} a lighthouse`)).ok).toBe(true);
}

/** Today's usage summed over the people who asked. */
async function usage(d: SlackDeployment): Promise<{ usedToday: number; inFlight: number }> {
  const core = new FluxbotCore({ redisUrl: REDIS_URL, logger: silentLogger, prefix: d.prefix, quotas: { dailyPerUser: 1000, concurrentPerUser: 100, dailyPerGuild: 10_000, concurrentPerGuild: 1000 } });
  try {
    await core.ready();
    const views = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => core.admin.userView(`slack:${d.slack.config.teamId}:U0USER${i}`, `slack:${d.slack.config.teamId}`)),
    );
    return { usedToday: views.reduce((n, v) => n + v.usedToday, 0), inFlight: views.reduce((n, v) => n + v.inFlight, 0) };
  } finally {
    await core.close(1000);
  }
}

describe('provider outage (the Replicate fake answers 503 behind a proxy)', () => {
  it('fails over to the next provider (fal) after the retries on the first; each job delivered once and charged once', async () => {
    proxy.down = true;
    const d = await start({ ...replicateEnv(), FAL_KEY: fal.key, FAL_QUEUE_URL: fal.url, PROVIDERS: 'replicate,fal', RETRY_ATTEMPTS: '2', RETRY_BASE_MS: '100' });
    await submitAll(d);
    await d.delivered(JOBS);
    for (let i = 0; i < JOBS; i++) expect(d.imagesTagged(`outage-${i} `)).toHaveLength(1);
    // Each job tried Replicate twice (RETRY_ATTEMPTS) before fal made its image: one create, then a look for it on each
    // try (the list was down too, so the second try created nothing).
    expect(creates()).toHaveLength(JOBS);
    expect(creates().every((c) => c.status === 503)).toBe(true);
    expect(lookups()).toHaveLength(2 * JOBS);
    expect(lookups().every((c) => c.status === 503)).toBe(true);
    expect(fal.created).toBe(JOBS);
    await expect.poll(() => usage(d), { timeout: 10_000 }).toEqual({ usedToday: JOBS, inFlight: 0 });
  });

  it('rides out an outage shorter than the retry budget: jobs retried, then delivered once it is back', async () => {
    proxy.down = true;
    const d = await start({ ...replicateEnv(), RETRY_ATTEMPTS: '10', RETRY_BASE_MS: '150' });
    await submitAll(d);
    // Down until every job has been refused at least twice (its create, then its looks for an earlier prediction).
    await d.slack.until(() => creates().length >= JOBS && lookups().length >= 2 * JOBS, 30_000, 'refused tries');
    expect(d.images()).toHaveLength(0);
    proxy.down = false;
    await d.delivered(JOBS);
    for (let i = 0; i < JOBS; i++) expect(d.imagesTagged(`outage-${i} `)).toHaveLength(1);
    expect(replicate.created).toBe(JOBS);
    expect(d.threadTexts().filter((t) => t.includes('no image this time'))).toEqual([]);
    await expect.poll(() => usage(d), { timeout: 10_000 }).toEqual({ usedToday: JOBS, inFlight: 0 });
  });

  it('refunds the quota and tells each person why when the only provider stays down past the retry budget', async () => {
    proxy.down = true;
    const d = await start({ ...replicateEnv(), RETRY_ATTEMPTS: '3', RETRY_BASE_MS: '100' });
    await submitAll(d);
    await d.slack.until(() => d.threadTexts().filter((t) => t.includes('no image this time')).length >= JOBS, 30_000, 'failure notices');
    expect(creates()).toHaveLength(JOBS);
    expect(lookups()).toHaveLength(3 * JOBS);
    expect(d.images()).toHaveLength(0);
    for (let i = 0; i < JOBS; i++) expect(d.threadTexts().filter((t) => t.startsWith(`<@U0USER${i}> no image this time`))).toHaveLength(1);
    await expect.poll(() => usage(d), { timeout: 10_000 }).toEqual({ usedToday: 0, inFlight: 0 });
  });
});
