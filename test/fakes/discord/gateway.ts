import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { guildCreateJson, userJson } from './payloads.js';
import { Recorder } from './recorder.js';
import type { DiscordState } from './state.js';
import { guildOf, shardOf, type GatewayConnection, type GatewayDispatch, type GatewayFrame, type GatewayOptions, type GatewaySessionInfo, type Session } from './gateway-types.js';

export { shardOf, type GatewayConnection, type GatewayDispatch, type GatewayFrame, type GatewayOptions, type GatewaySessionInfo } from './gateway-types.js';

/** The gateway paths the fake serves: the one `/gateway/bot` hands out and the one READY says to resume on. */
export const GATEWAY_PATH = '/gateway';
export const RESUME_PATH = '/gateway-resume';

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
 * The fake gateway: HELLO, heartbeat ACKs, IDENTIFY → READY + one GUILD_CREATE per guild of the shard, RESUME →
 * replay of missed dispatches + RESUMED, and switches to drop the socket or invalidate the session. Each IDENTIFY
 * `shard: [id, count]` opens that shard's session (a new IDENTIFY for the same shard id replaces it); a guild's
 * dispatches go to the session of its shard only (`shardOf`), the rest to shard 0.
 */
export class FakeGateway {
  /** Every frame the client sent, in order. */
  readonly frames = new Recorder<GatewayFrame>((f) => `op ${f.op}${f.shard === null ? '' : ` (shard ${f.shard})`}`);
  /** Every dispatch sent (or queued for replay), with its shard, in order. */
  readonly dispatches = new Recorder<GatewayDispatch>((e) => `${e.t} (shard ${e.shard})`);
  readonly connections: GatewayConnection[] = [];
  /** Shards `/gateway/bot` recommends (and sets as `max_concurrency`, so the client identifies them at once). */
  readonly shardCount: number;
  private readonly wss = new WebSocketServer({ noServer: true });
  /** The current session of each shard id. */
  private readonly sessions = new Map<number, Session>();
  private sessionCount = 0;

  constructor(
    private readonly state: DiscordState,
    private readonly baseWsUrl: string,
    private readonly options: GatewayOptions,
  ) {
    this.shardCount = options.shards ?? 1;
    if (!Number.isInteger(this.shardCount) || this.shardCount < 1) throw new Error(`fake discord: shards must be a whole number ≥ 1, got ${this.shardCount}`);
  }

  /** The id of shard 0's session (the only one unsharded), or null before its first IDENTIFY. */
  get sessionId(): string | null {
    return this.sessions.get(0)?.id ?? null;
  }

  /** The last sequence number dispatched in shard 0's session. */
  get sequence(): number {
    return this.sessions.get(0)?.seq ?? 0;
  }

  /** Intents of shard 0's IDENTIFY. */
  get intents(): number | null {
    return this.sessions.get(0)?.intents ?? null;
  }

  /** Whether shard 0 is connected and identified (or resumed) right now. */
  get connected(): boolean {
    return this.sessions.get(0)?.socket?.readyState === WebSocket.OPEN;
  }

  /** The current session of every shard that identified, by shard id. */
  get sessionList(): GatewaySessionInfo[] {
    return [...this.sessions.values()]
      .sort((a, b) => a.shard[0] - b.shard[0])
      .map((s) => ({ id: s.id, shard: [...s.shard], seq: s.seq, intents: s.intents, connected: s.socket?.readyState === WebSocket.OPEN }));
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
   * Sends a dispatch in the session of its guild's shard (shard 0 without `guild_id`), queued for replay if the
   * socket is down. Returns its sequence number, or null when `respectIntents` is set and the session's intents do
   * not cover the event.
   */
  dispatch(t: string, d: unknown, respectIntents = false): number | null {
    const session = this.sessionFor(d);
    if (!session) throw new Error(`fake discord: cannot dispatch ${t}: no gateway session for its shard (has the client logged in?)`);
    return this.send(session, t, d, respectIntents);
  }

  /**
   * Like `dispatch` with intents respected, but a no-op when the shard has no session (REST side effects). `intent`
   * replaces the event's usual one (a DM's MESSAGE_CREATE needs DirectMessages, not GuildMessages).
   */
  emit(t: string, d: unknown, intent?: number): number | null {
    const session = this.sessionFor(d);
    return session ? this.send(session, t, d, true, intent) : null;
  }

  /**
   * Cuts a shard's connection (shard 0 by default). By default a close frame with 4000 (unknown error), after
   * which the client resumes; `abrupt` destroys the TCP socket instead, as a network failure would.
   */
  dropSocket(options: { code?: number; abrupt?: boolean; shard?: number } = {}): void {
    const socket = this.requireSocket('dropSocket', options.shard ?? 0);
    if (options.abrupt) socket.terminate();
    else socket.close(options.code ?? 4000, 'fake discord: dropped');
  }

  /** Sends op 9 on a shard. Not resumable (the default) ends its session: the client must IDENTIFY again. */
  invalidSession(resumable = false, shard = 0): void {
    const socket = this.requireSocket('invalidSession', shard);
    const session = this.sessions.get(shard);
    if (!resumable && session) session.invalid = true;
    socket.send(JSON.stringify({ op: 9, d: resumable }));
  }

  /** Sends op 7 (reconnect) on a shard: the client closes and resumes. */
  requestReconnect(shard = 0): void {
    this.requireSocket('requestReconnect', shard).send(JSON.stringify({ op: 7, d: null }));
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private sessionFor(d: unknown): Session | undefined {
    const guildId = guildOf(d);
    for (const session of this.sessions.values()) {
      const [id, count] = session.shard;
      if ((guildId === null ? 0 : shardOf(guildId, count)) === id) return session;
    }
    return undefined;
  }

  private send(session: Session, t: string, d: unknown, respectIntents: boolean, intent?: number): number | null {
    const needed = intent ?? EVENT_INTENTS[t];
    if (respectIntents && needed !== undefined && (session.intents & needed) === 0) return null;
    const entry = { op: 0 as const, s: ++session.seq, t, d };
    session.log.push(entry);
    this.dispatches.push({ t, s: entry.s, d, shard: session.shard[0], session: session.id, at: Date.now() });
    if (session.socket?.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify(entry));
    return entry.s;
  }

  private requireSocket(what: string, shard: number): WebSocket {
    const socket = this.sessions.get(shard)?.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) throw new Error(`fake discord: ${what}: no open gateway connection for shard ${shard}`);
    return socket;
  }

  private onConnection(ws: WebSocket, url: URL): void {
    const connection: GatewayConnection = { number: this.connections.length + 1, path: url.pathname, query: url.searchParams, shard: null };
    this.connections.push(connection);
    ws.on('message', (raw) => this.onFrame(ws, connection, raw.toString()));
    ws.on('close', () => {
      for (const session of this.sessions.values()) if (session.socket === ws) session.socket = null;
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
    // The frame is recorded with the shard it speaks for: IDENTIFY names it, RESUME names a session of one.
    const shard = op === 2 ? this.requestedShard(frame.d)?.[0] ?? null : op === 6 ? this.sessionById(frame.d)?.shard[0] ?? connection.shard : connection.shard;
    this.frames.push({ op, d: frame.d, connection: connection.number, path: connection.path, shard, at: Date.now() });
    switch (op) {
      case 1:
        ws.send(JSON.stringify({ op: 11 }));
        return;
      case 2:
        this.identify(ws, connection, frame.d as { token?: string; intents?: number; shard?: unknown });
        return;
      case 6:
        this.resume(ws, connection, frame.d as { token?: string; session_id?: string; seq?: number });
        return;
      case 3: // presence update
      case 4: // voice state update
      case 8: // request guild members
        return;
      default:
        ws.close(4001, 'Unknown opcode.');
    }
  }

  /** `[id, count]` of an IDENTIFY (`[0, 1]` without `shard`), or null when malformed. */
  private requestedShard(d: unknown): [number, number] | null {
    const raw = typeof d === 'object' && d !== null ? (d as { shard?: unknown }).shard : undefined;
    if (raw === undefined) return [0, 1];
    if (!Array.isArray(raw) || raw.length !== 2) return null;
    const [id, count] = raw as unknown[];
    if (!Number.isInteger(id) || !Number.isInteger(count)) return null;
    return [id as number, count as number];
  }

  private sessionById(d: unknown): Session | undefined {
    const id = typeof d === 'object' && d !== null ? (d as { session_id?: unknown }).session_id : undefined;
    return [...this.sessions.values()].find((s) => s.id === id);
  }

  private tokenOk(ws: WebSocket, token: string | undefined): boolean {
    if (this.options.token === undefined || token === this.options.token) return true;
    ws.close(4004, 'Authentication failed.');
    return false;
  }

  private identify(ws: WebSocket, connection: GatewayConnection, d: { token?: string; intents?: number; shard?: unknown }): void {
    if (!this.tokenOk(ws, d.token)) return;
    if ([...this.sessions.values()].some((s) => s.socket === ws)) {
      ws.close(4005, 'Already authenticated.');
      return;
    }
    const shard = this.requestedShard(d);
    if (!shard || shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]) {
      ws.close(4010, 'Invalid shard.');
      return;
    }
    if (shard[1] < this.shardCount) {
      ws.close(4011, 'Sharding required.');
      return;
    }
    const session: Session = { id: `fake-session-${++this.sessionCount}`, seq: 0, intents: d.intents ?? 0, invalid: false, shard, socket: ws, log: [] };
    this.sessions.set(shard[0], session);
    connection.shard = shard[0];
    const guilds = [...this.state.guilds.values()].filter((g) => shardOf(g.id, shard[1]) === shard[0] && this.state.botIn(g.id));
    this.send(session, 'READY', {
      v: 10,
      user: { ...userJson(this.state.bot), bot: true, verified: true, mfa_enabled: false, flags: 0 },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: `${this.baseWsUrl}${RESUME_PATH}`,
      shard,
      application: { id: this.state.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      user_settings: {},
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
    }, false);
    for (const guild of guilds) this.send(session, 'GUILD_CREATE', guildCreateJson(this.state, guild), false);
  }

  private resume(ws: WebSocket, connection: GatewayConnection, d: { token?: string; session_id?: string; seq?: number }): void {
    if (!this.tokenOk(ws, d.token)) return;
    const session = this.sessionById(d);
    if (!session || session.invalid) {
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
    connection.shard = session.shard[0];
    for (const entry of session.log) if (entry.s > seq) ws.send(JSON.stringify(entry));
    // RESUMED takes a sequence number but is not kept for later replays.
    ws.send(JSON.stringify({ op: 0, s: ++session.seq, t: 'RESUMED', d: {} }));
  }
}
