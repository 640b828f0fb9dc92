import { DeliveryRefused, type FluxError } from '../../src/core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../../src/core/ports.js';
import type { FluxRequest } from '../../src/core/request.js';

export interface Failure {
  jobId: string;
  requester: Requester;
  target: DeliveryTarget;
  request: FluxRequest;
  error: FluxError;
}

/** A DeliveryPort that keeps deliveries in memory: the platform side of the queue tests and benchmarks. */
export class MemoryDelivery implements DeliveryPort {
  readonly delivered: Array<DeliveryRequest & { message: DeliveredMessage }> = [];
  readonly failures: Failure[] = [];
  private next = 1;
  private failures_ = 0;
  private waiters: Array<() => void> = [];

  /** Make the next `n` deliveries throw (a platform outage). */
  failNext(n = 1): void {
    this.failures_ += n;
  }

  /** Channels that refuse images for good (the bot was removed: Discord 50001, Slack `not_in_channel`). */
  readonly refusingChannels = new Set<string>();
  /** People who cannot be reached privately either (DMs closed). */
  readonly unreachable = new Set<string>();
  /** Images given to their person privately because their channel refused them. */
  readonly privately: Array<DeliveryRequest & { message: DeliveredMessage }> = [];

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    if (this.failures_ > 0) {
      this.failures_--;
      throw new Error('platform unavailable (MemoryDelivery.failNext)');
    }
    if (this.refusingChannels.has(d.target.channelId)) throw new DeliveryRefused(d.target.platform, 'not_in_channel');
    const message: DeliveredMessage = {
      platform: d.target.platform,
      messageId: `m${this.next++}`,
      channelId: d.target.channelId,
      threadId: d.target.threadId ?? `t-${d.jobId}`,
    };
    this.delivered.push({ ...d, message });
    this.wake();
    return message;
  }

  async deliverPrivately(d: DeliveryRequest): Promise<DeliveredMessage> {
    if (this.unreachable.has(d.requester.userId)) throw new DeliveryRefused(d.target.platform, 'cannot_dm');
    const message: DeliveredMessage = { platform: d.target.platform, messageId: `dm${this.next++}`, channelId: `dm-${d.requester.userId}`, via: 'private' };
    this.privately.push({ ...d, message });
    this.wake();
    return message;
  }

  /** Messages whose record was saved (where a real adapter adds the 🔄 reaction). */
  readonly recorded: DeliveredMessage[] = [];

  async afterRecorded(message: DeliveredMessage): Promise<void> {
    this.recorded.push(message);
    this.wake();
  }

  async notifyFailure(job: Omit<Failure, 'error'>, error: FluxError): Promise<void> {
    this.failures.push({ ...job, error });
    this.wake();
  }

  /** Resolves once `predicate` holds, re-checked after every delivery or failure. */
  async until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(`MemoryDelivery.until timed out (delivered ${this.delivered.length}, failed ${this.failures.length})`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
