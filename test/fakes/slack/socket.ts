import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** The app's answer to a Socket Mode delivery. */
export interface SocketAnswer {
  via: 'socket';
  /** Same as `acked`: the app acknowledged in time. */
  ok: boolean;
  acked: boolean;
  envelopeId: string;
  /** The ack's `payload` (what HTTP mode would have answered as the body); `undefined` when not acked. */
  body: unknown;
}

/** One `{envelope_id, payload}` frame the app sent back. */
export interface SocketAck {
  envelopeId: string;
  payload: unknown;
  at: number;
}

export type EnvelopeType = 'slash_commands' | 'events_api' | 'interactive';

export interface EnvelopeOptions {
  acceptsResponsePayload: boolean;
  retryAttempt?: number;
  retryReason?: string;
}

/**
 * Socket Mode's side of Slack: `apps.connections.open` hands out single-use `ws://…/link/?ticket=…` URLs; a connection
 * gets `{"type":"hello"}`; deliveries are envelopes the app answers with `{envelope_id, payload}`.
 */
export class SocketHub {
  readonly acks: SocketAck[] = [];
  /** Connections accepted so far; a reconnect after {@link drop} makes it grow. */
  connections = 0;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly sockets: WebSocket[] = [];
  private readonly waiting = new Map<string, (payload: unknown) => void>();

  constructor(
    private readonly appId: string,
    private readonly onEvent: () => void,
  ) {}

  /** A fresh single-use URL for apps.connections.open. */
  issueUrl(port: number): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  get connected(): boolean {
    return this.sockets.some((s) => s.readyState === s.OPEN);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Sends one envelope to the newest open connection and waits up to `timeoutMs` for its ack. */
  async deliver(type: EnvelopeType, payload: unknown, options: EnvelopeOptions, timeoutMs: number): Promise<SocketAnswer> {
    const socket = [...this.sockets].reverse().find((s) => s.readyState === s.OPEN);
    if (!socket) throw new Error('FakeSlack: no Socket Mode connection is open (did app.start() run in socket mode?)');
    const envelopeId = randomUUID();
    const frame = {
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload: options.acceptsResponsePayload,
      ...(options.retryAttempt === undefined ? {} : { retry_attempt: options.retryAttempt, retry_reason: options.retryReason ?? 'timeout' }),
    };
    const acked = new Promise<{ acked: boolean; body: unknown }>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(envelopeId);
        resolve({ acked: false, body: undefined });
      }, timeoutMs);
      this.waiting.set(envelopeId, (body) => {
        clearTimeout(timer);
        resolve({ acked: true, body });
      });
    });
    socket.send(JSON.stringify(frame));
    const result = await acked;
    return { via: 'socket', ok: result.acked, acked: result.acked, envelopeId, body: result.body };
  }

  /** Cuts every connection without a close handshake, as a network failure would. */
  drop(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  /** Asks the app to reconnect, as Slack does before recycling a server (`{"type":"disconnect"}`). */
  sendDisconnect(reason = 'refresh_requested'): void {
    for (const socket of this.sockets) socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-applink' } }));
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.connections += 1;
    this.sockets.push(ws);
    ws.on('close', () => {
      this.sockets.splice(this.sockets.indexOf(ws), 1);
      this.onEvent();
    });
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.length,
        debug_info: { host: 'fake-applink', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.onEvent();
  }

  private onMessage(text: string): void {
    let frame: { envelope_id?: unknown; payload?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (typeof frame.envelope_id !== 'string') return;
    this.acks.push({ envelopeId: frame.envelope_id, payload: frame.payload, at: Date.now() });
    this.waiting.get(frame.envelope_id)?.(frame.payload);
    this.waiting.delete(frame.envelope_id);
    this.onEvent();
  }
}
