import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HttpRoute } from '../../http/server.js';
import type { Requester } from '../../core/ports.js';
import { clientAddress, fromLoopback, type LocalNetwork, hostPort, localHostHeader, sameOrigin } from './access.js';
import { INVALID, PageFiles, readJson, sendError, sendJson, sendText, TOO_LARGE } from './http-util.js';
import { RateLimiter, type BucketShape } from './rate-limit.js';
import { SessionCodec, tokenMatches, type Session } from './session.js';
import type { WebApi } from './web-api.js';
import type { WebImageActions } from './web-image-actions.js';
import { WEB_TEXT } from './web-text.js';

/** The image actions' paths: POSTs, so under the same origin check and action flood limits as generate. */
const ACTIONS = new Map<string, 'reroll' | 'vary' | 'edit' | 'delete' | 'cancel'>([
  ['/api/reroll', 'reroll'],
  ['/api/vary', 'vary'],
  ['/api/edit', 'edit'],
  ['/api/delete', 'delete'],
  ['/api/cancel', 'cancel'],
]);

/** Flood limits: every API call, and the calls that act (generate, the image actions, sign in), per session and per address. */
export interface FloodLimits {
  calls: BucketShape;
  actions: BucketShape;
  /** Per client address, across its sessions (a script that drops its cookie gets a new session each time). */
  actionsPerAddress: BucketShape;
  /** Status streams one session may hold open. */
  streams: number;
}

/**
 * A person clicking as fast as they can stays under these (a generation takes seconds); a script does not: 6 actions
 * at once then one every 2 s per session, 30 then two a second per address, 60 calls then four a second.
 */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  calls: { burst: 60, refillMs: 250 },
  actions: { burst: 6, refillMs: 2000 },
  actionsPerAddress: { burst: 30, refillMs: 500 },
  streams: 8,
};

export interface WebRouterOptions {
  api: WebApi;
  /** The buttons under an image (Reroll, Vary, Edit, Delete) and Cancel. */
  actions: WebImageActions;
  /** The session signing secret (derived from the server secret kept in Redis). */
  secret: () => Promise<string>;
  /** PLAYGROUND_TOKEN: people sign in with it; without it only this machine is served. */
  token?: string | undefined;
  /** PLAYGROUND_LOCAL_NETWORKS: client networks that count as this machine (a container's Docker network). */
  localNetworks?: readonly LocalNetwork[];
  limits?: FloodLimits;
  logger: Logger;
}

/**
 * The playground's part of the HTTP server: the page at `/`, its assets under `/assets/`, the API under `/api/`.
 * Access first (loopback and a local Host name without a token; a signed-in session with one), then the session,
 * the origin check for anything that changes state, the flood limits, and the API.
 */
export function webRoute(options: WebRouterOptions): HttpRoute {
  const page = new PageFiles();
  const limits = options.limits ?? DEFAULT_FLOOD_LIMITS;
  const calls = new RateLimiter(limits.calls);
  const actions = new RateLimiter(limits.actions);
  const perAddress = new RateLimiter(limits.actionsPerAddress);
  const streams = new Map<string, number>();
  let codec: Promise<SessionCodec> | undefined;
  const sessions = (): Promise<SessionCodec> => {
    codec ??= options.secret().then((s) => new SessionCodec(s, options.token));
    codec.catch(() => (codec = undefined)); // Redis was away: try again on the next request
    return codec;
  };

  return async (req, res, url) => {
    const path = url.pathname;
    const isApi = path.startsWith('/api/');
    if (!isApi && !page.has(path)) return false;
    const refuse = (status: number, text: string) => (isApi ? sendError(res, status, text) : sendText(res, status, text));
    if (!options.token) {
      if (!fromLoopback(req, options.localNetworks)) return done(req, refuse(403, WEB_TEXT.notLocal(hostPort(req))));
      if (!localHostHeader(req)) return done(req, refuse(403, WEB_TEXT.wrongHost(hostPort(req))));
    }
    if (!isApi) {
      req.resume();
      await page.serve(res, path);
      return true;
    }
    try {
      const codec = await sessions();
      const session = codec.read(req);
      const secure = req.headers['x-forwarded-proto'] === 'https';
      if (session.fresh) codec.write(res, session, secure);
      const post = req.method === 'POST';
      if (post && !sameOrigin(req)) return done(req, sendError(res, 403, WEB_TEXT.csrf));
      const wait = Math.max(calls.take(session.id), post ? Math.max(actions.take(session.id), perAddress.take(clientAddress(req))) : 0);
      if (wait > 0) {
        res.setHeader('retry-after', String(Math.ceil(wait / 1000)));
        return done(req, sendError(res, 429, WEB_TEXT.flood(Math.ceil(wait / 1000))));
      }
      if (path === '/api/session' && req.method === 'GET') {
        return done(req, sendJson(res, 200, { needsSignIn: Boolean(options.token) && !session.signedIn, tokenRequired: Boolean(options.token) }));
      }
      if (path === '/api/signin' && post) return done(req, await signIn(req, res, session, codec, secure));
      if (options.token && !session.signedIn) return done(req, sendError(res, 401, WEB_TEXT.signInNeeded));
      await dispatch(req, res, path, session);
    } catch (err) {
      options.logger.warn({ err, path }, 'playground request failed');
      if (!res.headersSent) sendError(res, 503, WEB_TEXT.unavailable);
      else res.end();
    }
    return true;
  };

  async function signIn(req: IncomingMessage, res: ServerResponse, session: Session, codec: SessionCodec, secure: boolean): Promise<void> {
    if (!options.token) return sendError(res, 400, WEB_TEXT.noSignIn);
    const body = await readJson(req, 4096);
    const given = body !== TOO_LARGE && body !== INVALID && typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
    if (typeof given !== 'string' || !tokenMatches(given, options.token)) return sendError(res, 401, WEB_TEXT.wrongToken);
    codec.write(res, { ...session, signedIn: true }, secure);
    sendJson(res, 200, { signedIn: true });
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse, path: string, session: Session): Promise<unknown> {
    const { api } = options;
    const requester: Requester = { platform: 'web', guildId: 'playground', userId: session.id };
    const get = req.method === 'GET' || req.method === 'HEAD';
    // A brand-new session (no cookie, or one that did not verify) has nothing to act on yet: reload the page first.
    if (req.method === 'POST' && session.fresh) return done(req, sendError(res, 401, WEB_TEXT.newSession));
    if (path === '/api/form' && get) return done(req, api.form(res));
    if (path === '/api/me' && get) return done(req, await api.me(res, requester));
    if (path === '/api/generate' && req.method === 'POST') return api.generate(req, res, requester);
    const action = req.method === 'POST' ? ACTIONS.get(path) : undefined;
    if (action) return options.actions[action](req, res, requester);
    // `/api/images/<id>` is the image (a gallery's first); `/api/images/<id>/<n>` a gallery's image n.
    const image = /^\/api\/images\/([^/]+)(?:\/([1-9]))?$/.exec(path);
    if (image && get) return done(req, await api.image(res, requester, image[1]!, image[2] === undefined ? 1 : Number(image[2])));
    const events = /^\/api\/jobs\/([^/]+)\/events$/.exec(path);
    if (events && get) {
      const open = streams.get(session.id) ?? 0;
      if (open >= limits.streams) return done(req, sendError(res, 429, WEB_TEXT.tooManyStreams));
      streams.set(session.id, open + 1);
      res.on('close', () => {
        const left = (streams.get(session.id) ?? 1) - 1;
        if (left > 0) streams.set(session.id, left);
        else streams.delete(session.id);
      });
      return api.events(req, res, requester, events[1]!);
    }
    done(req, sendError(res, 404, WEB_TEXT.notFound));
  }
}

/** Ends a route whose body was not read (a refusal): drains it so the connection can be reused. */
function done(req: IncomingMessage, _sent: void): true {
  if (!req.readableEnded) req.resume();
  return true;
}
