import { joinUrl, requestJson } from '../http.js';

export interface ReplicateSecretOptions {
  /** `REPLICATE_WEBHOOK_SECRET` (`whsec_...`): used as is when set. */
  secret?: string | undefined;
  /** Replicate's API base and token, to fetch the secret from `GET /webhooks/default/secret` when none is set. */
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  /** After a failed fetch, the next one waits this long (a flood of forged calls must not become a flood of fetches). */
  retryAfterMs?: number;
}

/**
 * The key Replicate signs webhooks with: configured, or fetched once from the account's API and cached for the life
 * of the process. Never logged, never put in an error.
 */
export class ReplicateSecretSource {
  private cached: string | undefined;
  private pending: Promise<string | undefined> | undefined;
  private failedAt = -Infinity;

  constructor(private readonly options: ReplicateSecretOptions) {
    this.cached = options.secret;
  }

  /** The secret, or undefined when none is configured and Replicate could not be asked (the caller answers 503). */
  async get(): Promise<string | undefined> {
    if (this.cached) return this.cached;
    if (!this.options.token) return undefined;
    if (Date.now() - this.failedAt < (this.options.retryAfterMs ?? 30_000)) return undefined;
    this.pending ??= this.fetchSecret().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetchSecret(): Promise<string | undefined> {
    try {
      const res = await requestJson<{ key?: unknown }>(
        joinUrl(this.options.baseUrl, 'webhooks/default/secret'),
        { headers: { authorization: `Bearer ${this.options.token}` } },
        { provider: 'replicate', timeoutMs: 10_000, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) },
      );
      const key = res.body?.key;
      if (typeof key !== 'string' || !key.startsWith('whsec_')) throw new Error('no whsec_ key in the answer');
      this.cached = key;
      return key;
    } catch {
      this.failedAt = Date.now();
      return undefined;
    }
  }
}
