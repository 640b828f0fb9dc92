import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { GenerationCanceled } from '../../src/core/errors.js';
import { CompletionHub } from '../../src/core/providers/webhooks/index.js';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/core.js';
import { hookKey } from '../../src/core/providers/webhooks/completion-hub.js';

/** The hub on the real Redis: how a webhook received in one process reaches the wait in another. */
const opened: Array<{ hub: CompletionHub; conns: Redis[]; prefix: string }> = [];
afterEach(async () => {
  for (const { hub, conns, prefix } of opened.splice(0)) {
    await hub.close();
    for (const c of conns) c.disconnect();
    await dropPrefix(prefix);
  }
});

async function hubs(fallbackPollMs = 60_000): Promise<{ receiving: CompletionHub; waiting: CompletionHub; redis: Redis; prefix: string }> {
  const prefix = testPrefix('hub');
  const redis = new Redis(REDIS_URL);
  const other = new Redis(REDIS_URL);
  const subscriber = new Redis(REDIS_URL);
  // Two processes' worth: one receives the webhook (bot), the other runs the generation (worker).
  const receiving = new CompletionHub({ redis: other, prefix });
  const waiting = new CompletionHub({ redis, subscriber, prefix, fallbackPollMs });
  await waiting.start();
  opened.push({ hub: waiting, conns: [redis, other, subscriber], prefix });
  return { receiving, waiting, redis, prefix };
}

describe('CompletionHub', () => {
  it('wakes a waiting generation with the recorded payload, and the record is taken', async () => {
    const { receiving, waiting, redis, prefix } = await hubs();
    const wait = waiting.notifier('replicate').waitForCompletion('p1', 100);
    await receiving.record('replicate', 'p1', { job: '1', payload: { id: 'p1', status: 'succeeded' } });
    expect(await wait).toEqual({ payload: { id: 'p1', status: 'succeeded' } });
    await expect.poll(() => redis.exists(hookKey(prefix, 'replicate', 'p1'))).toBe(0);
  });

  it('finds a webhook that arrived before the wait began; a second wait is not woken by it again', async () => {
    const { receiving, waiting } = await hubs(200);
    await receiving.record('fal', 'r1', { job: '1' });
    expect(await waiting.notifier('fal').waitForCompletion('r1', 10)).toEqual({});
    expect(await waiting.notifier('fal').waitForCompletion('r1', 10)).toBeUndefined(); // the fallback interval passed
  });

  it('keeps providers apart, and rejects with GenerationCanceled on abort', async () => {
    const { receiving, waiting } = await hubs(200);
    await receiving.record('bfl', 'same-id', {});
    expect(await waiting.notifier('fal').waitForCompletion('same-id', 10)).toBeUndefined();
    const abort = new AbortController();
    const wait = waiting.notifier('fal').waitForCompletion('x', 10, abort.signal);
    abort.abort();
    await expect(wait).rejects.toBeInstanceOf(GenerationCanceled);
  });
});
