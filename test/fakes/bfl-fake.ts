import { randomInt, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
import { pixelSize, type AspectRatio } from '../../src/core/models.js';
import { FakeServer, makeImage, notFound, sendJson, type RecordedCall } from './fake-server.js';
import { readInputImage } from './replicate-contract.js';

/**
 * A local Black Forest Labs API, as api.bfl.ai documents it: submit routes per model on one server, task status
 * on a second server standing for a regional cluster (api.eu.bfl.ai), which is the only one that knows its tasks, as
 * on the real service, and result samples as real image bytes that can expire like BFL's ten-minute URLs.
 *
 * Stricter than BFL in one way on purpose: unknown body fields are refused with 422, so a mapping that sends junk fails.
 *
 * Reference images (`input_image`, `input_image_2` …) are read as BFL would (base64 decoded, links downloaded) and kept
 * on the task in order. Submit and result answers carry `cost` in credits ($0.01 each), computed from BFL's price list
 * (`PRICES`): flat per image, or FLUX.2's megapixel rule over the output and every input image.
 */
export type BflFailure =
  /** The next submit answers this HTTP error. */
  | '401'
  | '402'
  | '422'
  | '429'
  | '429-retry-after'
  | '500'
  /** The next created task ends this way (hang: Pending forever). */
  | 'hang'
  | 'request-moderated'
  | 'content-moderated'
  | 'error'
  | 'error-input'
  | 'task-not-found'
  /** The next status answer is this HTTP error, or never comes (the task itself carries on). */
  | 'poll-500'
  | 'poll-429'
  | 'poll-stall';

type Outcome = 'ready' | 'hang' | 'request-moderated' | 'content-moderated' | 'error' | 'error-input' | 'task-not-found';

export interface BflFakeTask {
  id: string;
  endpoint: string;
  body: Record<string, unknown>;
  createdAt: number;
  /** The server whose result endpoint knows the task. */
  home: 'api' | 'region';
  outcome: Outcome;
  width: number;
  height: number;
  format: 'jpeg' | 'png';
  seed: number;
  /** When Ready was first answered (the sample's expiry counts from here). */
  readyAt?: number;
  image?: Buffer;
  /** The reference images BFL read, in field order (`input_image`, `input_image_2` …). */
  images: Buffer[];
  /** What the task costs, in credits. */
  cost: number;
}

export interface BflFakeOptions {
  /** The API key the fake accepts in `x-key`. Default `bfl-test-key`. */
  key?: string;
  /** How long a task stays Pending. Default 60 ms. */
  latencyMs?: number;
  /** Put `polling_url` on the second ("regional") server. Default true. */
  regionalPolling?: boolean;
  /** Samples answer 404 this long after the task first answered Ready. Default: never expire. */
  sampleTtlMs?: number;
}

const ULTRA_RATIOS = ['21:9', '16:9', '3:2', '4:3', '5:4', '1:1', '4:5', '3:4', '2:3', '9:16', '9:21'];
/** `input_image`, `input_image_2` … `input_image_<count>`. */
const imageFields = (count: number) => Array.from({ length: count }, (_, i) => (i === 0 ? 'input_image' : `input_image_${i + 1}`));
const FIELDS: Record<string, readonly string[]> = {
  'flux-pro': ['image_prompt', 'width', 'height', 'steps', 'guidance', 'interval', 'safety_tolerance', 'prompt_upsampling'],
  'flux-pro-1.1': ['image_prompt', 'width', 'height', 'safety_tolerance', 'prompt_upsampling'],
  'flux-pro-1.1-ultra': ['image_prompt', 'image_prompt_strength', 'aspect_ratio', 'safety_tolerance', 'prompt_upsampling', 'raw'],
  'flux-dev': ['image_prompt', 'width', 'height', 'steps', 'guidance', 'safety_tolerance', 'prompt_upsampling'],
  'flux-2-pro': [...imageFields(8), 'width', 'height', 'safety_tolerance'],
  'flux-2-max': [...imageFields(8), 'width', 'height', 'safety_tolerance'],
  'flux-2-flex': [...imageFields(8), 'width', 'height', 'steps', 'guidance', 'safety_tolerance', 'prompt_upsampling'],
  'flux-2-klein-4b': [...imageFields(4), 'width', 'height', 'safety_tolerance'],
  'flux-2-klein-9b': [...imageFields(4), 'width', 'height', 'safety_tolerance'],
  'flux-kontext-pro': [...imageFields(4), 'aspect_ratio', 'safety_tolerance', 'prompt_upsampling'],
  'flux-kontext-max': [...imageFields(4), 'aspect_ratio', 'safety_tolerance', 'prompt_upsampling'],
};
const isFlux2 = (endpoint: string) => endpoint.startsWith('flux-2-');
const isKontext = (endpoint: string) => endpoint.startsWith('flux-kontext-');

/**
 * BFL's price list in credits ($0.01 each): a flat price per image, or FLUX.2's first output megapixel plus each
 * further output megapixel and each input megapixel (a started megapixel of 1024 × 1024 counts whole).
 */
export const PRICES: Record<string, { flat: number } | { first: number; extra: number }> = {
  'flux-pro': { flat: 5 },
  'flux-pro-1.1': { flat: 4 },
  'flux-pro-1.1-ultra': { flat: 6 },
  'flux-dev': { flat: 2.5 },
  'flux-2-pro': { first: 3, extra: 1.5 },
  'flux-2-max': { first: 7, extra: 3 },
  'flux-2-flex': { first: 5, extra: 5 },
  'flux-2-klein-4b': { first: 1.4, extra: 0.1 },
  'flux-2-klein-9b': { first: 1.5, extra: 0.2 },
  'flux-kontext-pro': { flat: 4 },
  'flux-kontext-max': { flat: 8 },
};

const megapixels = (width: number, height: number) => Math.max(1, Math.ceil((width * height) / (1024 * 1024)));

/** The task's cost in credits, rounded to a hundredth of a credit as BFL's answers show it. */
function creditsFor(endpoint: string, size: { width: number; height: number }, inputs: ReadonlyArray<{ width: number; height: number }>): number {
  const price = PRICES[endpoint]!;
  if ('flat' in price) return price.flat;
  const further = megapixels(size.width, size.height) - 1 + inputs.reduce((sum, input) => sum + megapixels(input.width, input.height), 0);
  return Math.round((price.first + price.extra * further) * 100) / 100;
}

const COMMON = ['prompt', 'seed', 'output_format', 'webhook_url', 'webhook_secret'];
const SUBMIT_FAILURES = new Set<BflFailure>(['401', '402', '422', '429', '429-retry-after', '500']);
const POLL_FAILURES = new Set<BflFailure>(['poll-500', 'poll-429', 'poll-stall']);

export class BflFake {
  readonly api: FakeServer;
  readonly region: FakeServer;
  readonly tasks = new Map<string, BflFakeTask>();
  key: string;
  latencyMs: number;
  regionalPolling: boolean;
  sampleTtlMs: number | undefined;
  /** Delay before each submit answer (a slow API). */
  submitDelayMs = 0;
  /** Where `polling_url` points instead of the task's home server (a base such as `http://host:port/v1`). */
  pollingBase: string | undefined;
  /** When it returns a URL, the result endpoint answers `307` to it instead (an API that redirects its polls). */
  pollRedirect: ((call: RecordedCall) => string | undefined) | undefined;
  /** Tasks created through the HTTP API (`createTask` does not count). */
  created = 0;
  private readonly failures: BflFailure[] = [];
  private readonly closing = new AbortController();

  private constructor(options: BflFakeOptions) {
    this.key = options.key ?? 'bfl-test-key';
    this.latencyMs = options.latencyMs ?? 60;
    this.regionalPolling = options.regionalPolling ?? true;
    this.sampleTtlMs = options.sampleTtlMs;
    this.api = new FakeServer((call, res) => this.handle('api', call, res));
    this.region = new FakeServer((call, res) => this.handle('region', call, res));
  }

  static async start(options: BflFakeOptions = {}): Promise<BflFake> {
    const fake = new BflFake(options);
    await Promise.all([fake.api.listen(), fake.region.listen()]);
    return fake;
  }

  /** The API base to configure (`BFL_API_URL`). */
  get url(): string {
    return `${this.api.url}/v1`;
  }

  /** The "regional cluster" base where polling URLs and samples live. */
  get regionUrl(): string {
    return `${this.region.url}/v1`;
  }

  /** Every call to either server, oldest first; `headers.host` tells them apart. */
  get calls(): RecordedCall[] {
    return [...this.api.calls, ...this.region.calls].sort((a, b) => a.at - b.at);
  }

  callsTo(method: string, pathPattern: RegExp): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && pathPattern.test(c.path));
  }

  async waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`BflFake.waitFor timed out; calls: ${this.calls.map((c) => `${c.method} ${c.url}`).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Queues a failure for the next submit, task or status answer (by kind), `times` times. */
  failNext(kind: BflFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(kind);
  }

  /** Creates a task out of band (as an earlier worker would have), for resume tests. */
  createTask(input: { endpoint?: string; body?: Record<string, unknown>; outcome?: Outcome } = {}): { id: string; pollingUrl: string } {
    const task = this.addTask(input.endpoint ?? 'flux-pro', { prompt: 'out of band', ...input.body }, input.outcome ?? 'ready');
    return { id: task.id, pollingUrl: this.pollingUrl(task) };
  }

  sampleUrl(id: string): string {
    const task = this.tasks.get(id);
    return `${this.region.url}/samples/${id}.${task?.format === 'jpeg' ? 'jpg' : 'png'}`;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all([this.api.close(), this.region.close()]);
  }

  private take(kinds: (k: BflFailure) => boolean): BflFailure | undefined {
    const i = this.failures.findIndex(kinds);
    return i < 0 ? undefined : this.failures.splice(i, 1)[0];
  }

  private async handle(server: 'api' | 'region', call: RecordedCall, res: ServerResponse): Promise<void> {
    if (call.method === 'GET' && server === 'region' && call.path.startsWith('/samples/')) return this.serveSample(call, res);
    if (call.headers['x-key'] !== this.key) return sendJson(res, 401, { detail: 'Not authenticated - Invalid Authentication' });
    const redirect = call.method === 'GET' && call.path === '/v1/get_result' ? this.pollRedirect?.(call) : undefined;
    if (redirect) return void res.writeHead(307, { location: redirect }).end();
    if (call.method === 'GET' && call.path === '/v1/get_result') return this.serveResult(server, call, res);
    const endpoint = /^\/v1\/([\w.-]+)$/.exec(call.path)?.[1];
    if (server === 'api' && call.method === 'POST' && endpoint && Object.hasOwn(FIELDS, endpoint)) return this.submit(endpoint, call, res);
    notFound(res, call);
  }

  private async submit(endpoint: string, call: RecordedCall, res: ServerResponse): Promise<void> {
    if (this.submitDelayMs > 0) await this.delay(this.submitDelayMs);
    if (res.destroyed) return;
    const failure = this.take((k) => SUBMIT_FAILURES.has(k));
    if (failure === '401') return sendJson(res, 401, { detail: 'Not authenticated - Invalid Authentication' });
    if (failure === '402') return sendJson(res, 402, { detail: 'Insufficient credits' });
    if (failure === '422') return sendJson(res, 422, { detail: [{ loc: ['body', 'prompt'], msg: 'Field required', type: 'missing' }] });
    if (failure === '429') return sendJson(res, 429, { detail: 'You have reached the maximum of 24 active tasks.' });
    if (failure === '429-retry-after') return sendJson(res, 429, { detail: 'Too many active tasks.' }, { 'retry-after': '2' });
    if (failure === '500') return sendJson(res, 500, { detail: 'Internal Server Error' });

    const body = (call.body ?? {}) as Record<string, unknown>;
    const problems = validate(endpoint, body);
    if (problems.length > 0) return sendJson(res, 422, { detail: problems });
    const images: Buffer[] = [];
    const inputs: Array<{ width: number; height: number }> = [];
    for (const field of imageFields(8)) {
      if (typeof body[field] !== 'string') continue;
      try {
        const image = await readInputImage(body[field] as string);
        const meta = await sharp(image).metadata();
        images.push(image);
        inputs.push({ width: meta.width ?? 0, height: meta.height ?? 0 });
      } catch (err) {
        return sendJson(res, 422, { detail: [{ loc: ['body', field], msg: (err as Error).message, type: 'value_error' }] });
      }
    }
    const outcome = this.take((k) => !SUBMIT_FAILURES.has(k) && !POLL_FAILURES.has(k)) as Outcome | undefined;
    const task = this.addTask(endpoint, body, outcome ?? 'ready');
    task.images = images;
    task.cost = creditsFor(endpoint, task, inputs);
    this.created++;
    // BFL's AsyncWebhookResponse has no polling_url: clients poll the global result endpoint.
    if (typeof body.webhook_url === 'string') {
      task.home = 'api';
      return sendJson(res, 200, { id: task.id, status: 'Pending', webhook_url: body.webhook_url });
    }
    const inputMp = inputs.reduce((sum, input) => sum + megapixels(input.width, input.height), 0);
    sendJson(res, 200, { id: task.id, polling_url: this.pollingUrl(task), cost: task.cost, input_mp: inputMp, output_mp: megapixels(task.width, task.height) });
  }

  private addTask(endpoint: string, body: Record<string, unknown>, outcome: Outcome): BflFakeTask {
    const ratio = typeof body.aspect_ratio === 'string' ? (body.aspect_ratio as Exclude<AspectRatio, 'custom'>) : isKontext(endpoint) ? '1:1' : '16:9';
    const size =
      endpoint === 'flux-pro-1.1-ultra'
        ? pixelSize('flux-1.1-pro-ultra', ratio)
        : isKontext(endpoint)
          ? pixelSize('flux-kontext-pro', ratio)
          : { width: typeof body.width === 'number' ? body.width : 1024, height: typeof body.height === 'number' ? body.height : 768 };
    const task: BflFakeTask = {
      id: randomUUID(),
      endpoint,
      body,
      createdAt: Date.now(),
      home: this.regionalPolling ? 'region' : 'api',
      outcome,
      ...size,
      format: body.output_format === 'png' ? 'png' : 'jpeg',
      seed: typeof body.seed === 'number' ? body.seed : randomInt(0, 2 ** 31 - 1),
      images: [],
      cost: 0,
    };
    task.cost = PRICES[endpoint] ? creditsFor(endpoint, task, []) : 0;
    this.tasks.set(task.id, task);
    return task;
  }

  private pollingUrl(task: BflFakeTask): string {
    return `${this.pollingBase ?? (task.home === 'region' ? this.regionUrl : this.url)}/get_result?id=${task.id}`;
  }

  private async serveResult(server: 'api' | 'region', call: RecordedCall, res: ServerResponse): Promise<void> {
    const failure = this.take((k) => POLL_FAILURES.has(k));
    if (failure === 'poll-500') return sendJson(res, 500, { detail: 'Internal Server Error' });
    if (failure === 'poll-429') return sendJson(res, 429, { detail: 'Too many requests' }, { 'retry-after': '0' });
    if (failure === 'poll-stall') return; // Never answers; the socket is destroyed on close.
    const id = call.query.get('id') ?? '';
    const task = this.tasks.get(id);
    const answer = (status: string, more: Record<string, unknown> = {}) =>
      sendJson(res, 200, { id, status, result: null, progress: null, details: null, preview: null, ...more });
    if (!task || task.home !== server || task.outcome === 'task-not-found') return answer('Task not found');
    if (task.outcome === 'request-moderated') return answer('Request Moderated', { details: { 'Moderation Reasons': ['Input'] } });
    const elapsed = Date.now() - task.createdAt;
    if (task.outcome === 'hang') return answer('Pending');
    if (elapsed < this.latencyMs) return answer('Pending', { progress: Math.min(0.99, Math.round((elapsed / this.latencyMs) * 100) / 100) });
    if (task.outcome === 'content-moderated') return answer('Content Moderated', { details: { 'Moderation Reasons': ['Output'] } });
    if (task.outcome === 'error') return answer('Error', { details: { message: 'Internal error while generating' } });
    if (task.outcome === 'error-input') return answer('Error', { details: { message: 'Invalid image prompt: could not decode the image' } });
    task.image ??= await makeImage(task.width, task.height, task.format);
    task.readyAt ??= Date.now();
    const start = task.createdAt / 1000;
    answer('Ready', {
      cost: task.cost,
      result: { sample: this.sampleUrl(id), prompt: task.body.prompt, seed: task.seed, start_time: start, end_time: Date.now() / 1000, duration: elapsed / 1000 },
    });
  }

  private serveSample(call: RecordedCall, res: ServerResponse): void {
    const task = this.tasks.get(/^\/samples\/([\w-]+)\./.exec(call.path)?.[1] ?? '');
    const expired = task?.readyAt !== undefined && this.sampleTtlMs !== undefined && Date.now() - task.readyAt > this.sampleTtlMs;
    if (!task?.image || expired) return sendJson(res, 404, { detail: 'The specified blob does not exist.' });
    res.writeHead(200, { 'content-type': task.format === 'png' ? 'image/png' : 'image/jpeg', 'content-length': task.image.length });
    res.end(task.image);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** BFL's request validation (its OpenAPI ranges), answered as FastAPI's `{detail:[{loc,msg,type}]}`. */
function validate(endpoint: string, body: Record<string, unknown>): Array<{ loc: string[]; msg: string; type: string }> {
  const problems: Array<{ loc: string[]; msg: string; type: string }> = [];
  const bad = (field: string, msg: string) => problems.push({ loc: ['body', field], msg, type: 'value_error' });
  const allowed = new Set([...COMMON, ...(FIELDS[endpoint] ?? [])]);
  for (const key of Object.keys(body)) if (!allowed.has(key)) bad(key, 'Extra inputs are not permitted');
  const num = (field: string, min: number, max: number, integer: boolean, multiple = 1) => {
    const v = body[field];
    if (v === undefined) return;
    // The step applies to sizes only: fractional guidance or image prompt strength is valid.
    if (typeof v !== 'number' || v < min || v > max || (integer && !Number.isInteger(v)) || (multiple > 1 && v % multiple !== 0)) {
      bad(field, `must be a number between ${min} and ${max}${multiple > 1 ? `, a multiple of ${multiple}` : ''}`);
    }
  };
  if (typeof body.prompt !== 'string') bad('prompt', 'Input should be a valid string');
  if (isFlux2(endpoint)) {
    // FLUX.2: multiples of 16 from 64 px, at most 4 MP in all; safety 0..5; flex's guidance up to 10.
    num('width', 64, 4096, true, 16);
    num('height', 64, 4096, true, 16);
    if (typeof body.width === 'number' && typeof body.height === 'number' && body.width * body.height > 4 * 1024 * 1024) {
      bad('width', 'width × height must be at most 4 megapixels');
    }
    num('guidance', 1.5, 10, false);
    num('safety_tolerance', 0, 5, true);
  } else {
    num('width', 256, 1440, true, 32);
    num('height', 256, 1440, true, 32);
    num('guidance', 1.5, 5, false);
    num('safety_tolerance', 0, 6, true);
  }
  if (isKontext(endpoint) && body.input_image === undefined) bad('input_image', 'Field required');
  for (const field of imageFields(8)) {
    const v = body[field];
    if (v !== undefined && (typeof v !== 'string' || !(/^https?:\/\//.test(v) || /^[A-Za-z0-9+/]+=*$/.test(v)))) bad(field, `${field} must be a URL or a base64 encoded image`);
  }
  num('steps', 1, 50, true);
  num('interval', 1, 4, false);
  num('seed', 0, Number.MAX_SAFE_INTEGER, true);
  num('image_prompt_strength', 0, 1, false);
  if (body.output_format !== undefined && body.output_format !== 'jpeg' && body.output_format !== 'png') bad('output_format', "Input should be 'jpeg' or 'png'");
  if (body.aspect_ratio !== undefined && !ULTRA_RATIOS.includes(String(body.aspect_ratio))) bad('aspect_ratio', 'Aspect ratio must be between 21:9 and 9:21');
  for (const flag of ['prompt_upsampling', 'raw']) if (body[flag] !== undefined && typeof body[flag] !== 'boolean') bad(flag, 'Input should be a valid boolean');
  if (body.image_prompt !== undefined && (typeof body.image_prompt !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(body.image_prompt))) {
    bad('image_prompt', 'image_prompt must be a base64 encoded image');
  }
  if (body.webhook_url !== undefined && !/^https?:\/\//.test(String(body.webhook_url))) bad('webhook_url', 'Input should be a valid URL');
  return problems;
}
