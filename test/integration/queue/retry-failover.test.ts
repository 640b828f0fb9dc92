import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import {
  ContentModerated,
  InvalidInput,
  ProviderOutOfCredits,
  ProviderRateLimited,
  ProviderTaskFailed,
  ProviderTimeout,
  ProviderUnavailable,
  UnsupportedByProvider,
} from '../../../src/core/errors.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import type { RetryPolicy } from '../../../src/core/queue/retry-policy.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../../helpers/core.js';

const policy: RetryPolicy = { attemptsPerProvider: 2, maxRateLimitWaits: 3, baseBackoffMs: 20, maxBackoffMs: 200, followPredictionMs: 0 };
const req = () => fluxRequest();

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

async function run(providers: ScriptedProvider[]) {
  core = await makeCore();
  const delivery = new MemoryDelivery();
  await core.createWorker({ providers, deliveries: { discord: delivery }, policy }).start();
  const alice = person('alice');
  const submitted = await core.service.submit(req(), alice, target, { dedupeKey: 'i' });
  if (submitted.status !== 'queued') throw new Error('not queued');
  await delivery.until(() => delivery.recorded.length + delivery.failures.length > 0);
  const job = await core.queue.getJob(submitted.jobId);
  await expect.poll(async () => (await core.admin.userView(userKey(alice), guildKey(alice))).inFlight).toBe(0);
  const view = await core.admin.userView(userKey(alice), guildKey(alice));
  return { delivery, job: job!, used: view.usedToday };
}

describe('retry and failover by error type', () => {
  it('429 waits the Retry-After and tries the same provider again without spending an attempt', async () => {
    const replicate = new ScriptedProvider('replicate', [new ProviderRateLimited('replicate', 50), new ProviderRateLimited('replicate'), 'ok']);
    const fal = new ScriptedProvider('fal');
    const { delivery, job, used } = await run([replicate, fal]);
    expect(delivery.delivered).toHaveLength(1);
    expect(delivery.delivered[0]!.image.provider).toBe('replicate');
    expect(replicate.calls).toHaveLength(3);
    expect(replicate.calls[1]!.at - replicate.calls[0]!.at).toBeGreaterThanOrEqual(45);
    expect(fal.calls).toHaveLength(0);
    expect(job.attemptsMade).toBe(0);
    expect(job.data.rateLimitWaits).toBe(2);
    expect(used).toBe(1);
  });

  it('5xx backs off, resumes the checkpointed prediction, then fails over to the next provider', async () => {
    const replicate = new ScriptedProvider('replicate', [new ProviderUnavailable('replicate', 'boom', 500), new ProviderUnavailable('replicate', 'boom', 502)]);
    const fal = new ScriptedProvider('fal', ['ok']);
    const { delivery, used } = await run([replicate, fal]);
    expect(replicate.calls).toHaveLength(2);
    // The second try resumed the same prediction instead of paying for a new one.
    expect(replicate.calls[1]!.resumed).toBe('replicate-1');
    expect(fal.calls).toHaveLength(1);
    expect(fal.calls[0]!.resumed).toBeUndefined();
    expect(delivery.delivered[0]!.image.provider).toBe('fal');
    expect(used).toBe(1);
  });

  it('faults while following a checkpointed prediction spend no attempt: the job keeps following it (it may be paid for)', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    const replicate = new ScriptedProvider('replicate', [
      new ProviderUnavailable('replicate', 'boom', 500),
      new ProviderUnavailable('replicate', 'poll timed out'),
      new ProviderUnavailable('replicate', 'boom', 502),
      'ok',
    ]);
    const fal = new ScriptedProvider('fal', ['ok']);
    await core.createWorker({ providers: [replicate, fal], deliveries: { discord: delivery }, policy: { ...policy, followPredictionMs: 60_000 } }).start();
    await core.service.submit(req(), person('alice'), target, { dedupeKey: 'i-1' });
    await delivery.until(() => delivery.recorded.length === 1);
    // Three faults with two attempts per provider, and still the same prediction, from the same provider.
    expect(replicate.calls.map((c) => c.resumed)).toEqual([undefined, 'replicate-1', 'replicate-1', 'replicate-1']);
    expect(fal.calls).toHaveLength(0);
    expect(delivery.delivered[0]!.image.provider).toBe('replicate');
  });

  it('a timeout retries with a new prediction (the old one was canceled)', async () => {
    const replicate = new ScriptedProvider('replicate', [new ProviderTimeout('replicate', 100), 'ok']);
    const { delivery } = await run([replicate]);
    expect(delivery.delivered).toHaveLength(1);
    expect(replicate.calls[1]!.resumed).toBeUndefined();
  });

  it('a task that ended in failure retries with a new prediction (reading it again would answer the same)', async () => {
    const bfl = new ScriptedProvider('bfl', [new ProviderTaskFailed('bfl', 'task failed: Internal error'), 'ok']);
    const { delivery } = await run([bfl]);
    expect(delivery.delivered).toHaveLength(1);
    expect(bfl.calls).toHaveLength(2);
    expect(bfl.calls[1]!.resumed).toBeUndefined();
  });

  it('moderation never retries: refund and a reason in the thread', async () => {
    const replicate = new ScriptedProvider('replicate', [new ContentModerated('replicate', 'NSFW content detected')]);
    const fal = new ScriptedProvider('fal');
    const { delivery, job, used } = await run([replicate, fal]);
    expect(replicate.calls).toHaveLength(1);
    expect(fal.calls).toHaveLength(0);
    expect(delivery.failures).toHaveLength(1);
    expect(delivery.failures[0]!.error.code).toBe('moderated');
    expect(await job.getState()).toBe('failed');
    expect(used).toBe(0);
  });

  it('invalid input never retries', async () => {
    const replicate = new ScriptedProvider('replicate', [new InvalidInput('prompt too long for provider', 'prompt')]);
    const { delivery, used } = await run([replicate, new ScriptedProvider('fal')]);
    expect(replicate.calls).toHaveLength(1);
    expect(delivery.failures[0]!.error.code).toBe('invalid_input');
    expect(used).toBe(0);
  });

  it('unsupported model and out-of-credits go straight to the next provider', async () => {
    const bfl = new ScriptedProvider('bfl', [new UnsupportedByProvider('bfl', 'flux-schnell', 'model')]);
    const replicate = new ScriptedProvider('replicate', [new ProviderOutOfCredits('replicate')]);
    const fal = new ScriptedProvider('fal', ['ok']);
    const { delivery } = await run([bfl, replicate, fal]);
    expect([bfl.calls.length, replicate.calls.length, fal.calls.length]).toEqual([1, 1, 1]);
    expect(delivery.delivered[0]!.image.provider).toBe('fal');
  });

  it('when every provider keeps failing, the job fails once, refunded, with the reason', async () => {
    const replicate = new ScriptedProvider('replicate', [new ProviderUnavailable('replicate', 'x', 500), new ProviderUnavailable('replicate', 'x', 500)]);
    const fal = new ScriptedProvider('fal', [new ProviderUnavailable('fal', 'x', 503), new ProviderUnavailable('fal', 'x', 503)]);
    const { delivery, used } = await run([replicate, fal]);
    expect(replicate.calls).toHaveLength(2);
    expect(fal.calls).toHaveLength(2);
    expect(delivery.failures).toHaveLength(1);
    expect(delivery.failures[0]!.error.code).toBe('unavailable');
    expect(used).toBe(0);
  });

  it('rate limits that never end count as a failure of that provider (bounded waiting)', async () => {
    const limited = () => new ProviderRateLimited('replicate', 10);
    const replicate = new ScriptedProvider('replicate', [limited(), limited(), limited(), limited()]);
    const fal = new ScriptedProvider('fal', ['ok']);
    const { delivery } = await run([replicate, fal]);
    expect(replicate.calls).toHaveLength(4);
    expect(delivery.delivered[0]!.image.provider).toBe('fal');
  });

  it('a platform outage during delivery retries delivery with the stored image, without generating again', async () => {
    core = await makeCore();
    const delivery = new MemoryDelivery();
    delivery.failNext(1);
    const replicate = new ScriptedProvider('replicate', ['ok']);
    await core.createWorker({ providers: [replicate], deliveries: { discord: delivery }, policy }).start();
    await core.service.submit(req(), person('a'), target, { dedupeKey: 'i' });
    await delivery.until(() => delivery.recorded.length === 1, 20_000);
    expect(replicate.calls).toHaveLength(1);
    expect(delivery.delivered).toHaveLength(1);
  });
});
