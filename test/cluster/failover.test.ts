import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../src/core/core.js';
import { PriceTable } from '../../src/core/prices.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL, silentLogger } from '../helpers/core.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

/**
 * A master of the Redis Cluster dies (SIGKILL) while jobs are queued and running in real bot and worker processes:
 * its replica takes over, and every job is delivered once, generated once and charged once.
 */

const USERS = 6;
const BEFORE = 12; // two jobs per person, sent before the kill
const AFTER = 2; // sent once the replica has taken over
const TOTAL = BEFORE + AFTER;

let cluster: RedisCluster;
let replicate: ReplicateFake;
let deployment: SlackDeployment;

beforeAll(async () => {
  cluster = await RedisCluster.start();
  // Slow enough that jobs are still running and queued when the master dies.
  replicate = await ReplicateFake.start({ latencyMs: 1500 });
  deployment = await SlackDeployment.start(
    {
      REDIS_CLUSTER_NODES: cluster.setting,
      REPLICATE_API_TOKEN: replicate.token,
      REPLICATE_API_URL: replicate.baseUrl,
      FLUX_MODEL: 'flux-pro',
      WORKER_CONCURRENCY: '2',
      BUDGET_GUILD_MONTHLY_USD: '1000',
    },
    { users: USERS },
  );
}, 60_000);
afterAll(async () => {
  await deployment?.close();
  await replicate?.close();
  if (deployment) await dropPrefix(deployment.prefix, { url: REDIS_URL, clusterNodes: cluster.nodes }).catch(() => undefined);
  await cluster?.close();
});

describe('a master of the cluster dies mid-flight', () => {
  it('its replica takes over: nothing lost, nothing generated, charged or delivered twice', { timeout: 180_000 }, async () => {
    await deployment.add('bot');
    await deployment.add('worker');
    await deployment.add('worker');

    for (let n = 0; n < BEFORE; n++) expect((await deployment.flux(n % USERS, `job-${n} a lighthouse`)).ok).toBe(true);
    await deployment.delivered(1, 30_000);
    // The precondition of the test: work still queued or running when the master goes.
    expect(deployment.images().length).toBeLessThan(BEFORE);

    // The master serving the prefix's hash tag holds every key of this deployment: the queue, quotas, records.
    const master = await cluster.masterOf(deployment.prefix);
    const promoted = await cluster.killMaster(master);
    expect(await cluster.masterOf(deployment.prefix)).toBe(promoted);

    // The bot still takes commands once the replica serves the slot.
    for (let n = BEFORE; n < TOTAL; n++) expect((await deployment.flux(n % USERS, `job-${n} a lighthouse`)).ok).toBe(true);
    await deployment.delivered(TOTAL, 120_000);

    // Every job once: one image each, one upload each, one prediction each (a resumed job follows its prediction).
    for (let n = 0; n < TOTAL; n++) expect(deployment.imagesTagged(`job-${n} `), `job-${n}\n${deployment.describe()}`).toHaveLength(1);
    expect(deployment.images()).toHaveLength(TOTAL);
    expect(deployment.slack.callsTo('files.completeUploadExternal').filter((c) => c.response.ok)).toHaveLength(TOTAL);
    expect(replicate.created).toBe(TOTAL);

    // Charged once each: per person, for the workspace, and in money; nothing left reserved.
    const core = new FluxbotCore({
      redisUrl: REDIS_URL,
      redis: { clusterNodes: cluster.nodes.filter((n) => n.port !== master) },
      logger: silentLogger,
      prefix: deployment.prefix,
      quotas: { dailyPerUser: 1000, concurrentPerUser: 100, dailyPerGuild: 10_000, concurrentPerGuild: 1000 },
    });
    try {
      await core.ready();
      const team = deployment.slack.config.teamId;
      await expect.poll(() => core.quotas.pendingReservations(), { timeout: 10_000 }).toEqual([]);
      for (let u = 0; u < USERS; u++) {
        const expected = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => n % USERS === u).length;
        expect(await core.admin.userView(`slack:${team}:U0USER${u}`, `slack:${team}`), `U0USER${u}`).toMatchObject({ usedToday: expected, inFlight: 0 });
      }
      expect((await core.admin.show({ kind: 'guild', key: `slack:${team}` })).usedToday).toBe(TOTAL);
      const price = new PriceTable().cost('flux-pro', 'replicate', { width: 1024, height: 1024 })!;
      expect((await core.admin.budget(`slack:${team}`)).spentThisMonth).toBe(TOTAL * price);
    } finally {
      await core.close(500);
    }
  });
});
