import { afterEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../../src/core/core.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../../../src/core/ports.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import { ImageSlots } from '../../../src/core/queue/image-slots.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

/** A platform that takes a while to accept each upload, counting how many images it holds at once. */
class SlowDelivery implements DeliveryPort {
  holding = 0;
  maxHolding = 0;
  done = 0;
  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    this.maxHolding = Math.max(this.maxHolding, ++this.holding);
    await new Promise((r) => setTimeout(r, 80));
    this.holding--;
    this.done++;
    return { platform: 'discord', messageId: `m-${d.jobId}`, channelId: d.target.channelId };
  }
  async notifyFailure(): Promise<void> {}
}

let core: FluxbotCore;
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('image slots bound the images a worker holds in memory', () => {
  it('with 2 slots and 10 jobs running at once, never more than 2 images are held, and all are delivered', async () => {
    core = await makeCore();
    const delivery = new SlowDelivery();
    await core.createWorker({ providers: [new PreviewProvider()], deliveries: { discord: delivery }, concurrency: 10, imageConcurrency: 2 }).start();
    for (let i = 0; i < 10; i++) await core.service.submit(fluxRequest({ aspect_ratio: 'custom', width: 256, height: 256 }), person(`u${i}`), target, { dedupeKey: `d${i}` });
    await expect.poll(() => delivery.done, { timeout: 20_000 }).toBe(10);
    expect(delivery.maxHolding).toBe(2);
  });

  it('a slot comes back however the holder leaves, and waiters are served in order', async () => {
    const slots = new ImageSlots(1);
    const first = await slots.acquire();
    const order: number[] = [];
    const second = slots.acquire().then((r) => (order.push(2), r));
    const third = slots.acquire().then((r) => (order.push(3), r));
    first();
    first(); // releasing twice frees one slot only
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
    const again = await slots.acquire();
    again();
  });
});
