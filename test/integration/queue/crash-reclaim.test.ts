import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { SinkServer } from '../../fakes/sink-delivery.js';
import { kill, startChild } from '../../helpers/child.js';
import { dropPrefix, makeCore, person, target } from '../../helpers/core.js';

/**
 * A worker restarted under the same WORKER_ID takes back its killed predecessor's jobs when it starts (issue 14),
 * instead of waiting for their locks to expire; a live worker's jobs are never taken. Real processes, SIGKILL.
 */
const WORKER = 'test/helpers/worker-process.ts';
let core: FluxbotCore;
let replicate: ReplicateFake;
let sink: SinkServer;
const children: ChildProcess[] = [];

beforeEach(async () => {
  core = await makeCore();
  replicate = await ReplicateFake.start({ latencyMs: 4000 });
  sink = await SinkServer.start();
});
afterEach(async () => {
  for (const c of children.splice(0)) await kill(c, 'SIGKILL');
  await core.close(1000);
  await replicate.close();
  await sink.close();
  await dropPrefix(core.prefix);
});

interface Started {
  child: ChildProcess;
  /** The worker's BullMQ name and what it took back when it started. */
  name: string;
  reclaimed: string[];
  dead: string[];
  alive: string[];
}

async function worker(extra: Record<string, string>): Promise<Started> {
  const env = { PREFIX: core.prefix, REPLICATE_URL: replicate.baseUrl, REPLICATE_TOKEN: replicate.token, SINK_URL: sink.url, ...extra };
  const child = await startChild(WORKER, env);
  children.push(child);
  const line = child.output.join('').split('\n').find((l) => l.startsWith('reclaimed '));
  if (!line) throw new Error(`no reclaim line: ${child.output.join('')}`);
  return { child, ...(JSON.parse(line.slice('reclaimed '.length)) as Omit<Started, 'child'>) };
}

async function submit() {
  const r = parseFluxRequest({ prompt: 'crash me', output_format: 'png', aspect_ratio: '1:1' });
  if (!r.ok) throw r.error;
  const s = await core.service.submit(r.request, person('alice'), target, { dedupeKey: `i-${Math.random()}` });
  if (s.status !== 'queued') throw new Error(`not queued: ${s.status}`);
  return s.jobId;
}

async function quota() {
  const alice = person('alice');
  return core.admin.userView(userKey(alice), guildKey(alice));
}

const lockKey = (jobId: string) => `${core.queue.toKey(jobId)}:lock`;

describe('a worker restarted under the same WORKER_ID (SIGKILL mid-generation)', () => {
  it('takes its predecessor’s job back when it starts, with the production lock: same prediction, one delivery, charged once', async () => {
    // The settings main.ts uses by default (JOB_LOCK_MS 30 s for both): without the take-back the job would wait for
    // its lock to expire and a stalled check to see it, up to a minute.
    const production = { WORKER_ID: 'worker-1', LOCK_MS: '30000', STALLED_MS: '30000' };
    const first = await worker(production);
    expect(first.reclaimed).toEqual([]);
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'GET' && c.path.includes('/predictions/'), 15_000);
    expect((await core.queue.getJob(jobId))?.data.checkpoint?.provider).toBe('replicate');
    expect(await kill(first.child, 'SIGKILL')).toBe(null);
    // The dead worker's lock still holds the job: only the take-back can free it this early.
    expect(await core.redis.pttl(lockKey(jobId))).toBeGreaterThan(10_000);

    const second = await worker(production);
    expect(second.reclaimed).toEqual([jobId]);
    expect(second.dead).toEqual([first.name]);
    expect(second.alive).toEqual([]);
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);

    expect(replicate.created).toBe(1);
    const deliveries = sink.deliveries(jobId);
    expect(deliveries).toHaveLength(1);
    const job = await core.queue.getJob(jobId);
    expect(deliveries[0]!.predictionId).toBe(job?.data.checkpoint?.id);
    expect(job?.stalledCounter).toBe(1);
    expect(job?.processedBy).toBe(second.name);
    await expect.poll(async () => (await core.queue.getJob(jobId))?.getState()).toBe('completed');
    const q = await quota();
    expect([q.usedToday, q.inFlight]).toEqual([1, 0]);
    // The dead one is forgotten; the live one is registered.
    expect(await core.redis.hkeys(`${core.prefix}:workers`)).toEqual([second.name]);
  });

  it('a worker that is alive keeps its job: one started under its WORKER_ID by mistake, and another, take nothing', async () => {
    // A generation far longer than the lock: the job stays with its worker only because the lock is renewed.
    replicate.latencyMs = 6000;
    const short = { LOCK_MS: '1500', STALLED_MS: '500' };
    const first = await worker({ WORKER_ID: 'worker-1', ...short });
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 15_000);

    const twin = await worker({ WORKER_ID: 'worker-1', ...short });
    expect(twin.reclaimed).toEqual([]);
    expect(twin.alive).toEqual([first.name]);
    expect(twin.dead).toEqual([]);
    await worker({ WORKER_ID: 'worker-2', ...short });
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);

    expect(replicate.created).toBe(1);
    expect(sink.deliveries(jobId)).toHaveLength(1);
    const job = await core.queue.getJob(jobId);
    expect(job?.stalledCounter).toBe(0);
    expect(job?.processedBy).toBe(first.name);
    await expect.poll(async () => (await core.queue.getJob(jobId))?.getState()).toBe('completed');
  });

  it('a worker stopped cleanly (its job finished) leaves nothing to take back', async () => {
    replicate.latencyMs = 1500;
    const child = await worker({ WORKER_ID: 'worker-1', SHUTDOWN_MS: '20000' });
    expect(await core.redis.hkeys(`${core.prefix}:workers`)).toEqual([child.name]);
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 15_000);
    expect(await kill(child.child, 'SIGTERM')).toBe(0);
    expect(sink.deliveries(jobId)).toHaveLength(1);
    expect(await core.redis.hkeys(`${core.prefix}:workers`)).toEqual([]);
  });
});
