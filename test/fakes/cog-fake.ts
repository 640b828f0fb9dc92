import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ModelId } from '../../src/core/models.js';
import { FakeServer, makeImage, notFound, sendJson, sleep, type RecordedCall } from './fake-server.js';
import { outputShape, PREDICTION_ERRORS, readInputImage, referenceImages, returnsArray, validateInput } from './replicate-contract.js';

/**
 * A local Cog container serving one FLUX model: synchronous `POST /predictions` and idempotent `PUT /predictions/{id}`
 * (a second PUT with a running id joins that prediction), outputs inlined as `data:` URIs of real images, `409` when
 * every prediction slot is busy, `POST /predictions/{id}/cancel`, and `GET /health-check`.
 */

/** `dropped`: a slow create. The prediction starts (it runs on the GPU) but the connection drops before the answer. */
export type CogFault = '409' | '500' | '422' | 'moderate' | 'fail' | 'hang' | 'dropped';

export interface CogFakeOptions {
  /** The model the container serves (its input schema and output shape); default flux-dev. */
  model?: ModelId;
  /** How long a prediction takes. */
  latencyMs?: number;
  /** Prediction slots (`concurrency.max`); default 1, as Cog. */
  concurrency?: number;
}

interface Running {
  id: string;
  input: Record<string, unknown>;
  fault: CogFault | undefined;
  /** Resolves with the final prediction object. */
  result: Promise<Record<string, unknown>>;
  cancel: () => void;
  release: () => void;
}

/**
 * The fake Cog container. Start with `CogFake.start({model})`, point a CogProvider at `url`, steer it with
 * `latencyMs`, `failNext(...)`, `arrayOutput`, `health`, and read `calls`/`created`/`joined`/`fetchedLinks`.
 *
 * Like Cog (its `Path` inputs), it downloads an `image_prompt` or a reference image given as an http(s) link before
 * predicting, from wherever the container runs: `fetchedLinks` records every link it fetched, so a test sees what a
 * member's link would have made the container reach on the operator's network. The reference images it read (decoded
 * from `data:` URIs, or downloaded) are kept per prediction id in `images`.
 */
export class CogFake {
  latencyMs: number;
  /** `true`/`false` forces the output shape; undefined: an array for flux-dev/schnell (Cog-flux's `List[Path]`). */
  arrayOutput: boolean | undefined;
  /** What `/health-check` reports while idle (`READY`, `STARTING`, `SETUP_FAILED`, ...). */
  health = 'READY';
  /** Predictions started; joins of a running id are counted in `joined`. */
  created = 0;
  /** Links the container downloaded for `image_prompt` and reference image inputs (a `data:` URI needs no download). */
  readonly fetchedLinks: string[] = [];
  /** The reference images each prediction received, in the input's order, by prediction id. */
  readonly images = new Map<string, Buffer[]>();
  joined = 0;
  readonly model: ModelId;
  private readonly concurrency: number;
  private readonly running = new Map<string, Running>();
  private readonly faults: CogFault[] = [];
  private readonly server: FakeServer;

  private constructor(options: CogFakeOptions) {
    this.model = options.model ?? 'flux-dev';
    this.latencyMs = options.latencyMs ?? 50;
    this.concurrency = options.concurrency ?? 1;
    this.arrayOutput = undefined;
    this.server = new FakeServer((call, res) => this.handle(call, res));
  }

  static async start(options: CogFakeOptions = {}): Promise<CogFake> {
    const fake = new CogFake(options);
    await fake.server.listen();
    return fake;
  }

  /** What to configure as `COG_URL`. */
  get url(): string {
    return this.server.url;
  }

  get calls(): RecordedCall[] {
    return this.server.calls;
  }

  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall> {
    return this.server.waitFor(predicate, timeoutMs);
  }

  callsTo(method: string, pattern: RegExp): RecordedCall[] {
    return this.server.callsTo(method, pattern);
  }

  /** Queues a fault for the next prediction request. */
  failNext(fault: CogFault, times = 1): this {
    for (let i = 0; i < times; i++) this.faults.push(fault);
    return this;
  }

  /** Starts a prediction out of band (as if an earlier worker's request were still running), for resume tests. */
  startPrediction(id: string, input: Record<string, unknown>, fault?: CogFault): void {
    this.start(id, input, fault);
  }

  /** Finishes a `hang` prediction now, successfully. */
  release(id: string): void {
    this.running.get(id)?.release();
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) r.cancel();
    await this.server.close();
  }

  private async handle(call: RecordedCall, res: ServerResponse): Promise<void> {
    const put = /^\/predictions\/([\w-]+)$/.exec(call.path);
    const cancel = /^\/predictions\/([\w-]+)\/cancel$/.exec(call.path);
    if (call.method === 'GET' && call.path === '/health-check') {
      return sendJson(res, 200, { status: this.running.size >= this.concurrency ? 'BUSY' : this.health });
    }
    if ((call.method === 'PUT' && put) || (call.method === 'POST' && call.path === '/predictions')) {
      const body = (call.body ?? {}) as { id?: string; input?: Record<string, unknown> };
      return this.predict(put?.[1] ?? body.id ?? randomBytes(13).toString('hex'), body.input, res);
    }
    if (call.method === 'POST' && cancel) {
      const running = this.running.get(cancel[1]!);
      if (!running) return sendJson(res, 404, {});
      running.cancel();
      return sendJson(res, 200, {});
    }
    notFound(res, call);
  }

  private async predict(id: string, input: Record<string, unknown> | undefined, res: ServerResponse): Promise<void> {
    const existing = this.running.get(id);
    if (existing) {
      // Idempotent PUT: no second prediction; this request receives the running one's result.
      this.joined++;
      return sendJson(res, 200, await existing.result);
    }
    const fault = this.faults.shift();
    if (fault === '409' || this.running.size >= this.concurrency) return sendJson(res, 409, { detail: 'Already running a prediction' });
    if (fault === '500') return sendJson(res, 500, { detail: 'Internal Server Error' });
    const invalid = fault === '422' ? 'forced' : validateInput(this.model, input);
    if (invalid) return sendJson(res, 422, { detail: [{ loc: ['body', 'input', 'prompt'], msg: invalid, type: 'value_error' }] });
    const unreadable = await this.fetchLink(input!.image_prompt);
    if (unreadable) return sendJson(res, 422, { detail: [{ loc: ['body', 'input', 'image_prompt'], msg: unreadable, type: 'value_error' }] });
    const images: Buffer[] = [];
    for (const source of referenceImages(this.model, input!)) {
      if (/^https?:/i.test(source)) this.fetchedLinks.push(source);
      try {
        images.push(await readInputImage(source));
      } catch (err) {
        return sendJson(res, 422, { detail: [{ loc: ['body', 'input'], msg: (err as Error).message, type: 'value_error' }] });
      }
    }
    this.images.set(id, images);
    if (fault === 'dropped') {
      this.start(id, input!, undefined);
      return void res.destroy();
    }
    sendJson(res, 200, await this.start(id, input!, fault).result);
  }

  /** Cog downloads a `Path` input given as a link; undefined when fine, else why not. */
  private async fetchLink(link: unknown): Promise<string | undefined> {
    if (typeof link !== 'string' || !/^https?:/i.test(link)) return undefined;
    this.fetchedLinks.push(link);
    try {
      const res = await fetch(link, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.ok ? undefined : `could not download ${link}: HTTP ${res.status}`;
    } catch (err) {
      return `could not download ${link}: ${(err as Error).message}`;
    }
  }

  private start(id: string, input: Record<string, unknown>, fault: CogFault | undefined): Running {
    this.created++;
    const started = new Date().toISOString();
    let settle!: (how: 'done' | 'canceled') => void;
    const outcome = new Promise<'done' | 'canceled'>((resolve) => (settle = resolve));
    if (fault !== 'hang') void sleep(this.latencyMs).then(() => settle('done'));
    const result = outcome.then(async (how) => {
      const base = { id, input, started_at: started, completed_at: new Date().toISOString(), logs: `Using seed: ${String(input.seed ?? 0)}\n` };
      if (how === 'canceled') return { ...base, status: 'canceled', output: null, error: null };
      if (fault === 'moderate' || fault === 'fail') return { ...base, status: 'failed', output: null, error: fault === 'moderate' ? PREDICTION_ERRORS.nsfw : PREDICTION_ERRORS.fail };
      const output = await this.render(input);
      return { ...base, status: 'succeeded', output, error: null, metrics: { predict_time: this.latencyMs / 1000 } };
    });
    const running: Running = { id, input, fault, result, cancel: () => settle('canceled'), release: () => settle('done') };
    this.running.set(id, running);
    void result.finally(() => this.running.delete(id));
    return running;
  }

  private async render(input: Record<string, unknown>): Promise<string | string[]> {
    const { width, height, format } = outputShape(this.model, input);
    const uri = `data:image/${format};base64,${(await makeImage(width, height, format)).toString('base64')}`;
    return (this.arrayOutput ?? returnsArray(this.model)) ? [uri] : uri;
  }
}

