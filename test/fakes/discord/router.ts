import type { ServerResponse } from 'node:http';
import { sendJson, sleep, type RecordedCall } from '../fake-server.js';
import type { FaultBook } from './faults.js';
import { API_PREFIX, decodePath, matchPath, parseBody, type DiscordCall } from './http.js';
import type { Recorder } from './recorder.js';
import { apiError, errors, type Reply } from './rules.js';
import { channelRoutes } from './routes/channels.js';
import type { RouteContext, RouteDef } from './routes/context.js';
import { interactionRoutes } from './routes/interactions.js';
import { miscRoutes } from './routes/misc.js';

/** Every route, first match wins (so `@original` precedes `:messageId`). */
const ROUTES: RouteDef[] = [...interactionRoutes, ...channelRoutes, ...miscRoutes];

/**
 * Answers one HTTP request: decode the path, parse the body, then (in order) auth, an armed fault, the route;
 * record the call with its answer, hold the answer back if a delay is armed, send it. An armed drop cuts the
 * connection before any of that: the call is recorded with status 0 and nothing is handled.
 */
export async function route(
  ctx: RouteContext,
  deps: { faults: FaultBook; calls: Recorder<DiscordCall>; token: string | undefined },
  raw: RecordedCall,
  res: ServerResponse,
): Promise<void> {
  const isApi = raw.path.startsWith(`${API_PREFIX}/`);
  const path = decodePath(isApi ? raw.path.slice(API_PREFIX.length) : raw.path);
  let def: RouteDef | undefined;
  let params: Record<string, string> | null = null;
  for (const candidate of ROUTES) {
    if (candidate.method !== raw.method || Boolean(candidate.cdn) === isApi) continue;
    params = matchPath(candidate.pattern, path);
    if (params) {
      def = candidate;
      break;
    }
  }
  const parsed = await parseBody(raw).catch((err: unknown) => ({ body: undefined, files: [], error: (err as Error).message }));
  const call: DiscordCall = {
    method: raw.method,
    path,
    url: raw.url,
    query: raw.query,
    headers: raw.headers,
    route: def?.name ?? null,
    params: params ?? {},
    body: parsed.body,
    files: parsed.files,
    status: 0,
    response: undefined,
    at: raw.at,
  };
  if (deps.faults.takeDrop(call)) {
    deps.calls.push(call);
    res.socket?.destroy();
    return;
  }
  const reply = answer(ctx, deps, def, call, parsed.error);
  call.status = reply.status;
  call.response = reply.json;
  deps.calls.push(call);
  const delay = deps.faults.takeDelay(call);
  if (delay > 0) await sleep(delay);
  send(res, reply);
}

function answer(ctx: RouteContext, deps: { faults: FaultBook; token: string | undefined }, def: RouteDef | undefined, call: DiscordCall, parseError: string | undefined): Reply {
  // Loud on purpose: a route the bot needs but the fake lacks must fail the test, not pass silently.
  if (!def) return { status: 404, json: { message: `fake discord: no route for ${call.method} ${call.path}`, code: 0 } };
  if (def.auth) {
    const auth = String(call.headers.authorization ?? '');
    if (!auth.startsWith('Bot ') || (deps.token !== undefined && auth !== `Bot ${deps.token}`)) return errors.unauthorized();
  }
  if (parseError !== undefined) return apiError(400, 50109, `The request body contains invalid JSON (${parseError}).`);
  const failure = deps.faults.takeFailure(call);
  if (failure) return failure;
  try {
    return def.handle(ctx, call);
  } catch (err) {
    return { status: 500, json: { message: `fake discord crashed: ${(err as Error).stack ?? String(err)}`, code: 0 } };
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const headers = reply.headers ?? {};
  if (reply.bytes) {
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/octet-stream', 'content-length': reply.bytes.length, ...headers });
    res.end(reply.bytes);
  } else if (reply.json === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
  } else {
    sendJson(res, reply.status, reply.json, headers);
  }
}
