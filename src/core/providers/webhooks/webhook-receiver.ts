import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RedisClient } from '../../redis-connection.js';
import type { Logger } from 'pino';
import { validateReplicateWebhook, type WebhookRejection } from '../replicate/webhook.js';
import type { HookRecord } from './completion-hub.js';
import type { ReplicateSecretSource } from './replicate-secret.js';
import { verifyWebhookToken } from './webhook-token.js';
import { SPREAD, spreadName } from '../../key-space.js';

export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  /** The body exactly as received (signatures cover the bytes, not re-serialised JSON). */
  rawBody: Buffer;
  query: URLSearchParams;
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

export interface WebhookReceiverOptions {
  /** Where accepted results go (the CompletionHub, in any process). */
  sink: { record(provider: string, id: string, record: HookRecord): Promise<void> };
  /** For remembering Replicate webhook ids during the replay window. */
  redis: RedisClient;
  prefix: string;
  /** The server secret the per-job URL tokens are signed with. */
  tokenSecret: string;
  /** Replicate's signing secret; without it Replicate webhooks are refused (503, so Replicate retries). */
  replicateSecret?: ReplicateSecretSource;
  /** The `webhook_secret` sent to BFL; when BFL echoes it (header or signature), it must match. */
  bflSecret?: string;
  logger: Logger;
  /** Largest accepted age (or clock skew) of a signed webhook, in seconds. Default 300. */
  toleranceSec?: number;
  clock?: () => number;
}

const SIGNATURE_ERRORS: Record<WebhookRejection, { status: number; error: string }> = {
  missing_headers: { status: 401, error: 'unsigned webhook: webhook-id, webhook-timestamp and webhook-signature are required' },
  bad_timestamp: { status: 401, error: 'invalid webhook-timestamp' },
  timestamp_out_of_tolerance: { status: 401, error: 'stale webhook: webhook-timestamp is outside the replay window' },
  bad_signature: { status: 401, error: 'invalid webhook signature' },
  bad_secret: { status: 503, error: 'webhooks cannot be verified right now' },
};

/**
 * `POST /webhooks/<provider>`: checks that the call really comes from the provider, then records the result for the
 * worker waiting on the prediction. Replicate: Standard Webhooks signature, timestamp within the replay window, and
 * each webhook-id accepted once. fal and BFL: the per-job token in the URL. A rejected call changes nothing and gets a
 * JSON error (401 unauthenticated, 400 malformed, 404 unknown provider, 503 cannot verify now); it never throws.
 */
export class WebhookReceiver {
  private readonly toleranceSec: number;
  private readonly clock: () => number;

  constructor(private readonly options: WebhookReceiverOptions) {
    this.toleranceSec = options.toleranceSec ?? 300;
    this.clock = options.clock ?? Date.now;
  }

  async handle(provider: string, req: WebhookRequest): Promise<WebhookAnswer> {
    try {
      const answer = await this.route(provider, req);
      const level = answer.status < 300 ? 'debug' : 'warn';
      this.options.logger[level]({ provider, job: req.query.get('job'), status: answer.status, error: (answer.body as { error?: string }).error }, 'provider webhook');
      return answer;
    } catch (err) {
      this.options.logger.error({ err, provider }, 'provider webhook could not be recorded');
      return { status: 503, body: { error: 'webhook could not be recorded; retry later' } };
    }
  }

  private route(provider: string, req: WebhookRequest): Promise<WebhookAnswer> {
    switch (provider) {
      case 'replicate':
        return this.replicate(req);
      case 'fal':
        return this.tokenCall('fal', req, (body) => stringField(body, 'request_id'));
      case 'bfl':
        return this.tokenCall('bfl', req, (body) => stringField(body, 'id') ?? stringField(body, 'task_id'), (body) => this.bflSecretOk(req, body));
      default:
        return Promise.resolve(reject(404, `no webhooks for provider ${provider.slice(0, 40)}`));
    }
  }

  private async replicate(req: WebhookRequest): Promise<WebhookAnswer> {
    const id = header(req.headers, 'webhook-id');
    const timestamp = header(req.headers, 'webhook-timestamp');
    const signature = header(req.headers, 'webhook-signature');
    if (!id || !timestamp || !signature) return reject(401, SIGNATURE_ERRORS.missing_headers.error);
    const secret = await this.options.replicateSecret?.get();
    if (!secret) return reject(503, SIGNATURE_ERRORS.bad_secret.error);
    const check = validateReplicateWebhook({ id, timestamp, signature, body: req.rawBody, secret, toleranceSec: this.toleranceSec, now: this.clock() });
    if (!check.ok) return reject(SIGNATURE_ERRORS[check.reason].status, SIGNATURE_ERRORS[check.reason].error);
    const body = parseObject(req.rawBody);
    const predictionId = body && stringField(body, 'id');
    if (!body || !predictionId) return reject(400, 'the body must be a prediction object with an id');

    // A signed call is valid for the whole window; remembering its id for longer than that makes a replay useless.
    const seen = `${spreadName(this.options.prefix)}:${SPREAD.hookSeen}:{replicate:${id.slice(0, 200)}}`;
    const first = await this.options.redis.set(seen, '1', 'EX', this.toleranceSec * 2 + 60, 'NX');
    if (first === null) return reject(401, 'replayed webhook: this webhook-id was already accepted');
    try {
      await this.options.sink.record('replicate', predictionId, { job: req.query.get('job') ?? undefined, payload: body });
    } catch (err) {
      // Not recorded: Replicate's retry (same webhook-id) must not be refused as a replay.
      await this.options.redis.del(seen).catch(() => undefined);
      throw err;
    }
    return { status: 200, body: { ok: true } };
  }

  /** fal and BFL: the URL's token proves the caller got it from us; the body only wakes the worker, which then polls. */
  private async tokenCall(
    provider: 'fal' | 'bfl',
    req: WebhookRequest,
    idOf: (body: Record<string, unknown>) => string | undefined,
    extraCheck?: (body: Record<string, unknown>) => boolean,
  ): Promise<WebhookAnswer> {
    const job = req.query.get('job');
    if (!job || !verifyWebhookToken(this.options.tokenSecret, provider, job, req.query.get('token'))) {
      return reject(401, 'missing or invalid webhook token');
    }
    const body = parseObject(req.rawBody);
    const id = body && idOf(body);
    if (!body || !id) return reject(400, `the body must be a ${provider} completion with a ${provider === 'fal' ? 'request_id' : 'task id'}`);
    if (extraCheck && !extraCheck(body)) return reject(401, 'invalid webhook secret');
    await this.options.sink.record(provider, id, { job });
    return { status: 200, body: { ok: true } };
  }

  /**
   * How BFL presents `webhook_secret` is unconfirmed: a header carrying it, an HMAC-SHA256 signature of the body, or
   * the body field. Whichever is present must match; when none is, the URL token alone decides.
   */
  private bflSecretOk(req: WebhookRequest, body: Record<string, unknown>): boolean {
    const secret = this.options.bflSecret;
    if (!secret) return true;
    const echoed = header(req.headers, 'x-webhook-secret') ?? header(req.headers, 'webhook-secret') ?? stringField(body, 'webhook_secret');
    if (echoed !== undefined && !sameText(echoed, secret)) return false;
    const signature = header(req.headers, 'x-webhook-signature') ?? header(req.headers, 'x-bfl-signature');
    if (signature !== undefined) {
      const expected = createHmac('sha256', secret).update(req.rawBody).digest('hex');
      if (!sameText(signature.replace(/^sha256=/i, '').toLowerCase(), expected)) return false;
    }
    return true;
  }
}

function reject(status: number, error: string): WebhookAnswer {
  return { status, body: { error } };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function parseObject(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A non-empty id-like string field (bounded, so a hostile body cannot make huge Redis keys). */
function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
