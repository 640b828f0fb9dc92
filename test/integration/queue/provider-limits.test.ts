import type { FluxRequest } from '../../../src/core/request.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import type { GenerateOptions, GeneratedImage, ImageProvider } from '../../../src/core/providers/provider.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../../helpers/core.js';

/** Counts generations in flight across every worker that shares it (the provider account's view). */
class CountingProvider implements ImageProvider {
  readonly name = 'replicate' as const;
  inFlight = 0;
  maxInFlight = 0;
  starts: number[] = [];
  private readonly inner = new PreviewProvider();
  constructor(private readonly ms: number) {}
  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    this.inFlight++;
    this.starts.push(Date.now());
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.ms));
      return { ...(await this.inner.generate(request, options)), provider: 'replicate' };
    } finally {
      this.inFlight--;
    }
  }
}

const req = () => fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256 });

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('global provider limits (shared by all workers through Redis)', () => {
  it('never has more generations in flight toward a provider than its concurrency limit, across two workers', async () => {
    core = await makeCore();
    const provider = new CountingProvider(150);
    const delivery = new MemoryDelivery();
    const limits = { replicate: { concurrency: 2, rate: 1000 } };
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 10, limits }).start();
    await core.createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 10, limits }).start();
    for (let i = 0; i < 8; i++) await core.service.submit(req(), person(`u${i}`), target, { dedupeKey: `d${i}` });
    await delivery.until(() => delivery.recorded.length === 8, 30_000);
    expect(provider.maxInFlight).toBe(2);
  });

  it('starts no more generations per window than the rate limit', async () => {
    core = await makeCore();
    const provider = new CountingProvider(10);
    const delivery = new MemoryDelivery();
    await core
      .createWorker({ providers: [provider], deliveries: { discord: delivery }, concurrency: 10, limits: { replicate: { concurrency: 10, rate: 3, windowMs: 1000 } } })
      .start();
    for (let i = 0; i < 6; i++) await core.service.submit(req(), person(`u${i}`), target, { dedupeKey: `d${i}` });
    await delivery.until(() => delivery.recorded.length === 6, 30_000);
    const starts = provider.starts.sort((a, b) => a - b);
    // Any 4 consecutive starts span at least the window: never 4 within one second.
    for (let i = 3; i < starts.length; i++) expect(starts[i]! - starts[i - 3]!).toBeGreaterThanOrEqual(950);
  });
});
