import type { FluxRequest } from '../../../src/core/request.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import { ContentModerated } from '../../../src/core/errors.js';
import type { GenerateOptions, GeneratedImage, ImageProvider } from '../../../src/core/providers/provider.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import type { ProgressEvent } from '../../../src/core/queue/progress-feed.js';
import { MemoryDelivery } from '../../fakes/memory-delivery.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { fluxRequest, dropPrefix, makeCore, person, target } from '../../helpers/core.js';

/** Reports progress 40 times over ~2.4 s, like a chatty provider. */
class ChattyProvider implements ImageProvider {
  readonly name = 'preview' as const;
  private readonly inner = new PreviewProvider();
  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    for (let i = 0; i < 40; i++) {
      options.onProgress?.({ state: 'running', fraction: i / 40 });
      await new Promise((r) => setTimeout(r, 60));
    }
    return this.inner.generate(request);
  }
}

const req = () => fluxRequest();

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('progress events', () => {
  it('started → generating progress → delivered, throttled to at most one edit a second', async () => {
    core = await makeCore();
    const feed = core.createProgressFeed(1000);
    await feed.ready();
    const events: Array<ProgressEvent & { at: number }> = [];
    feed.subscribe((e) => events.push({ ...e, at: Date.now() }));
    const delivery = new MemoryDelivery();
    await core.createWorker({ providers: [new ChattyProvider()], deliveries: { discord: delivery }, progressIntervalMs: 100 }).start();

    const s = await core.service.submit(req(), person('a'), target, { dedupeKey: 'i' });
    await expect.poll(() => events.some((e) => e.type === 'delivered'), { timeout: 15_000 }).toBe(true);
    const mine = events.filter((e) => e.jobId === (s as { jobId: string }).jobId);
    expect(mine[0]!.type).toBe('started');
    expect(mine.some((e) => e.type === 'progress' && e.progress.stage === 'generating')).toBe(true);
    expect(mine.at(-1)).toMatchObject({ type: 'delivered', result: { provider: 'preview', messageId: 'm1' } });
    const nonTerminal = mine.filter((e) => e.type !== 'delivered');
    for (let i = 1; i < nonTerminal.length; i++) expect(nonTerminal[i]!.at - nonTerminal[i - 1]!.at).toBeGreaterThanOrEqual(990);
    // Without throttling the worker alone would have sent far more (40 provider updates).
    expect(nonTerminal.length).toBeLessThanOrEqual(4);
  });

  it('a failed job reports the reason a person can read', async () => {
    core = await makeCore();
    const feed = core.createProgressFeed(1000);
    await feed.ready();
    const events: ProgressEvent[] = [];
    feed.subscribe((e) => events.push(e));
    await core
      .createWorker({ providers: [new ScriptedProvider('replicate', [new ContentModerated('replicate')])], deliveries: { discord: new MemoryDelivery() } })
      .start();
    await core.service.submit(req(), person('a'), target, { dedupeKey: 'i' });
    await expect.poll(() => events.find((e) => e.type === 'failed'), { timeout: 15_000 }).toMatchObject({
      reason: expect.stringMatching(/safety/),
    });
  });
});
