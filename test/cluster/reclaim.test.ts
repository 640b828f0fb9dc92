import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL } from '../helpers/core.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

/**
 * On a Redis Cluster, a worker restarted under the same WORKER_ID takes back its SIGKILLed predecessor's job when it
 * starts (the predecessor's connections are looked for on every master), and a live twin's job is never taken.
 */

let cluster: RedisCluster;
let replicate: ReplicateFake;
let deployment: SlackDeployment;

beforeAll(async () => {
  cluster = await RedisCluster.start();
  // Long enough that the job is still running after a second worker process has started and both were killed.
  replicate = await ReplicateFake.start({ latencyMs: 25_000 });
  deployment = await SlackDeployment.start(
    { REDIS_CLUSTER_NODES: cluster.setting, REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl, FLUX_MODEL: 'flux-pro' },
    { users: 2 },
  );
}, 60_000);
afterAll(async () => {
  await deployment?.close();
  await replicate?.close();
  if (deployment) await dropPrefix(deployment.prefix, { url: REDIS_URL, clusterNodes: cluster.nodes }).catch(() => undefined);
  await cluster?.close();
});

const tookBack = (logs: ReadonlyArray<{ msg?: string; reclaimed?: unknown }>) =>
  logs.filter((l) => l.msg === 'took back the jobs of dead workers of this WORKER_ID').flatMap((l) => (Array.isArray(l.reclaimed) ? (l.reclaimed as string[]) : []));

describe('a killed worker replaced under the same WORKER_ID, on a cluster', () => {
  it('the replacement takes the job back at start; a live twin takes nothing; one prediction, one image', { timeout: 120_000 }, async () => {
    await deployment.add('bot');
    const first = await deployment.add('worker', { WORKER_ID: 'w-cluster' });
    expect((await deployment.flux(0, 'job-0 a lighthouse')).ok).toBe(true);
    await replicate.waitFor((c) => c.method === 'GET' && c.path.includes('/predictions/'), 30_000);

    // A live twin under the same WORKER_ID starts while the first runs the job: it must take nothing.
    const twin = await deployment.add('worker', { WORKER_ID: 'w-cluster' });
    expect(tookBack(twin.logs)).toEqual([]);

    expect(await first.kill('SIGKILL')).toBe(null);
    await twin.kill('SIGKILL');
    const replacement = await deployment.add('worker', { WORKER_ID: 'w-cluster' });
    expect(tookBack(replacement.logs)).toHaveLength(1);

    await deployment.delivered(1, 60_000);
    expect(deployment.imagesTagged('job-0 ')).toHaveLength(1);
    expect(replicate.created).toBe(1);
  });
});
