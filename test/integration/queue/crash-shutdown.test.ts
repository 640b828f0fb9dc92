import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { SinkServer } from '../../fakes/sink-delivery.js';
import { kill, startChild } from '../../helpers/child.js';
import { dropPrefix, makeCore, person, target } from '../../helpers/core.js';

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

function workerEnv(extra: Record<string, string> = {}) {
  return { PREFIX: core.prefix, REPLICATE_URL: replicate.baseUrl, REPLICATE_TOKEN: replicate.token, SINK_URL: sink.url, ...extra };
}
async function worker(extra: Record<string, string> = {}) {
  const child = await startChild(WORKER, workerEnv(extra));
  children.push(child);
  return child;
}
async function submit(extra: Record<string, unknown> = {}) {
  const r = parseFluxRequest({ prompt: 'crash me', output_format: 'png', aspect_ratio: '1:1', ...extra });
  if (!r.ok) throw r.error;
  const s = await core.service.submit(r.request, person('alice'), target, { dedupeKey: `i-${Math.random()}` });
  if (s.status !== 'queued') throw new Error(`not queued: ${s.status}`);
  return s.jobId;
}
async function quota() {
  const alice = person('alice');
  return core.admin.userView(userKey(alice), guildKey(alice));
}

describe('crash safety (real processes, SIGKILL)', () => {
  it('a worker killed mid-generation is replaced: same prediction resumed, one delivery, charged once', async () => {
    const first = await worker();
    const jobId = await submit();
    // The prediction exists and its id is checkpointed once the worker polls it.
    await replicate.waitFor((c) => c.method === 'GET' && c.path.includes('/predictions/'), 15_000);
    expect((await core.queue.getJob(jobId))?.data.checkpoint?.provider).toBe('replicate');
    expect(await kill(first, 'SIGKILL')).toBe(null);

    await worker();
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);
    expect(replicate.created).toBe(1);
    const deliveries = sink.deliveries(jobId);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.predictionId).toBe((await core.queue.getJob(jobId))?.data.checkpoint?.id);
    await expect.poll(async () => (await core.queue.getJob(jobId))?.getState()).toBe('completed');
    const q = await quota();
    expect([q.usedToday, q.inFlight]).toEqual([1, 0]);
  });
});

describe('a gallery across a crash (real processes, SIGKILL)', () => {
  it('a worker killed while a gallery of 4 generates is replaced: the 4 predictions resumed, none paid twice, one message', async () => {
    const first = await worker();
    const jobId = await submit({ count: 4 });
    // Every image's prediction is checkpointed on its own.
    await expect
      .poll(async () => (await core.queue.getJob(jobId))?.data.parts?.filter((p) => p.checkpoint?.provider === 'replicate').length ?? 0, { timeout: 15_000 })
      .toBe(4);
    expect(await kill(first, 'SIGKILL')).toBe(null);

    await worker();
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);
    expect(replicate.created).toBe(4);
    const deliveries = sink.deliveries(jobId);
    expect(deliveries).toHaveLength(1);
    expect(new Set(deliveries[0]!.predictionIds).size).toBe(4);
    await expect.poll(async () => (await core.queue.getJob(jobId))?.getState()).toBe('completed');
    const q = await quota();
    expect([q.usedToday, q.inFlight]).toEqual([4, 0]);
  });
});

describe('crash during the create (the prediction exists and is billed, its id never reached the job)', () => {
  it('a worker killed while Replicate holds the create is replaced: the prediction is found and resumed, paid once', async () => {
    replicate.latencyMs = 500;
    // The prediction is made, but the answer (the id) never comes back before the kill.
    replicate.failNext('slow-create');
    const first = await worker();
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 15_000);
    expect((await core.queue.getJob(jobId))?.data.checkpoint).toBeUndefined();
    expect(await kill(first, 'SIGKILL')).toBe(null);

    await worker();
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);
    expect([replicate.created, replicate.billed]).toEqual([1, 1]);
    expect(replicate.callsTo('POST', /^\/models\//)).toHaveLength(1);
    const deliveries = sink.deliveries(jobId);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.predictionId).toBe((await core.queue.getJob(jobId))?.data.checkpoint?.id);
    const q = await quota();
    expect([q.usedToday, q.inFlight]).toEqual([1, 0]);
  });
});

describe('graceful shutdown (SIGTERM)', () => {
  it('lets the active job finish within the deadline, then exits', async () => {
    replicate.latencyMs = 1500;
    const child = await worker({ SHUTDOWN_MS: '20000' });
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 15_000);
    expect(await kill(child, 'SIGTERM')).toBe(0);
    expect(sink.deliveries(jobId)).toHaveLength(1);
    expect(await (await core.queue.getJob(jobId))?.getState()).toBe('completed');
  });

  it('hands a job that outlasts the deadline back; another worker resumes it and nothing is lost', async () => {
    const child = await worker({ SHUTDOWN_MS: '300' });
    const jobId = await submit();
    await replicate.waitFor((c) => c.method === 'GET' && c.path.includes('/predictions/'), 15_000);
    expect(await kill(child, 'SIGTERM')).toBe(0);
    expect(sink.deliveries(jobId)).toHaveLength(0);
    expect(['delayed', 'waiting', 'prioritized']).toContain(await (await core.queue.getJob(jobId))?.getState());

    await worker();
    await sink.server.waitFor((c) => c.path === '/recorded', 30_000);
    expect(sink.deliveries(jobId)).toHaveLength(1);
    expect(replicate.created).toBe(1);
    const q = await quota();
    expect([q.usedToday, q.inFlight]).toEqual([1, 0]);
  });
});
