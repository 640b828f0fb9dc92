import { DeliveryRefused, type FluxError } from '../../src/core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../../src/core/ports.js';
import { FakeServer, sendJson } from './fake-server.js';

/** What the sink saw posted: one entry per job and place (a repeated post of the same job answers the first). */
export interface SinkPost {
  jobId: string;
  userId: string;
  channelId: string;
  provider: string;
  predictionId: string;
  messageId: string;
  via: 'channel' | 'private';
}

/**
 * A delivery "platform" on HTTP, for tests whose workers run in other processes: deliveries and failure notices
 * are POSTed to a FakeServer, which counts them. `SinkServer` is the server side, `SinkDelivery` the port.
 *
 * Like Discord with an enforced nonce, a post for a job that already posted in the same place answers the message it
 * made (it never shows twice). Channels in `refusingChannels` refuse images for good (the bot was removed), and people
 * in `unreachable` cannot be reached privately either (DMs closed).
 */
export class SinkServer {
  private next = 1;
  readonly refusingChannels = new Set<string>();
  readonly unreachable = new Set<string>();
  /** Posts that reached a person, by `<via>:<jobId>`. */
  readonly posts = new Map<string, SinkPost>();
  readonly server = new FakeServer((call, res) => {
    const body = call.body as Omit<SinkPost, 'messageId' | 'via'> | undefined;
    if (call.path === '/deliver' || call.path === '/private') {
      const via = call.path === '/deliver' ? 'channel' : 'private';
      if (!body) return sendJson(res, 400, {});
      if (via === 'channel' && this.refusingChannels.has(body.channelId)) return sendJson(res, 403, { error: 'not_in_channel' });
      if (via === 'private' && this.unreachable.has(body.userId)) return sendJson(res, 403, { error: 'cannot_dm' });
      const key = `${via}:${body.jobId}`;
      const post = this.posts.get(key) ?? { ...body, via, messageId: `m${this.next++}` };
      this.posts.set(key, post);
      return sendJson(res, 200, { messageId: post.messageId });
    }
    if (call.path === '/fail' || call.path === '/recorded') return sendJson(res, 200, { ok: true });
    return sendJson(res, 404, {});
  });

  static async start(): Promise<SinkServer> {
    const s = new SinkServer();
    await s.server.listen();
    return s;
  }

  get url(): string {
    return this.server.url;
  }

  /** Every post request (repeats included), optionally of one job. */
  deliveries(jobId?: string): Array<{ jobId: string; provider: string; predictionId: string; predictionIds: string[] }> {
    return this.server
      .callsTo('POST', /^\/deliver$/)
      .map((c) => c.body as { jobId: string; provider: string; predictionId: string; predictionIds: string[] })
      .filter((b) => !jobId || b.jobId === jobId);
  }

  failures(): Array<{ jobId: string; code: string }> {
    return this.server.callsTo('POST', /^\/fail$/).map((c) => c.body as { jobId: string; code: string });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export class SinkDelivery implements DeliveryPort {
  constructor(private readonly url: string) {}

  deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    return this.post('/deliver', d);
  }

  async deliverPrivately(d: DeliveryRequest): Promise<DeliveredMessage> {
    return { ...(await this.post('/private', d)), via: 'private' };
  }

  async afterRecorded(message: DeliveredMessage): Promise<void> {
    await fetch(`${this.url}/recorded`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
  }

  async notifyFailure(job: { jobId: string }, error: FluxError): Promise<void> {
    await fetch(`${this.url}/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobId: job.jobId, code: error.code }) });
  }

  private async post(path: string, d: DeliveryRequest): Promise<DeliveredMessage> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobId: d.jobId,
        userId: d.requester.userId,
        channelId: d.target.channelId,
        provider: d.image.provider,
        predictionId: d.image.predictionId,
        bytes: d.image.bytes.length,
        // A gallery: every image's prediction, in order.
        predictionIds: (d.images ?? [d.image]).map((image) => image.predictionId),
      }),
    });
    const body = (await res.json()) as { messageId?: string; error?: string };
    if (res.status === 403) throw new DeliveryRefused(d.target.platform, body.error ?? 'refused');
    if (!res.ok || !body.messageId) throw new Error(`sink answered ${res.status}`);
    return { platform: d.target.platform, messageId: body.messageId, channelId: d.target.channelId };
  }
}
