import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

describe('many jobs in flight on one worker', () => {
  it('share the worker’s hand-back signal without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const JOBS = 40;
      core = await makeCore();
      const provider = new ScriptedProvider('replicate', Array.from({ length: JOBS }, () => ({ hangMs: 600 })));
      const delivery = new MemoryDelivery();
      const worker = core.createWorker({
        providers: [provider],
        deliveries: { discord: delivery },
        concurrency: JOBS,
        imageConcurrency: JOBS,
        // The limiter path too: its wait for a slot is also raced against the hand-back.
        limits: { replicate: { concurrency: JOBS, rate: 10_000, windowMs: 60_000 } },
      });
      await worker.start();
      for (let i = 0; i < JOBS; i++) await core.service.submit(fluxRequest(), person(`u${i}`), target, { dedupeKey: `k${i}` });
      // All of them at once on the provider: that is when every job listens on the one signal.
      await delivery.until(() => provider.calls.length === JOBS, 15_000);
      await delivery.until(() => delivery.recorded.length === JOBS, 20_000);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 40_000);
});
