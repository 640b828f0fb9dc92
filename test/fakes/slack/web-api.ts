import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedCall } from '../fake-server.js';
import type { FakeSlackConfig } from './config.js';
import type { Workspace } from './workspace.js';

/** One Web API call as the fake answered it. */
export interface WebApiCall {
  /** e.g. `chat.postMessage`. */
  method: string;
  /** Decoded arguments: form fields, with object arguments (`blocks`, `view`, `files`, …) parsed from their JSON strings. */
  args: Record<string, unknown>;
  /** The token presented (Bearer header, else the `token` argument). Only the fake's own test tokens. */
  token: string | undefined;
  /** HTTP status the fake answered with (200, or 429 from `rateLimitNext`, or a `failNext` status). */
  status: number;
  response: Record<string, unknown>;
  at: number;
}

export type ApiResult = Record<string, unknown> & { ok: boolean };

/** What a method handler sees. */
export interface ApiContext {
  ws: Workspace;
  config: FakeSlackConfig;
  args: Record<string, unknown>;
  /** `http://127.0.0.1:PORT` of the fake, for URLs it hands out. */
  baseUrl: string;
}

export interface MethodSpec {
  /** Which token the method accepts: the bot token (`xoxb-`) or the app-level token (`xapp-`). */
  token: 'bot' | 'app';
  handle(ctx: ApiContext): ApiResult | Promise<ApiResult>;
}

interface Fault {
  status: number;
  error: string;
  retryAfterSec?: number;
  /** The method runs (its effects stay) and only its answer is the error. */
  processed?: boolean;
  /** No answer at all: the request is left open (see {@link WebApi.hangNext}). */
  hang?: boolean;
}

/** Arguments the WebClient sends as JSON strings; the fake decodes them so tests see objects. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'files', 'metadata', 'unfurls', 'user_auth_blocks']);

export const fail = (error: string, extra: Record<string, unknown> = {}): ApiResult => ({ ok: false, error, ...extra });

export function str(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : String(value);
}

/**
 * The Web API endpoint `POST /api/<method>`: decodes the form, checks the token, applies injected faults, runs the
 * method and records the call. Unknown methods answer `unknown_method` like Slack, and are also collected in
 * {@link WebApi.unknownMethods} and printed, so a method the fake lacks is never silently "ok".
 */
export class WebApi {
  readonly calls: WebApiCall[] = [];
  readonly unknownMethods: string[] = [];
  private readonly faults = new Map<string, Fault[]>();
  /** Requests left unanswered by {@link hangNext}. */
  private readonly hung = new Set<ServerResponse>();

  constructor(
    private readonly methods: Record<string, MethodSpec>,
    private readonly context: () => Omit<ApiContext, 'args'>,
    private readonly onRecord: () => void,
  ) {}

  /** The next `times` calls of `method` get HTTP 429 with `Retry-After` and `{ok:false,error:'ratelimited'}`. */
  rateLimitNext(method: string, retryAfterSec: number, times = 1): void {
    this.queueFault(method, { status: 429, error: 'ratelimited', retryAfterSec }, times);
  }

  /**
   * The next `times` calls of `method` answer `{ok:false,error}` (HTTP 200 like Slack, or `status` for 5xx tests).
   * With `processed`, the method still runs and keeps its effects (a message posted, a file shared): Slack did the
   * work but its answer was lost, as with a 5xx from its edge after a slow call.
   */
  failNext(method: string, error: string, options: { status?: number; times?: number; processed?: boolean } = {}): void {
    this.queueFault(method, { status: options.status ?? 200, error, ...(options.processed ? { processed: true } : {}) }, options.times ?? 1);
  }

  /**
   * The next `times` calls of `method` get no answer at all, as when Slack hangs: the request stays open until
   * {@link releaseHung} or the fake closes. They are recorded with status 0. With `processed` the method still runs.
   */
  hangNext(method: string, options: { times?: number; processed?: boolean } = {}): void {
    this.queueFault(method, { status: 0, error: 'fake_no_answer', hang: true, ...(options.processed ? { processed: true } : {}) }, options.times ?? 1);
  }

  /** Drops the connections of the hung requests (the client sees a socket hang up). */
  releaseHung(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  async handle(method: string, call: RecordedCall, res: ServerResponse): Promise<void> {
    const args = await decodeArgs(call);
    const token = bearer(call.headers.authorization) ?? str(args ?? {}, 'token');
    if (args) delete args.token;
    const { status, response, headers, hang } = args
      ? await this.answer(method, args, token)
      : { status: 200, response: fail('invalid_form_data'), headers: {}, hang: false };
    this.calls.push({ method, args: args ?? {}, token, status, response, at: Date.now() });
    this.onRecord();
    if (hang) {
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return;
    }
    sendJson(res, status, response, headers);
  }

  private async answer(
    method: string,
    args: Record<string, unknown>,
    token: string | undefined,
  ): Promise<{ status: number; response: ApiResult; headers: Record<string, string>; hang?: boolean }> {
    const spec = this.methods[method];
    if (!spec) {
      this.unknownMethods.push(method);
      console.warn(`[FakeSlack] unknown Web API method called: ${method} (add it to the fake)`);
      return { status: 200, response: fail('unknown_method', { req_method: method }), headers: {} };
    }
    const authError = this.checkToken(spec, token);
    if (authError) return { status: 200, response: fail(authError), headers: {} };
    // Text with half a surrogate pair (an emoji cut in two) is not valid UTF-16: the WebClient throws "URI malformed"
    // on such a form field itself; one nested in a JSON argument (a file's title) reaches Slack, which refuses it.
    if (!wellFormed(args)) return { status: 200, response: fail('invalid_arguments', { detail: 'fake: text with half a surrogate pair' }), headers: {} };
    const fault = this.faults.get(method)?.shift();
    if (fault?.hang) {
      if (fault.processed) await spec.handle({ ...this.context(), args });
      return { status: 0, response: fail(fault.error), headers: {}, hang: true };
    }
    if (fault) {
      if (fault.processed) await spec.handle({ ...this.context(), args });
      const headers: Record<string, string> = fault.retryAfterSec === undefined ? {} : { 'retry-after': String(fault.retryAfterSec) };
      return { status: fault.status, response: fail(fault.error), headers };
    }
    return { status: 200, response: await spec.handle({ ...this.context(), args }), headers: {} };
  }

  private checkToken(spec: MethodSpec, token: string | undefined): string | undefined {
    if (!token) return 'not_authed';
    const { botToken, appToken } = this.context().config;
    if (token !== botToken && token !== appToken) return 'invalid_auth';
    if ((spec.token === 'bot') !== (token === botToken)) return 'not_allowed_token_type';
    return undefined;
  }

  private queueFault(method: string, fault: Fault, times: number): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.faults.set(method, queue);
  }
}

function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Bearer\s+(.+)$/i.exec(value ?? '');
  return match?.[1];
}

/** Half a surrogate pair anywhere in a (decoded) argument. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return !LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
  return true;
}

/**
 * A form body decoded strictly, as Slack reads it: a percent-escape that is not valid UTF-8 (a client that encoded half
 * an emoji) makes the whole body invalid, instead of turning into U+FFFD as URLSearchParams would.
 */
function strictForm(raw: string): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      args[decode(eq < 0 ? pair : pair.slice(0, eq))] = eq < 0 ? '' : decode(pair.slice(eq + 1));
    }
  } catch {
    return undefined;
  }
  return args;
}

/** Form, JSON or multipart body → plain object, with JSON-string object arguments parsed; undefined: undecodable. */
async function decodeArgs(call: RecordedCall): Promise<Record<string, unknown> | undefined> {
  const contentType = String(call.headers['content-type'] ?? '');
  let args: Record<string, unknown> = {};
  if (contentType.startsWith('application/json')) {
    args = { ...(call.body as Record<string, unknown> | undefined) };
  } else if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake', { method: 'POST', headers: { 'content-type': contentType }, body: call.rawBody }).formData();
    for (const [key, value] of form) args[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
  } else {
    const form = strictForm(call.rawBody.toString('utf8'));
    if (!form) return undefined;
    args = form;
  }
  for (const key of JSON_ARGS) {
    const value = args[key];
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
      try {
        args[key] = JSON.parse(value);
      } catch {
        // Leave it a string: the method handler reports invalid_arguments like Slack would.
      }
    }
  }
  return args;
}
