import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ASPECT_RATIOS, pixelSize, type AspectRatio, type ModelId } from '../../src/core/models.js';
import { FakeServer, makeImage, notFound, sendJson, sleep, type RecordedCall } from './fake-server.js';
import { readInputImage } from './replicate-contract.js';

/**
 * A local fal.ai queue, as fal's queue API documents it: submit, status, result, cancel, and a files route serving
 * real image bytes, so the provider runs through real HTTP against it.
 *
 * Faults come in two kinds. Call faults answer the next call to one route (`submit` unless said otherwise) with an
 * HTTP error, or never answer (`stall`). Outcome faults shape the next request created: `moderate` and `error`
 * complete with fal's error bodies, `hang` never leaves IN_PROGRESS.
 *
 * The `status_url` / `response_url` / `cancel_url` it returns point at a second server, `decoy`, that answers 500 to
 * everything: a client that follows them instead of building URLs from its configured base shows up in `decoy.calls`.
 *
 * Each endpoint's input is checked against its published schema (`ENDPOINTS`): an unknown field, a wrong type or a
 * missing reference image answers fal's 422. Reference images are read as fal would (links downloaded, `data:` URIs
 * decoded) and kept on the request, in order.
 *
 * `num_images` (1–4, on the endpoints whose schema has it; a 422 elsewhere) makes that many images: the result lists
 * them in order, image 0 at `/files/<id>.<ext>` and image i at `/files/<id>-<i>.<ext>`, each a different colour, with
 * `has_nsfw_concepts` per image. The outcome fault `short` completes with one image fewer than asked.
 */
export type FalCallFault = '429' | '429-no-retry-after' | '500' | '422' | '401' | 'out_of_credits' | 'stall';
export type FalOutcomeFault = 'moderate' | 'error' | 'hang' | 'short';
export type FalFault = FalCallFault | FalOutcomeFault;
export type FalRoute = 'submit' | 'status' | 'result' | 'cancel';

export interface FalFakeOptions {
  /** The key the fake accepts as `Authorization: Key <key>`. Default `fal-test-key`. */
  key?: string;
  latencyMs?: number;
  queuePosition?: number;
}

export interface FalFakeRequest {
  id: string;
  modelId: string;
  appId: string;
  input: Record<string, unknown>;
  createdAt: number;
  /** Positions still to report while queued; counts down one per status poll. */
  position: number;
  state: 'queued' | 'running' | 'completed' | 'canceled';
  outcome: 'ok' | FalOutcomeFault;
  webhookUrl: string | undefined;
  /** Seed reported in the result (the input's, else one the fake chose). */
  seed: number;
  /** The reference images fal read (`image_urls`, or Kontext's `image_url`), in order. */
  images: Buffer[];
  /** The input's `num_images` (1 when absent): how many images this one request was asked for. */
  numImages: number;
}

/** One input field of a fal schema. */
type Rule =
  | { type: 'string' | 'boolean' | 'image' | 'images' | 'image_size' }
  | { type: 'integer' | 'number'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] };

interface EndpointSchema {
  fields: Record<string, Rule>;
  /** The field holding the reference images (required on edit endpoints). */
  references?: 'image_urls' | 'image_url';
  /** The model whose sizes its `aspect_ratio` renders at. */
  ratiosOf?: ModelId;
}

const SAFETY_6: Rule = { type: 'enum', values: ['1', '2', '3', '4', '5', '6'] };
const SAFETY_5: Rule = { type: 'enum', values: ['1', '2', '3', '4', '5'] };
const FORMAT: Rule = { type: 'enum', values: ['jpeg', 'png'] };
const RATIOS: Rule = { type: 'enum', values: ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'] };
const COMMON: Record<string, Rule> = { prompt: { type: 'string' }, seed: { type: 'integer', min: 0, max: 2 ** 53 }, output_format: FORMAT, sync_mode: { type: 'boolean' } };
const NUM_IMAGES: Rule = { type: 'integer', min: 1, max: 4 };
const STEPS: Rule = { type: 'integer', min: 1, max: 50 };
const FLUX_2: Record<string, Rule> = { ...COMMON, image_size: { type: 'image_size' }, safety_tolerance: SAFETY_5, enable_safety_checker: { type: 'boolean' } };
const FLUX_2_FLEX: Record<string, Rule> = {
  ...FLUX_2,
  num_inference_steps: STEPS,
  guidance_scale: { type: 'number', min: 1.5, max: 10 },
  enable_prompt_expansion: { type: 'boolean' },
};
const KONTEXT: EndpointSchema = {
  fields: {
    ...COMMON,
    image_url: { type: 'image' },
    aspect_ratio: RATIOS,
    guidance_scale: { type: 'number', min: 1, max: 20 },
    num_images: NUM_IMAGES,
    safety_tolerance: SAFETY_6,
    enhance_prompt: { type: 'boolean' },
  },
  references: 'image_url',
  ratiosOf: 'flux-kontext-pro',
};
const FLUX_1: Record<string, Rule> = { ...COMMON, image_size: { type: 'image_size' }, num_images: NUM_IMAGES, safety_tolerance: SAFETY_6, enhance_prompt: { type: 'boolean' } };
const OPEN_FLUX_1: Record<string, Rule> = { ...COMMON, image_size: { type: 'image_size' }, num_images: NUM_IMAGES, num_inference_steps: STEPS, enable_safety_checker: { type: 'boolean' } };

/** The endpoints the fake serves, each with its input schema as fal's API reference lists it. */
export const ENDPOINTS: Record<string, EndpointSchema> = {
  'fal-ai/flux-pro/new': { fields: { ...FLUX_1, num_inference_steps: STEPS, guidance_scale: { type: 'number', min: 1, max: 20 } } },
  'fal-ai/flux-pro/v1.1': { fields: FLUX_1 },
  'fal-ai/flux-pro/v1.1-ultra': {
    fields: {
      ...COMMON,
      aspect_ratio: RATIOS,
      num_images: NUM_IMAGES,
      safety_tolerance: SAFETY_6,
      enhance_prompt: { type: 'boolean' },
      raw: { type: 'boolean' },
      image_url: { type: 'image' },
      image_prompt_strength: { type: 'number', min: 0, max: 1 },
    },
    ratiosOf: 'flux-1.1-pro-ultra',
  },
  'fal-ai/flux/dev': { fields: { ...OPEN_FLUX_1, guidance_scale: { type: 'number', min: 1, max: 20 } } },
  'fal-ai/flux/schnell': { fields: OPEN_FLUX_1 },
  'fal-ai/flux-2-pro': { fields: FLUX_2 },
  'fal-ai/flux-2-pro/edit': { fields: { ...FLUX_2, image_urls: { type: 'images' } }, references: 'image_urls' },
  'fal-ai/flux-2-max': { fields: FLUX_2 },
  'fal-ai/flux-2-max/edit': { fields: { ...FLUX_2, image_urls: { type: 'images' } }, references: 'image_urls' },
  'fal-ai/flux-2-flex': { fields: FLUX_2_FLEX },
  'fal-ai/flux-2-flex/edit': { fields: { ...FLUX_2_FLEX, image_urls: { type: 'images' } }, references: 'image_urls' },
  'fal-ai/flux-2/klein/4b': { fields: { ...COMMON, image_size: { type: 'image_size' }, num_inference_steps: STEPS, num_images: NUM_IMAGES, enable_safety_checker: { type: 'boolean' } } },
  'fal-ai/flux-pro/kontext': KONTEXT,
  'fal-ai/flux-pro/kontext/max': KONTEXT,
};

type Problem = { loc: string[]; msg: string; type: string };

/** fal's 422 items for an input its schema refuses; empty when the input is valid. */
function validate(schema: EndpointSchema, input: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const bad = (field: string, msg: string, type = 'value_error') => problems.push({ loc: ['body', field], msg, type });
  if (typeof input.prompt !== 'string' || input.prompt === '') bad('prompt', 'Field required', 'missing');
  if (schema.references && input[schema.references] === undefined) bad(schema.references, 'Field required', 'missing');
  for (const [field, value] of Object.entries(input)) {
    const rule = schema.fields[field];
    if (!rule) {
      bad(field, 'Extra inputs are not permitted', 'extra_forbidden');
      continue;
    }
    const isImage = (v: unknown) => typeof v === 'string' && /^(https?:\/\/|data:image\/)/.test(v);
    switch (rule.type) {
      case 'string':
        if (typeof value !== 'string') bad(field, 'Input should be a valid string', 'string_type');
        break;
      case 'boolean':
        if (typeof value !== 'boolean') bad(field, 'Input should be a valid boolean', 'bool_type');
        break;
      case 'image':
        if (!isImage(value)) bad(field, 'Input should be a valid URL', 'url_parsing');
        break;
      case 'images':
        if (!Array.isArray(value) || value.length === 0 || !value.every(isImage)) bad(field, 'Input should be a list of valid URLs', 'list_type');
        break;
      case 'image_size': {
        const size = value as { width?: unknown; height?: unknown } | string;
        const ok = typeof size === 'string' ? size in PRESETS : Number.isInteger(size?.width) && Number.isInteger(size?.height);
        if (!ok) bad(field, 'Input should be a valid ImageSize or a preset', 'union_tag_invalid');
        break;
      }
      case 'enum':
        if (typeof value !== 'string' || !rule.values.includes(value)) bad(field, `Input should be ${rule.values.map((v) => `'${v}'`).join(' or ')}`, 'enum');
        break;
      case 'integer':
      case 'number':
        if (typeof value !== 'number' || (rule.type === 'integer' && !Number.isInteger(value))) bad(field, `Input should be a valid ${rule.type}`, `${rule.type === 'integer' ? 'int' : 'float'}_type`);
        else if (value < rule.min || value > rule.max) bad(field, `Input should be between ${rule.min} and ${rule.max}`, 'range');
        break;
    }
  }
  return problems;
}

interface QueuedFault {
  kind: FalCallFault;
  route: FalRoute;
  retryAfter: string;
}

const STATUS_PATH = /^\/([^/]+)\/([^/]+)\/requests\/([^/]+)(\/status|\/cancel)?$/;
/** `/files/<request id>.<ext>` (image 0) or `/files/<request id>-<index>.<ext>`. */
const FILE_PATH = /^\/files\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-([1-9]))?\.(png|jpeg)$/;
/** Each image of a request its own colour, so a test can tell them apart (image 0 keeps makeImage's default). */
export const FAL_IMAGE_COLOURS = ['#3366cc', '#cc3333', '#33aa55', '#ddaa22'] as const;
const PRESETS: Record<string, [number, number]> = {
  square_hd: [1024, 1024],
  square: [512, 512],
  portrait_4_3: [768, 1024],
  portrait_16_9: [576, 1024],
  landscape_4_3: [1024, 768],
  landscape_16_9: [1024, 576],
};

export class FalFake {
  /** Milliseconds from submit until a request may complete (it also passes through IN_PROGRESS at least once). */
  latencyMs: number;
  /** Queue position new requests start at; each status poll while queued lowers it by one. */
  queuePosition: number;
  /** Results flag every image in `has_nsfw_concepts` while set. */
  nsfw = false;
  /** Results flag these image indexes (besides all of them while `nsfw` is set). */
  nsfwIndexes: number[] = [];
  /** Delay before every queue answer (a slow API). */
  responseDelayMs = 0;
  /** Requests created through the submit route (not `createOutOfBand`). */
  created = 0;
  /** Cancel calls that stopped a request. */
  canceled = 0;
  /** Webhook deliveries made (`?fal_webhook=`), with the status code the receiver answered. */
  readonly webhooks: Array<{ url: string; body: unknown; status: number }> = [];
  readonly requests = new Map<string, FalFakeRequest>();
  readonly key: string;

  private readonly faults: QueuedFault[] = [];
  private readonly outcomes: FalOutcomeFault[] = [];
  private readonly files = new Map<string, Promise<Buffer>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly server: FakeServer,
    /** Where the answers' `*_url` fields point; nothing should ever call it. */
    readonly decoy: FakeServer,
    options: FalFakeOptions,
  ) {
    this.key = options.key ?? 'fal-test-key';
    this.latencyMs = options.latencyMs ?? 0;
    this.queuePosition = options.queuePosition ?? 0;
  }

  static async start(options: FalFakeOptions = {}): Promise<FalFake> {
    const decoy = await new FakeServer((_call, res) => sendJson(res, 500, { detail: 'decoy: the client followed a URL from an answer' })).listen();
    const holder: { fake?: FalFake } = {};
    const server = new FakeServer((call, res) => holder.fake!.handle(call, res));
    const fake = new FalFake(server, decoy, options);
    holder.fake = fake;
    await server.listen();
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  get calls(): RecordedCall[] {
    return this.server.calls;
  }

  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall> {
    return this.server.waitFor(predicate, timeoutMs);
  }

  callsTo(method: string, pathPattern: RegExp): RecordedCall[] {
    return this.server.callsTo(method, pathPattern);
  }

  /** Queues a fault: call faults hit the next call to `route` (default `submit`), outcome faults the next request. */
  failNext(kind: FalFault, options: { route?: FalRoute; retryAfter?: string } = {}): void {
    if (kind === 'moderate' || kind === 'error' || kind === 'hang' || kind === 'short') this.outcomes.push(kind);
    else this.faults.push({ kind, route: options.route ?? 'submit', retryAfter: options.retryAfter ?? '1' });
  }

  /** Creates a request as if an earlier worker had submitted it (for resume tests); not counted in `created`. */
  createOutOfBand(modelId = 'fal-ai/flux-pro/v1.1', input: Record<string, unknown> = { prompt: 'out of band' }): string {
    return this.create(modelId, input, undefined).id;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([this.server.close(), this.decoy.close()]);
  }

  private async handle(call: RecordedCall, res: ServerResponse): Promise<void> {
    const file = FILE_PATH.exec(call.path);
    if (file && call.method === 'GET') return this.serveFile(file[1]!, Number(file[2] ?? 0), file[3] as 'png' | 'jpeg', res);
    if (this.responseDelayMs > 0) await sleep(this.responseDelayMs);
    if (call.headers.authorization !== `Key ${this.key}`) {
      return sendJson(res, 401, { detail: 'Authentication is required to access this application.' });
    }
    const match = STATUS_PATH.exec(call.path);
    const route: FalRoute | undefined = match
      ? match[4] === '/status' ? 'status' : match[4] === '/cancel' ? 'cancel' : 'result'
      : call.method === 'POST' ? 'submit' : undefined;
    if (!route) return notFound(res, call);
    const fault = this.takeFault(route);
    if (fault) return this.sendFault(fault, res);
    if (route === 'submit') return this.submit(call, res);
    const request = this.requests.get(decodeURIComponent(match![3]!));
    // Status, result and cancel live under the app id; a client that keeps the model's sub-path gets a 404.
    if (!request || request.appId !== `${match![1]}/${match![2]}`) return sendJson(res, 404, { detail: 'Request not found' });
    const expected = route === 'cancel' ? 'PUT' : 'GET';
    if (call.method !== expected) return sendJson(res, 405, { detail: 'Method Not Allowed' });
    if (route === 'status') return this.status(request, res);
    if (route === 'cancel') return this.cancel(request, res);
    return this.result(request, res);
  }

  private async submit(call: RecordedCall, res: ServerResponse): Promise<void> {
    const modelId = call.path.replace(/^\/+|\/+$/g, '');
    if (modelId.split('/').length < 2 || !call.body || typeof call.body !== 'object') {
      return sendJson(res, 422, { detail: [{ loc: ['body'], msg: 'Field required', type: 'missing' }] });
    }
    const schema = ENDPOINTS[modelId];
    if (!schema) return sendJson(res, 404, { detail: `Application '${modelId}' not found` });
    const input = call.body as Record<string, unknown>;
    const problems = validate(schema, input);
    if (problems.length > 0) return sendJson(res, 422, { detail: problems });
    const sources = schema.references === undefined || input[schema.references] === undefined ? [] : ([] as string[]).concat(input[schema.references] as string | string[]);
    const images: Buffer[] = [];
    for (const source of sources) {
      try {
        images.push(await readInputImage(source));
      } catch (err) {
        return sendJson(res, 422, { detail: [{ loc: ['body', schema.references!], msg: (err as Error).message, type: 'image_load_error' }] });
      }
    }
    this.created += 1;
    const request = this.create(modelId, input, call.query.get('fal_webhook') ?? undefined);
    request.images = images;
    sendJson(res, 200, { status: 'IN_QUEUE', request_id: request.id, ...this.links(request), queue_position: request.position });
  }

  private create(modelId: string, input: Record<string, unknown>, webhookUrl: string | undefined): FalFakeRequest {
    const id = randomUUID();
    const seed = typeof input.seed === 'number' ? input.seed : Math.floor(Math.random() * 2 ** 31);
    const request: FalFakeRequest = {
      id,
      modelId,
      appId: modelId.split('/').slice(0, 2).join('/'),
      input,
      createdAt: Date.now(),
      position: this.queuePosition,
      state: 'queued',
      outcome: this.outcomes.shift() ?? 'ok',
      webhookUrl,
      seed,
      images: [],
      numImages: typeof input.num_images === 'number' ? input.num_images : 1,
    };
    this.requests.set(id, request);
    if (webhookUrl && request.outcome !== 'hang') {
      // With a webhook nobody needs to poll: the request completes after latencyMs and the receiver is told.
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (request.state === 'canceled') return;
        request.state = 'completed';
        void this.deliverWebhook(request);
      }, this.latencyMs);
      this.timers.add(timer);
    }
    return request;
  }

  private status(request: FalFakeRequest, res: ServerResponse): void {
    const base = { request_id: request.id, ...this.links(request) };
    if (request.state === 'queued' && request.position > 0) {
      sendJson(res, 202, { status: 'IN_QUEUE', ...base, queue_position: request.position });
      request.position -= 1;
      return;
    }
    if (request.state === 'queued') {
      request.state = 'running';
      return sendJson(res, 202, { status: 'IN_PROGRESS', ...base, logs: [] });
    }
    if (request.state === 'running' && (request.outcome === 'hang' || Date.now() - request.createdAt < this.latencyMs)) {
      return sendJson(res, 202, { status: 'IN_PROGRESS', ...base, logs: [] });
    }
    if (request.state === 'running') request.state = 'completed';
    const failure = this.failureOf(request);
    sendJson(res, 200, {
      status: 'COMPLETED',
      ...base,
      logs: [],
      metrics: { inference_time: 0.1 },
      ...(failure ? { error: failure.message, error_type: failure.errorType } : {}),
    });
  }

  private async result(request: FalFakeRequest, res: ServerResponse): Promise<void> {
    if (request.state !== 'completed' && request.state !== 'canceled') {
      return sendJson(res, 400, { detail: 'Request is still in progress' });
    }
    const failure = this.failureOf(request);
    if (failure) {
      return sendJson(res, failure.status, failure.body, failure.errorType ? { 'x-fal-error-type': failure.errorType } : {});
    }
    sendJson(res, 200, this.output(request));
  }

  private cancel(request: FalFakeRequest, res: ServerResponse): void {
    if (request.state === 'completed') return sendJson(res, 400, { status: 'ALREADY_COMPLETED' });
    if (request.state !== 'canceled') this.canceled += 1;
    request.state = 'canceled';
    sendJson(res, 202, { status: 'CANCELLATION_REQUESTED' });
  }

  private output(request: FalFakeRequest): Record<string, unknown> {
    const [width, height] = sizeOf(request);
    const format = request.input.output_format === 'png' ? 'png' : 'jpeg';
    const made = request.outcome === 'short' ? request.numImages - 1 : request.numImages;
    const indexes = Array.from({ length: made }, (_, i) => i);
    return {
      images: indexes.map((i) => ({ url: `${this.url}/files/${request.id}${i === 0 ? '' : `-${i}`}.${format}`, width, height, content_type: `image/${format}` })),
      seed: request.seed,
      has_nsfw_concepts: indexes.map((i) => this.nsfw || this.nsfwIndexes.includes(i)),
      prompt: request.input.prompt,
      timings: { inference: 0.1 },
    };
  }

  /** fal's error bodies for a request that did not produce an image. */
  private failureOf(request: FalFakeRequest): { status: number; body: unknown; message: string; errorType?: string } | undefined {
    if (request.state === 'canceled') {
      return { status: 499, body: { detail: 'Request cancelled by the client', error_type: 'client_cancelled' }, message: 'Request cancelled by the client', errorType: 'client_cancelled' };
    }
    if (request.outcome === 'moderate') {
      const msg = 'The content could not be processed because it contained material flagged by a content checker.';
      const item = { loc: ['body', 'prompt'], msg, type: 'content_policy_violation', url: 'https://docs.fal.ai/errors#content_policy_violation' };
      return { status: 422, body: { detail: [item] }, message: msg, errorType: 'content_policy_violation' };
    }
    if (request.outcome === 'error') {
      return { status: 500, body: { detail: 'The runner encountered an internal server error', error_type: 'runner_server_error' }, message: 'The runner encountered an internal server error', errorType: 'runner_server_error' };
    }
    return undefined;
  }

  private async serveFile(id: string, index: number, format: 'png' | 'jpeg', res: ServerResponse): Promise<void> {
    const request = this.requests.get(id);
    if (!request || index >= request.numImages) return sendJson(res, 404, { detail: 'file not found' });
    const [width, height] = sizeOf(request);
    const key = `${request.id}-${index}`;
    let bytes = this.files.get(key);
    if (!bytes) {
      bytes = makeImage(width, height, format, FAL_IMAGE_COLOURS[index]);
      this.files.set(key, bytes);
    }
    const body = await bytes;
    res.writeHead(200, { 'content-type': `image/${format}`, 'content-length': body.length });
    res.end(body);
  }

  private takeFault(route: FalRoute): QueuedFault | undefined {
    const index = this.faults.findIndex((f) => f.route === route);
    return index < 0 ? undefined : this.faults.splice(index, 1)[0];
  }

  private sendFault(fault: QueuedFault, res: ServerResponse): void {
    switch (fault.kind) {
      case '429':
        return sendJson(res, 429, { detail: 'Too many concurrent requests' }, { 'retry-after': fault.retryAfter });
      case '429-no-retry-after':
        return sendJson(res, 429, { detail: 'Too many concurrent requests' });
      case '500':
        return sendJson(res, 500, { detail: 'An unexpected internal error occurred', error_type: 'internal_error' }, { 'x-fal-error-type': 'internal_error' });
      case '422':
        return sendJson(res, 422, {
          detail: [{ loc: ['body', 'num_inference_steps'], msg: 'Input should be less than or equal to 50', type: 'less_than_equal', ctx: { le: 50 } }],
        });
      case '401':
        return sendJson(res, 401, { detail: 'Authentication is required to access this application.' });
      case 'out_of_credits':
        return sendJson(res, 403, { detail: 'User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.' });
      case 'stall':
        return; // Never answers; the socket is destroyed on close.
    }
  }

  /** The URLs fal puts in its answers, here on the decoy host. */
  private links(request: FalFakeRequest): Record<string, string> {
    const base = `${this.decoy.url}/${request.appId}/requests/${request.id}`;
    return { response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel` };
  }

  private async deliverWebhook(request: FalFakeRequest): Promise<void> {
    const failure = this.failureOf(request);
    const body = failure
      ? { request_id: request.id, gateway_request_id: request.id, status: 'ERROR', error: `Invalid status code: ${failure.status}`, payload: failure.body }
      : { request_id: request.id, gateway_request_id: request.id, status: 'OK', payload: this.output(request), error: null };
    const url = request.webhookUrl!;
    const status = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(async (r) => (await r.arrayBuffer(), r.status))
      .catch(() => 0);
    this.webhooks.push({ url, body, status });
  }
}

/** The pixel size a fal input asks for: `image_size` (object or preset), a ratio's size on its model, else fal's default. */
function sizeOf(request: FalFakeRequest): [number, number] {
  const input = request.input;
  const size = input.image_size;
  if (size && typeof size === 'object') {
    const { width, height } = size as { width?: unknown; height?: unknown };
    if (typeof width === 'number' && typeof height === 'number') return [width, height];
  }
  if (typeof size === 'string' && PRESETS[size]) return PRESETS[size];
  const ratio = input.aspect_ratio;
  if (typeof ratio === 'string' && ratio !== 'custom' && (ASPECT_RATIOS as readonly string[]).includes(ratio)) {
    const { width, height } = pixelSize(ENDPOINTS[request.modelId]?.ratiosOf ?? 'flux-1.1-pro-ultra', ratio as AspectRatio);
    return [width, height];
  }
  return PRESETS.landscape_4_3!;
}
