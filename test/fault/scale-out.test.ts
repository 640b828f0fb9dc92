import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../src/core/core.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL, silentLogger } from '../helpers/core.js';
import { OutageProxy } from '../helpers/outage-proxy.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

const JOBS = 100;
const PROVIDER_CONCURRENCY = 4;

let replicate: ReplicateFake;
let proxy: OutageProxy;
let deployment: SlackDeployment;

beforeEach(async () => {
  replicate = await ReplicateFake.start({ latencyMs: 150 });
  proxy = await OutageProxy.start(replicate.url);
  deployment = await SlackDeployment.start({
    REPLICATE_API_TOKEN: replicate.token,
    REPLICATE_API_URL: `${proxy.url}${replicate.basePath}`,
    PROVIDER_CONCURRENCY: String(PROVIDER_CONCURRENCY),
    WORKER_CONCURRENCY: '20',
  });
});
afterEach(async () => {
  await deployment.close();
  await proxy.close();
  await replicate.close();
  await dropPrefix(deployment.prefix);
});

/** The largest number of predictions running at the provider at one moment, from its own timestamps. */
function maxInFlightAtProvider(): number {
  const ids = proxy.calls.filter((c) => c.method === 'POST' && c.status < 300).map((c) => (c.body as { id: string }).id);
  const edges: Array<[number, number]> = [];
  for (const id of ids) {
    const p = replicate.prediction(id)!;
    edges.push([Date.parse(p.created_at), 1], [Date.parse(p.completed_at!), -1]);
  }
  // Ends before starts at the same millisecond: a slot handed over is not two in flight.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

describe('scale-out: one bot and two worker processes on one Redis', () => {
  it(`delivers ${JOBS} jobs exactly once each, sharing the work and the provider's global concurrency limit`, async () => {
    await deployment.add('bot');
    const workers = [await deployment.add('worker'), await deployment.add('worker')];

    // Ten people, ten commands each, sent ten at a time.
    for (let batch = 0; batch < JOBS / 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => deployment.flux(i, `job-${String(batch * 10 + i).padStart(3, '0')} a lighthouse at dawn`)),
      );
      for (const a of answers) expect(a.ok).toBe(true);
    }
    await deployment.delivered(JOBS, 55_000);

    for (let n = 0; n < JOBS; n++) expect(deployment.imagesTagged(`job-${String(n).padStart(3, '0')}`), `job ${n}`).toHaveLength(1);
    expect(deployment.images()).toHaveLength(JOBS);
    expect(deployment.slack.callsTo('files.completeUploadExternal').filter((c) => c.response.ok)).toHaveLength(JOBS);
    // One prediction per job: no job ran twice.
    expect(replicate.created).toBe(JOBS);

    // Both workers took a share of the work (the log line follows the upload).
    await deployment.slack.until(() => workers.every((w) => w.lines('job delivered').length > 0) && workers.reduce((n, w) => n + w.lines('job delivered').length, 0) >= JOBS, 20_000, 'job delivered logs');
    const perWorker = workers.map((w) => w.lines('job delivered').length);
    expect(perWorker[0]! + perWorker[1]!).toBe(JOBS);
    expect(perWorker[0]).toBeGreaterThan(0);
    expect(perWorker[1]).toBeGreaterThan(0);

    // PROVIDER_CONCURRENCY holds across both processes (each could run 20 at once on its own).
    expect(maxInFlightAtProvider()).toBeLessThanOrEqual(PROVIDER_CONCURRENCY);
    expect(maxInFlightAtProvider()).toBeGreaterThan(1);

    const core = new FluxbotCore({ redisUrl: REDIS_URL, logger: silentLogger, prefix: deployment.prefix, quotas: { dailyPerUser: 1, concurrentPerUser: 1, dailyPerGuild: 1, concurrentPerGuild: 1 } });
    try {
      await core.ready();
      const counts = await core.queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized');
      expect(counts).toMatchObject({ completed: JOBS, failed: 0, active: 0, waiting: 0, delayed: 0, prioritized: 0 });
    } finally {
      await core.close(1000);
    }
  }, 90_000);
});
