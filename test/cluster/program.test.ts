import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../src/core/core.js';
import { probeRedis } from '../../src/redis-check.js';
import { dropPrefix, fluxRequest, person, silentLogger, target, testPrefix } from '../helpers/core.js';
import { freePort } from '../helpers/private-redis.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { cleanEnv, fluxbotCli, REPO, runToEnd } from '../helpers/run-program.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';
import { join } from 'node:path';

/**
 * The program itself on a Redis Cluster: `npm start` and the operator CLI configured with REDIS_CLUSTER_NODES (and
 * REDIS_PASSWORD), the start-up probe's one-line errors, and a setting that is not host:port.
 */

const PASSWORD = 'cluster-secret-123';
let cluster: RedisCluster;
let core: FluxbotCore;
const prefix = testPrefix('cluster-program');

beforeAll(async () => {
  // A cluster that wants a password: every connection (discovered nodes, BullMQ's duplicates) must carry it.
  cluster = await RedisCluster.start({ password: PASSWORD });
  core = new FluxbotCore({
    redisUrl: 'redis://127.0.0.1:1', // never used: the cluster's nodes are
    redis: { clusterNodes: cluster.nodes, password: PASSWORD },
    logger: silentLogger,
    prefix,
    quotas: { dailyPerUser: 100, concurrentPerUser: 20, dailyPerGuild: 1000, concurrentPerGuild: 100 },
  });
  await core.ready();
}, 60_000);
afterAll(async () => {
  await core?.close(500);
  if (cluster) await dropPrefix(prefix, core.target);
  await cluster?.close();
});

const clusterEnv = () => ({ REDIS_CLUSTER_NODES: cluster.setting, REDIS_PASSWORD: PASSWORD, REDIS_PREFIX: prefix });

describe('the start-up probe on a cluster', () => {
  it('answers ok with the password; without it, says which setting wants it', async () => {
    expect(await probeRedis({ url: 'redis://127.0.0.1:1', clusterNodes: cluster.nodes, password: PASSWORD })).toEqual({ ok: true });
    expect(await probeRedis({ url: 'redis://127.0.0.1:1', clusterNodes: cluster.nodes })).toEqual({
      ok: false,
      reason: 'it wants a password: put it in REDIS_PASSWORD',
    });
  });

  it('a cluster that does not answer: one line naming REDIS_CLUSTER_NODES, exit 1 within seconds, no private Redis', { timeout: 60_000 }, async () => {
    const [a, b] = [await freePort(), await freePort()];
    // Playground mode and a loopback REDIS_URL, where a private redis-server would be started were it REDIS_URL's turn.
    const r = await runToEnd(process.execPath, [join(REPO, 'bin/start.js')], {
      env: cleanEnv({ REDIS_CLUSTER_NODES: `127.0.0.1:${a},127.0.0.1:${b}`, REDIS_URL: `redis://127.0.0.1:${a}`, HTTP_PORT: '0' }),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `fluxbot: no Redis Cluster answered at 127.0.0.1:${a},127.0.0.1:${b} (REDIS_CLUSTER_NODES; no node answered): check that the nodes run and form one cluster (redis-cli --cluster check host:port), or unset REDIS_CLUSTER_NODES to use the single Redis at REDIS_URL.`,
    ]);
    expect((await probeRedis(`redis://127.0.0.1:${a}`, 500)).ok).toBe(false);
  });

  it('a single Redis named as a cluster node: says it is not in cluster mode', async () => {
    // The shared Redis on 6379 runs without cluster mode; the probe only asks it CLUSTER questions.
    const probe = await probeRedis({ url: 'redis://127.0.0.1:1', clusterNodes: [{ host: '127.0.0.1', port: 6379 }] });
    expect(probe).toEqual({ ok: false, reason: 'these nodes are not in cluster mode (cluster-enabled no): use REDIS_URL for a single Redis' });
  });

  it('a node that is not host:port stops the start, naming the setting', { timeout: 60_000 }, async () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'redis://127.0.0.1:7000']) {
      const r = await runToEnd(process.execPath, [join(REPO, 'bin/start.js')], { env: cleanEnv({ REDIS_CLUSTER_NODES: `127.0.0.1:7000,${bad}`, HTTP_PORT: '0' }), timeoutMs: 30_000 });
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(`REDIS_CLUSTER_NODES: "${bad}" is not host:port (e.g. 10.0.0.5:6379)`);
    }
  });
});

describe('the program on a cluster', () => {
  it('a bot and a worker process (ROLE=bot, ROLE=worker) on the cluster take a Slack /flux to its image', { timeout: 90_000 }, async () => {
    const deployment = await SlackDeployment.start({ ...clusterEnv(), REDIS_PREFIX: testPrefix('cluster-deploy'), REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const bot = await deployment.add('bot');
      await deployment.add('worker');
      // Ready means every master answered and the cluster is ok.
      expect(await bot.readyz()).toMatchObject({ status: 200, checks: { redis: true } });
      expect(bot.logs.find((l) => l.msg === 'fluxbot starting')?.redis).toBe(`cluster ${cluster.setting}`);
      expect((await deployment.flux(0, 'tag-one a lighthouse')).ok).toBe(true);
      await deployment.delivered(1, 30_000);
      expect(deployment.imagesTagged('tag-one')).toHaveLength(1);
      // Metrics read the queue-wide numbers from the cluster (BullMQ's getters, CLIENT LIST on every node).
      const metrics = await (await fetch(`http://127.0.0.1:${bot.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^fluxbot_queue_stats_up 1$/m);
    } finally {
      await deployment.close();
      await dropPrefix(deployment.prefix, core.target);
    }
  });

  it('the operator CLI sets, grants, bans, shows and lists jobs on the cluster', { timeout: 120_000 }, async () => {
    const cli = async (...args: string[]) => {
      const r = await fluxbotCli([...args, '--json'], clusterEnv());
      expect(r.code, `${args.join(' ')}: ${r.stderr} ${r.stdout} ${r.ms}`).toBe(0);
      return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    expect((await cli('quota', 'set', '--user', 'discord:g1:carl', '--daily', '1'))[0]).toMatchObject({ daily: { value: 1, overridden: true } });
    expect((await cli('quota', 'grant', '--user', 'discord:g1:carl', '--amount', '2'))[0]).toEqual({ grantBalance: 2 });
    await cli('quota', 'ban', '--user', 'discord:g1:dora', '--reason', 'spam');
    // The bot's own services see the CLI's changes.
    expect(await core.service.submit(fluxRequest(), person('dora'), target, { dedupeKey: 'dora-1' })).toMatchObject({ status: 'refused', reason: 'banned' });
    expect((await core.admin.show({ kind: 'user', key: 'discord:g1:carl' })).daily).toMatchObject({ value: 1, overridden: true });
    expect((await cli('quota', 'show', '--user', 'discord:g1:dora'))[0]).toMatchObject({ banned: { reason: 'spam' } });
    expect((await cli('quota', 'audit', '--limit', '3')).map((a) => a.action)).toEqual(['ban', 'grant', 'set_limits']);

    const queued = await core.service.submit(fluxRequest({ prompt: 'listed' }), person('erik'), target, { dedupeKey: 'erik-1' });
    if (queued.status !== 'queued') throw new Error('not queued');
    const listed = await cli('jobs', 'list');
    expect(listed.map((j) => j.id)).toContain(queued.jobId);
    expect((await cli('jobs', 'cancel', queued.jobId))[0]).toMatchObject({ status: 'canceled' });
    expect(await core.queue.getJob(queued.jobId)).toBeUndefined();
  });
});
