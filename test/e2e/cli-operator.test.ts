import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { ContentModerated } from '../../src/core/errors.js';
import { MemoryDelivery } from '../fakes/memory-delivery.js';
import { ScriptedProvider } from '../fakes/scripted-provider.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../helpers/core.js';

const run = promisify(execFile);
let core: FluxbotCore;

beforeAll(async () => {
  core = await makeCore();
});
afterAll(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

async function fluxbot(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/fluxbot.js', ...args, '--json'], {
      env: { PATH: process.env.PATH ?? '', REDIS_PREFIX: core.prefix, QUOTA_DAILY_PER_USER: '100' },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr, json: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, json: [] };
  }
}
const req = () => fluxRequest({ prompt: 'cli' });

describe('npx fluxbot quota', () => {
  it('sets limits, grants, bans and shows, through the same service the bot uses, audited as the CLI', async () => {
    expect((await fluxbot('quota', 'set', '--user', 'discord:g1:alice', '--daily', '1', '--concurrent', '3')).json[0]).toMatchObject({
      daily: { value: 1, overridden: true },
      concurrent: { value: 3, overridden: true },
    });
    expect((await fluxbot('quota', 'grant', '--user', 'discord:g1:alice', '--amount', '2')).json[0]).toEqual({ grantBalance: 2 });
    expect((await fluxbot('quota', 'ban', '--user', 'discord:g1:bob', '--reason', 'spam')).code).toBe(0);
    expect(await core.service.submit(req(), person('bob'), target, { dedupeKey: 'b' })).toMatchObject({ status: 'refused', reason: 'banned' });
    const show = (await fluxbot('quota', 'show', '--user', 'discord:g1:bob')).json[0];
    expect(show).toMatchObject({ banned: { reason: 'spam' } });
    const audit = (await fluxbot('quota', 'audit', '--limit', '5')).json;
    expect(audit.map((a) => a.action)).toEqual(['ban', 'grant', 'set_limits']);
    expect(String(audit[0]!.actor)).toMatch(/^cli:/);
  });

  it('refuses bad input with a clear message and changes nothing', async () => {
    const r = await fluxbot('quota', 'set', '--user', 'discord:g1:carol', '--daily', 'lots');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--daily must be a whole number/);
    expect((await fluxbot('quota', 'grant', '--guild', 'discord:g1', '--amount', '0')).stderr).toMatch(/amount/);
    expect((await fluxbot('quota', 'show')).stderr).toMatch(/give --user KEY or --guild KEY/);
    expect((await core.admin.show({ kind: 'user', key: 'discord:g1:carol' })).daily.overridden).toBe(false);
  });
});

describe('npx fluxbot jobs', () => {
  it('lists queued jobs, cancels one (refunded) and retries a failed one', async () => {
    const queued = await core.service.submit(req(), person('dave'), target, { dedupeKey: 'd1' });
    if (queued.status !== 'queued') throw new Error('not queued');
    const list = await fluxbot('jobs', 'list', '--state', 'prioritized');
    expect(list.json.map((j) => j.id)).toContain(queued.jobId);
    expect(list.json.find((j) => j.id === queued.jobId)).toMatchObject({ user: 'discord:g1:dave', prompt: 'cli', model: 'flux-pro' });
    expect((await fluxbot('jobs', 'cancel', queued.jobId)).json[0]).toMatchObject({ status: 'canceled' });
    expect(await core.queue.getJob(queued.jobId)).toBeUndefined();

    const delivery = new MemoryDelivery();
    const provider = new ScriptedProvider('replicate', [new ContentModerated('replicate')]);
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery } }).start();
    const failing = await core.service.submit(req(), person('erin'), target, { dedupeKey: 'e1' });
    if (failing.status !== 'queued') throw new Error('not queued');
    await delivery.until(() => delivery.failures.length === 1);
    await expect.poll(async () => (await core.queue.getJob(failing.jobId))?.getState()).toBe('failed');
    const retried = (await fluxbot('jobs', 'retry', failing.jobId)).json[0]!;
    expect(retried).toMatchObject({ retryOf: failing.jobId, status: 'queued' });
    await delivery.until(() => delivery.recorded.length === 1);
    expect(delivery.delivered[0]!.requester).toEqual(person('erin'));

    expect((await fluxbot('jobs', 'retry', 'jnope')).stderr).toMatch(/no job jnope/);
    expect((await fluxbot('jobs', 'list', '--state', 'bogus')).stderr).toMatch(/--state <state>' argument 'bogus' is invalid\. Allowed choices are waiting, prioritized/);
  });
});
