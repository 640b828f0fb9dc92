import type { WebSocket } from 'ws';

/** One frame the client sent on the gateway. */
export interface GatewayFrame {
  op: number;
  d: unknown;
  /** 1-based number of the WebSocket connection it arrived on. */
  connection: number;
  /** Path the connection was opened on (`/gateway` or `/gateway-resume`). */
  path: string;
  /** Shard id the frame speaks for (IDENTIFY's `shard`, the resumed session's, or its connection's); null before any. */
  shard: number | null;
  at: number;
}

/** A WebSocket connection the client opened, with its query (`v`, `encoding`, `compress`). */
export interface GatewayConnection {
  number: number;
  path: string;
  query: URLSearchParams;
  /** Shard id, once the connection identified or resumed a session. */
  shard: number | null;
}

/** A gateway session as a test sees it: one per shard the client identified. */
export interface GatewaySessionInfo {
  id: string;
  /** `[shard id, shard count]` from its IDENTIFY. */
  shard: [number, number];
  seq: number;
  intents: number;
  connected: boolean;
}

/** A dispatch the fake sent (READY, GUILD_CREATE, INTERACTION_CREATE, ...), with the shard whose session got it. */
export interface GatewayDispatch {
  t: string;
  /** Sequence number in its session. */
  s: number;
  d: unknown;
  shard: number;
  session: string;
  at: number;
}

/** The shard Discord routes a guild's events to: `(guild_id >> 22) % shard_count`. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A session of one shard: what IDENTIFY opened and RESUME picks up. */
export interface Session {
  id: string;
  seq: number;
  intents: number;
  invalid: boolean;
  /** `[shard id, shard count]` from IDENTIFY (`[0, 1]` when the client sent none). */
  shard: [number, number];
  socket: WebSocket | null;
  /** Every dispatch of the session, kept so a RESUME can replay what the client missed. */
  log: Array<{ op: 0; s: number; t: string; d: unknown }>;
}

/** How the fake gateway behaves. */
export interface GatewayOptions {
  heartbeatIntervalMs: number;
  /** When set, IDENTIFY/RESUME with another token closes with 4004 (authentication failed). */
  token: string | undefined;
  /** Shards `/gateway/bot` recommends; an IDENTIFY with fewer closes with 4011 (sharding required). Default 1. */
  shards?: number;
}

/** The guild a dispatch belongs to (its `guild_id`), or null (DMs and the like go to shard 0, as on Discord). */
export function guildOf(d: unknown): string | null {
  const id = typeof d === 'object' && d !== null ? (d as { guild_id?: unknown }).guild_id : undefined;
  return typeof id === 'string' && /^\d+$/.test(id) ? id : null;
}
