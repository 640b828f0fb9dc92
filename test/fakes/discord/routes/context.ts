import type { FakeGateway } from '../gateway.js';
import type { DiscordCall, DiscordRoute } from '../http.js';
import type { Reply } from '../rules.js';
import type { DiscordState } from '../state.js';

/** Limits and clocks the fake enforces; tests may change them on a running fake. */
export interface DiscordSettings {
  /** Largest file accepted per attachment; larger answers 413 code 40005. Default 10 MiB. */
  uploadLimitBytes: number;
  /** How long an interaction token works for webhook calls; from then on 401 code 50027. Default 15 min. */
  interactionTokenTtlMs: number;
  /** How long after an interaction its callback is accepted; from then on 404 code 10062 (0: always late). Default 3 s. */
  ackDeadlineMs: number;
}

/** What route handlers work on. */
export interface RouteContext {
  state: DiscordState;
  gateway: FakeGateway;
  settings: DiscordSettings;
  /** `http://127.0.0.1:PORT`, for URLs the fake hands out (attachments). */
  baseUrl: string;
}

/** One REST route: `pattern` segments starting with `:` are parameters. `cdn` routes live outside `/api/v10`. */
export interface RouteDef {
  method: string;
  pattern: string;
  name: DiscordRoute;
  /** Whether Discord requires `Authorization: Bot ...` (interaction and webhook routes do not). */
  auth: boolean;
  cdn?: boolean;
  handle(ctx: RouteContext, call: DiscordCall): Reply;
}

export const ok = (json: unknown, status = 200): Reply => ({ status, json });
export const noContent = (): Reply => ({ status: 204 });
