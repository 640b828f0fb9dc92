import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { signReplicateWebhook } from '../../src/core/providers/replicate/webhook.js';
import { FakeServer, makeImage, notFound, sendJson, sleep, type RecordedCall } from './fake-server.js';
import {
  modelIdOf,
  outputShape,
  preferWait,
  PREDICTION_ERRORS,
  problem,
  PROBLEMS,
  readInputImage,
  referenceImages,
  returnsArray,
  THROTTLED,
  validateInput,
} from './replicate-contract.js';

/**
 * A local Replicate (or Replicate-compatible proxy) speaking Replicate's HTTP API (predictions, webhooks):
 * official-model create honouring `Prefer: wait`, `GET /predictions/{id}`, the paginated list `GET /predictions`
 * (newest first, `created_after`, a `next` link on another host like `urls.get`), cancel, the webhook secret, outputs
 * served as real image bytes from its own `/files/<id>.<ext>`, and `urls.get` pointing elsewhere (clients must ignore it).
 * Inputs are checked against each model's published schema (unknown fields and wrong types answer 422), and the
 * reference images are read as Replicate would (links downloaded, `data:` URIs decoded) and kept on the prediction.
 */

/**
 * HTTP faults answer one request instead of doing its work (`stall` never answers it; the socket is destroyed on
 * close); prediction faults decide how the next created prediction ends; slow creates do the work and lose the answer.
 */
export type ReplicateHttpFault = '429' | '429-no-header' | '429-bare' | '500' | '401' | '402' | '422' | 'stall';
/** The route an HTTP fault hits: the create call, a status poll, the list, or the download of an output file. */
export type ReplicateFaultRoute = 'create' | 'get' | 'list' | 'file';
export type ReplicatePredictionFault = 'moderate' | 'nsfw' | 'fail' | 'aborted' | 'canceled' | 'hang';
/**
 * A slow create: the prediction is created (it runs and is billed) but the answer is lost. `slow-create` holds the
 * answer for `lateMs` (default: until the fake closes), longer than any client waits; `dropped-create` resets the
 * connection instead of answering.
 */
export type ReplicateSlowCreate = 'slow-create' | 'dropped-create';
export type ReplicateFault = ReplicateHttpFault | ReplicatePredictionFault | ReplicateSlowCreate;

export interface ReplicateFakeOptions {
  /** Path the API lives under: `/v1` like Replicate, `/replicate/v1` to act as a proxy. */
  basePath?: string;
  /** The bearer token accepted. */
  token?: string;
  /** How long a prediction takes to finish. */
  latencyMs?: number;
  /** Base written into `urls.get`/`urls.cancel`; default a closed loopback port, so a client using it fails. */
  urlsBase?: string;
  webhookSecret?: string;
}

export interface FakePrediction {
  id: string;
  model: string;
  input: Record<string, unknown>;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
  output: string | string[] | null;
  error: string | null;
  logs: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  webhook?: string;
  webhookEventsFilter?: string[];
  /** The reference images as Replicate read them (downloaded or decoded), in the input's order. */
  images: Buffer[];
  /** Resolves when the prediction is finished (terminal, or its output exists). */
  readonly finished: Promise<void>;
}

interface Internal extends FakePrediction {
  fault: ReplicatePredictionFault | undefined;
  finish: () => void;
}

/**
 * The fake Replicate. Start with `ReplicateFake.start()`, point a provider at `baseUrl` with `token`, steer it with
 * `latencyMs`, `failNext(...)`, `arrayOutput`, `outputBeforeSucceeded`, `responseDelayMs`, and read `calls`/`created`.
 */
export class ReplicateFake {
  /** Switches tests may flip at any time. */
  latencyMs: number;
  /** `true`/`false` forces the output shape; undefined: an array for flux-dev/schnell, a string otherwise (as Replicate). */
  arrayOutput: boolean | undefined;
  /** Fill `output` but leave `status` at `processing`, as Replicate does for a moment with file outputs. */
  outputBeforeSucceeded = false;
  /** Delay before every API answer (a slow Replicate). */
  responseDelayMs = 0;
  /** Number of predictions created (over HTTP or out of band). */
  created = 0;
  /** Predictions per page of `GET /predictions` (Replicate: 100). */
  listPageSize = 100;
  /** False: `GET /predictions` answers 404, as a proxy that has no list. */
  listPredictions = true;
  /** Show `webhook` in prediction objects (undocumented for the list; clients must cope either way). */
  showsWebhook = false;
  /** Webhooks delivered by the fake (signed with `webhookSecret`). */
  readonly webhooksSent: Array<{ url: string; status: number; body: string }> = [];
  readonly basePath: string;
  readonly token: string;
  readonly webhookSecret: string;
  private readonly urlsBase: string;
  private readonly predictions = new Map<string, Internal>();
  private readonly files = new Map<string, { bytes: Buffer; contentType: string }>();
  private readonly faults: Array<{ fault: ReplicateFault; on: ReplicateFaultRoute; retryAfterSec: number; lateMs: number | undefined }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: FakeServer;
  private closed = false;

  private constructor(options: ReplicateFakeOptions) {
    this.basePath = (options.basePath ?? '/v1').replace(/\/+$/, '');
    this.token = options.token ?? 'r8_fake_token_for_tests';
    this.latencyMs = options.latencyMs ?? 50;
    this.urlsBase = options.urlsBase ?? 'http://127.0.0.1:1/v1';
    this.webhookSecret = options.webhookSecret ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    this.arrayOutput = undefined;
    this.server = new FakeServer((call, res) => this.handle(call, res));
  }

  static async start(options: ReplicateFakeOptions = {}): Promise<ReplicateFake> {
    const fake = new ReplicateFake(options);
    await fake.server.listen();
    return fake;
  }

  /** The server's origin, `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.server.url;
  }

  /** What to configure as `REPLICATE_API_URL`: the origin plus the base path. */
  get baseUrl(): string {
    return `${this.server.url}${this.basePath}`;
  }

  get calls(): RecordedCall[] {
    return this.server.calls;
  }

  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall> {
    return this.server.waitFor(predicate, timeoutMs);
  }

  /** Calls to an API path relative to the base path, e.g. `callsTo('GET', /^\/predictions\//)`. */
  callsTo(method: string, pattern: RegExp): RecordedCall[] {
    return this.server.calls.filter((c) => c.method === method && c.path.startsWith(this.basePath) && pattern.test(c.path.slice(this.basePath.length)));
  }

  /**
   * Queues a fault. HTTP faults hit the next create (or, with `on: 'get'`, the next status poll; `'list'`, the next
   * list page; `'file'`, the next download). `lateMs` is how long a `slow-create` holds its answer.
   */
  failNext(fault: ReplicateFault, options: { on?: ReplicateFaultRoute; retryAfterSec?: number; times?: number; lateMs?: number } = {}): this {
    for (let i = 0; i < (options.times ?? 1); i++) {
      this.faults.push({ fault, on: options.on ?? 'create', retryAfterSec: options.retryAfterSec ?? 7, lateMs: options.lateMs });
    }
    return this;
  }

  /** Predictions that ran (started on a GPU), which Replicate bills, whether or not anyone got their output. */
  get billed(): number {
    return [...this.predictions.values()].filter((p) => p.started_at !== null).length;
  }

  /** Every prediction created so far, in creation order. */
  all(): FakePrediction[] {
    return [...this.predictions.values()];
  }

  prediction(id: string): FakePrediction | undefined {
    return this.predictions.get(id);
  }

  /** Creates a prediction out of band (as if an earlier worker had), for resume tests; `createdAt` backdates it. */
  createPrediction(
    options: { model?: string; input?: Record<string, unknown>; fault?: ReplicatePredictionFault; webhook?: string; createdAt?: Date } = {},
  ): FakePrediction {
    const input = options.input ?? { prompt: 'made out of band', aspect_ratio: '1:1', output_format: 'png', seed: 42 };
    const p = this.create(options.model ?? 'black-forest-labs/flux-pro', input, options.fault, options.webhook);
    if (options.createdAt) p.created_at = options.createdAt.toISOString();
    return p;
  }

  /** Finishes a `hang` prediction now, successfully (tests that must see a state before the result). */
  async release(id: string): Promise<void> {
    const p = this.predictions.get(id);
    if (p) await this.complete(p);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const p of this.predictions.values()) p.finish();
    await this.server.close();
  }

  private async handle(call: RecordedCall, res: ServerResponse): Promise<void> {
    const file = /^\/files\/([\w.-]+)$/.exec(call.path);
    if (call.method === 'GET' && file) return this.httpFault('file', res) ? undefined : this.serveFile(file[1]!, res);
    if (!call.path.startsWith(`${this.basePath}/`)) return notFound(res, call);
    const path = call.path.slice(this.basePath.length);
    if (this.responseDelayMs > 0) await sleep(this.responseDelayMs);
    if (this.closed) return;
    if (call.headers.authorization !== `Bearer ${this.token}`) return problem(res, 401, PROBLEMS['401']);

    const create = /^\/models\/([\w.-]+)\/([\w.-]+)\/predictions$/.exec(path);
    const get = /^\/predictions\/([\w-]+)$/.exec(path);
    const cancel = /^\/predictions\/([\w-]+)\/cancel$/.exec(path);
    if (call.method === 'POST' && create) return this.handleCreate(`${create[1]}/${create[2]}`, call, res);
    if (call.method === 'GET' && path === '/predictions') {
      if (!this.listPredictions) return notFound(res, call);
      return this.httpFault('list', res) ? undefined : this.handleList(call, res);
    }
    if (call.method === 'GET' && get) {
      if (this.httpFault('get', res)) return;
      const p = this.predictions.get(get[1]!);
      return p ? sendJson(res, 200, this.render(p)) : problem(res, 404, { title: 'Not found', detail: 'Prediction not found' });
    }
    if (call.method === 'POST' && cancel) {
      const p = this.predictions.get(cancel[1]!);
      if (!p) return problem(res, 404, { title: 'Not found', detail: 'Prediction not found' });
      if (!isTerminal(p)) this.end(p, 'canceled');
      return sendJson(res, 200, this.render(p));
    }
    if (call.method === 'GET' && path === '/webhooks/default/secret') return sendJson(res, 200, { key: this.webhookSecret });
    notFound(res, call);
  }

  private async handleCreate(model: string, call: RecordedCall, res: ServerResponse): Promise<void> {
    if (this.httpFault('create', res)) return;
    const body = (call.body ?? {}) as { input?: Record<string, unknown>; webhook?: string; webhook_events_filter?: string[] };
    const modelId = modelIdOf('replicate', model);
    if (!modelId) return problem(res, 404, { title: 'Not found', detail: `The requested model ${model} was not found` });
    const invalid = validateInput(modelId, body.input);
    if (invalid) return problem(res, 422, { title: 'Input validation failed', detail: invalid });
    const images: Buffer[] = [];
    for (const source of referenceImages(modelId, body.input!)) {
      try {
        images.push(await readInputImage(source));
      } catch (err) {
        return problem(res, 422, { title: 'Input validation failed', detail: `- input: ${(err as Error).message}` });
      }
    }
    const next = this.faults[0];
    const fault = next && next.on === 'create' && isPredictionFault(next.fault) ? (this.faults.shift()!.fault as ReplicatePredictionFault) : undefined;
    const p = this.create(model, body.input!, fault, body.webhook, body.webhook_events_filter);
    p.images = images;

    const slow = this.faults[0];
    if (slow && slow.on === 'create' && isSlowCreate(slow.fault)) {
      this.faults.shift();
      // The work is done (the prediction runs and is billed); only the answer is lost.
      if (slow.fault === 'dropped-create') return void res.destroy();
      if (slow.lateMs === undefined) return;
      await sleep(slow.lateMs);
      if (!this.closed && !res.destroyed) sendJson(res, 201, this.render(p));
      return;
    }

    const wait = preferWait(call.headers.prefer);
    if (wait === undefined) return sendJson(res, 201, this.render(p));
    await Promise.race([p.finished, sleep(wait * 1000)]);
    sendJson(res, p.output !== null || isTerminal(p) ? 201 : 202, this.render(p));
  }

  /** `GET /predictions`: newest first, at or after `created_after`, `listPageSize` a page, `next` with an offset cursor. */
  private handleList(call: RecordedCall, res: ServerResponse): void {
    const after = call.query.get('created_after');
    const since = after ? Date.parse(after) : NaN;
    // Newest first; created in the same millisecond, the later one first (the sort is stable).
    const all = [...this.predictions.values()]
      .reverse()
      .filter((p) => !Number.isFinite(since) || Date.parse(p.created_at) >= since)
      .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    const offset = Number(call.query.get('cursor') ?? 0) || 0;
    const page = all.slice(offset, offset + this.listPageSize);
    let next: string | null = null;
    if (offset + page.length < all.length) {
      const query = new URLSearchParams(after ? { created_after: after } : {});
      query.set('cursor', String(offset + page.length));
      next = `${this.urlsBase.replace(/\/+$/, '')}/predictions?${query.toString()}`;
    }
    sendJson(res, 200, { next, previous: null, results: page.map((p) => this.render(p)) });
  }

  private create(model: string, input: Record<string, unknown>, fault?: ReplicatePredictionFault, webhook?: string, filter?: string[]): Internal {
    this.created++;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const p: Internal = {
      id: randomBytes(13).toString('hex').slice(0, 26),
      model,
      input,
      status: 'starting',
      output: null,
      error: null,
      logs: '',
      created_at: new Date().toISOString(),
      started_at: null,
      completed_at: null,
      ...(webhook ? { webhook } : {}),
      ...(filter ? { webhookEventsFilter: filter } : {}),
      images: [],
      finished,
      fault,
      finish,
    };
    this.predictions.set(p.id, p);
    this.after(this.latencyMs / 2, () => {
      if (p.status !== 'starting') return;
      p.status = 'processing';
      p.started_at = new Date().toISOString();
      p.logs = `Using seed: ${String(input.seed ?? 0)}\n`;
    });
    if (fault !== 'hang') this.after(this.latencyMs, () => void this.complete(p));
    return p;
  }

  private async complete(p: Internal): Promise<void> {
    if (isTerminal(p)) return;
    if (p.fault === 'aborted' || p.fault === 'canceled') return this.end(p, p.fault);
    const error = p.fault && p.fault in PREDICTION_ERRORS ? PREDICTION_ERRORS[p.fault as keyof typeof PREDICTION_ERRORS] : undefined;
    if (error) {
      p.error = error;
      return this.end(p, 'failed');
    }
    const modelId = modelIdOf('replicate', p.model) ?? 'flux-pro';
    const { width, height, format } = outputShape(modelId, p.input);
    const ext = format === 'jpeg' ? 'jpg' : format;
    const name = `${p.id}.${ext}`;
    this.files.set(name, { bytes: await makeImage(width, height, format), contentType: `image/${format}` });
    if (isTerminal(p)) return; // canceled while the image was being drawn
    const url = `${this.url}/files/${name}`;
    const array = this.arrayOutput ?? returnsArray(modelId);
    p.output = array ? [url] : url;
    if (this.outputBeforeSucceeded) {
      p.status = 'processing';
      p.finish();
      return;
    }
    this.end(p, 'succeeded');
  }

  private end(p: Internal, status: 'succeeded' | 'failed' | 'canceled' | 'aborted'): void {
    p.status = status;
    p.completed_at = new Date().toISOString();
    p.finish();
    if (p.webhook && (!p.webhookEventsFilter || p.webhookEventsFilter.includes('completed'))) void this.sendWebhook(p.webhook, p);
  }

  private async sendWebhook(url: string, p: Internal): Promise<void> {
    const body = JSON.stringify(this.render(p));
    const id = `msg_${randomBytes(12).toString('hex')}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = signReplicateWebhook({ id, timestamp, body, secret: this.webhookSecret });
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
        body,
      });
      await res.body?.cancel();
      this.webhooksSent.push({ url, status: res.status, body });
    } catch {
      this.webhooksSent.push({ url, status: 0, body });
    }
  }

  /** Answers the queued HTTP fault for this route, if any. */
  private httpFault(on: ReplicateFaultRoute, res: ServerResponse): boolean {
    const next = this.faults[0];
    if (!next || next.on !== on || isPredictionFault(next.fault) || isSlowCreate(next.fault)) return false;
    this.faults.shift();
    switch (next.fault) {
      case '429':
        sendJson(res, 429, { detail: THROTTLED }, { 'retry-after': String(next.retryAfterSec) });
        break;
      case '429-no-header':
        sendJson(res, 429, { detail: THROTTLED });
        break;
      case '429-bare':
        sendJson(res, 429, { detail: 'Request was throttled.' });
        break;
      case 'stall':
        break;
      default:
        problem(res, Number(next.fault), PROBLEMS[next.fault as keyof typeof PROBLEMS]);
    }
    return true;
  }

  private serveFile(name: string, res: ServerResponse): void {
    const file = this.files.get(name);
    if (!file) return sendJson(res, 404, { detail: 'file not found' });
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length });
    res.end(file.bytes);
  }

  private render(p: Internal): Record<string, unknown> {
    const base = `${this.urlsBase.replace(/\/+$/, '')}/predictions/${p.id}`;
    return {
      id: p.id,
      model: p.model,
      version: 'hidden',
      input: p.input,
      logs: p.logs,
      output: p.output,
      data_removed: false,
      error: p.error,
      status: p.status,
      created_at: p.created_at,
      started_at: p.started_at,
      completed_at: p.completed_at,
      urls: { get: base, cancel: `${base}/cancel`, web: `https://replicate.com/p/${p.id}` },
      ...(this.showsWebhook && p.webhook ? { webhook: p.webhook } : {}),
      ...(p.status === 'succeeded' ? { metrics: { predict_time: this.latencyMs / 1000 } } : {}),
    };
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function isTerminal(p: FakePrediction): boolean {
  return p.status === 'succeeded' || p.status === 'failed' || p.status === 'canceled' || p.status === 'aborted';
}

function isPredictionFault(fault: ReplicateFault): fault is ReplicatePredictionFault {
  return ['moderate', 'nsfw', 'fail', 'aborted', 'canceled', 'hang'].includes(fault);
}

function isSlowCreate(fault: ReplicateFault): fault is ReplicateSlowCreate {
  return fault === 'slow-create' || fault === 'dropped-create';
}
