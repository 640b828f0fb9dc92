import type { FluxError } from '../../src/core/errors.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest } from '../../src/core/ports.js';
import { FakeServer, sendJson } from './fake-server.js';

/**
 * A delivery "platform" on HTTP, for tests whose workers run in other processes: deliveries and failure notices
 * are POSTed to a FakeServer, which counts them. `SinkServer` is the server side, `SinkDelivery` the port.
 */
export class SinkServer {
  private next = 1;
  readonly server = new FakeServer((call, res) => {
    if (call.path === '/deliver') return sendJson(res, 200, { messageId: `m${this.next++}` });
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

  deliveries(jobId?: string): Array<{ jobId: string; provider: string; predictionId: string }> {
    return this.server.callsTo('POST', /^\/deliver$/).map((c) => c.body as { jobId: string; provider: string; predictionId: string }).filter((b) => !jobId || b.jobId === jobId);
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

  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    const res = await fetch(`${this.url}/deliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobId: d.jobId, provider: d.image.provider, predictionId: d.image.predictionId, bytes: d.image.bytes.length }),
    });
    const { messageId } = (await res.json()) as { messageId: string };
    return { platform: d.target.platform, messageId, channelId: d.target.channelId };
  }

  async afterRecorded(message: DeliveredMessage): Promise<void> {
    await fetch(`${this.url}/recorded`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
  }

  async notifyFailure(job: { jobId: string }, error: FluxError): Promise<void> {
    await fetch(`${this.url}/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobId: job.jobId, code: error.code }) });
  }
}
