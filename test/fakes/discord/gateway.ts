import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { guildCreateJson, userJson } from './payloads.js';
import { Recorder } from './recorder.js';
import type { DiscordState } from './state.js';

/** The gateway paths the fake serves: the one `/gateway/bot` hands out and the one READY says to resume on. */
export const GATEWAY_PATH = '/gateway';
export const RESUME_PATH = '/gateway-resume';

/** One frame the client sent on the gateway. */
export interface GatewayFrame {
  op: number;
  d: unknown;
  /** 1-based number of the WebSocket connection it arrived on. */
  connection: number;
  /** Path the connection was opened on (`/gateway` or `/gateway-resume`). */
  path: string;
  at: number;
}

/** A WebSocket connection the client opened, with its query (`v`, `encoding`, `compress`). */
export interface GatewayConnection {
  number: number;
  path: string;
  query: URLSearchParams;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  invalid: boolean;
  socket: WebSocket | null;
  /** Every dispatch of the session, kept so a RESUME can replay what the client missed. */
  log: Array<{ op: 0; s: number; t: string; d: unknown }>;
}

export interface GatewayOptions {
  heartbeatIntervalMs: number;
  /** When set, IDENTIFY/RESUME with another token closes with 4004 (authentication failed). */
  token: string | undefined;
}

/** Gateway intents each event needs; events not listed are always delivered (e.g. INTERACTION_CREATE). */
const EVENT_INTENTS: Record<string, number> = {
  THREAD_CREATE: 1 << 0,
  THREAD_UPDATE: 1 << 0,
  THREAD_DELETE: 1 << 0,
  CHANNEL_CREATE: 1 << 0,
  CHANNEL_UPDATE: 1 << 0,
  MESSAGE_CREATE: 1 << 9,
  MESSAGE_UPDATE: 1 << 9,
  MESSAGE_DELETE: 1 << 9,
  MESSAGE_REACTION_ADD: 1 << 10,
  MESSAGE_REACTION_REMOVE: 1 << 10,
};

/**
 * The fake gateway: HELLO, heartbeat ACKs, IDENTIFY → READY + one GUILD_CREATE per guild, RESUME → replay of
 * missed dispatches + RESUMED, and switches to drop the socket or invalidate the session. One shard.
 */
export class FakeGateway {
  /** Every frame the client sent, in order. */
  readonly frames = new Recorder<GatewayFrame>((f) => `op ${f.op}`);
  readonly connections: GatewayConnection[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private session: Session | null = null;
  private sessionCount = 0;

  constructor(
    private readonly state: DiscordState,
    private readonly baseWsUrl: string,
    private readonly options: GatewayOptions,
  ) {}

  /** The id of the current session, or null before the first IDENTIFY. */
  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  /** The last sequence number dispatched in the current session. */
  get sequence(): number {
    return this.session?.seq ?? 0;
  }

  /** Intents of the current session's IDENTIFY. */
  get intents(): number | null {
    return this.session?.intents ?? null;
  }

  /** Whether a client is connected and identified (or resumed) right now. */
  get connected(): boolean {
    return this.session?.socket?.readyState === WebSocket.OPEN;
  }

  /** Hook for the HTTP server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== GATEWAY_PATH && url.pathname !== RESUME_PATH) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
  }

  /**
   * Sends a dispatch in the current session (queued for replay if the socket is down). Returns its sequence
   * number, or null when `respectIntents` is set and the session's intents do not cover the event.
   */
  dispatch(t: string, d: unknown, respectIntents = false): number | null {
    const session = this.session;
    if (!session) throw new Error(`fake discord: cannot dispatch ${t}: no gateway session (has the client logged in?)`);
    const needed = EVENT_INTENTS[t];
    if (respectIntents && needed !== undefined && (session.intents & needed) === 0) return null;
    const entry = { op: 0 as const, s: ++session.seq, t, d };
    session.log.push(entry);
    if (session.socket?.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify(entry));
    return entry.s;
  }

  /** Like `dispatch` with intents respected, but a no-op before any session (REST side effects). */
  emit(t: string, d: unknown): number | null {
    return this.session ? this.dispatch(t, d, true) : null;
  }

  /**
   * Cuts the current connection. By default a close frame with 4000 (unknown error), after which the client
   * resumes; `abrupt` destroys the TCP socket instead, as a network failure would.
   */
  dropSocket(options: { code?: number; abrupt?: boolean } = {}): void {
    const socket = this.requireSocket('dropSocket');
    if (options.abrupt) socket.terminate();
    else socket.close(options.code ?? 4000, 'fake discord: dropped');
  }

  /** Sends op 9. Not resumable (the default) ends the session: the client must IDENTIFY again. */
  invalidSession(resumable = false): void {
    const socket = this.requireSocket('invalidSession');
    if (!resumable && this.session) this.session.invalid = true;
    socket.send(JSON.stringify({ op: 9, d: resumable }));
  }

  /** Sends op 7 (reconnect): the client closes and resumes. */
  requestReconnect(): void {
    this.requireSocket('requestReconnect').send(JSON.stringify({ op: 7, d: null }));
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private requireSocket(what: string): WebSocket {
    const socket = this.session?.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) throw new Error(`fake discord: ${what}: no open gateway connection`);
    return socket;
  }

  private onConnection(ws: WebSocket, url: URL): void {
    const connection: GatewayConnection = { number: this.connections.length + 1, path: url.pathname, query: url.searchParams };
    this.connections.push(connection);
    ws.on('message', (raw) => this.onFrame(ws, connection, raw.toString()));
    ws.on('close', () => {
      if (this.session?.socket === ws) this.session.socket = null;
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs } }));
  }

  private onFrame(ws: WebSocket, connection: GatewayConnection, text: string): void {
    let frame: { op?: unknown; d?: unknown };
    try {
      frame = JSON.parse(text) as { op?: unknown; d?: unknown };
    } catch {
      ws.close(4002, 'Error while decoding payload.');
      return;
    }
    const op = typeof frame.op === 'number' ? frame.op : -1;
    this.frames.push({ op, d: frame.d, connection: connection.number, path: connection.path, at: Date.now() });
    switch (op) {
      case 1:
        ws.send(JSON.stringify({ op: 11 }));
        return;
      case 2:
        this.identify(ws, frame.d as { token?: string; intents?: number });
        return;
      case 6:
        this.resume(ws, frame.d as { token?: string; session_id?: string; seq?: number });
        return;
      case 3: // presence update
      case 4: // voice state update
      case 8: // request guild members
        return;
      default:
        ws.close(4001, 'Unknown opcode.');
    }
  }

  private tokenOk(ws: WebSocket, token: string | undefined): boolean {
    if (this.options.token === undefined || token === this.options.token) return true;
    ws.close(4004, 'Authentication failed.');
    return false;
  }

  private identify(ws: WebSocket, d: { token?: string; intents?: number }): void {
    if (!this.tokenOk(ws, d.token)) return;
    if (this.session?.socket === ws) {
      ws.close(4005, 'Already authenticated.');
      return;
    }
    this.session = { id: `fake-session-${++this.sessionCount}`, seq: 0, intents: d.intents ?? 0, invalid: false, socket: ws, log: [] };
    const guilds = [...this.state.guilds.values()];
    this.dispatch('READY', {
      v: 10,
      user: { ...userJson(this.state.bot), bot: true, verified: true, mfa_enabled: false, flags: 0 },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: this.session.id,
      session_type: 'normal',
      resume_gateway_url: `${this.baseWsUrl}${RESUME_PATH}`,
      shard: [0, 1],
      application: { id: this.state.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      user_settings: {},
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
    });
    for (const guild of guilds) this.dispatch('GUILD_CREATE', guildCreateJson(this.state, guild));
  }

  private resume(ws: WebSocket, d: { token?: string; session_id?: string; seq?: number }): void {
    if (!this.tokenOk(ws, d.token)) return;
    const session = this.session;
    if (!session || session.invalid || session.id !== d.session_id) {
      ws.send(JSON.stringify({ op: 9, d: false }));
      return;
    }
    const seq = d.seq ?? 0;
    if (seq > session.seq) {
      ws.close(4007, 'Invalid seq.');
      return;
    }
    if (session.socket && session.socket !== ws) session.socket.terminate();
    session.socket = ws;
    for (const entry of session.log) if (entry.s > seq) ws.send(JSON.stringify(entry));
    // RESUMED takes a sequence number but is not kept for later replays.
    ws.send(JSON.stringify({ op: 0, s: ++session.seq, t: 'RESUMED', d: {} }));
  }
}
