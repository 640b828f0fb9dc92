import type { ModelId, ProviderName } from '../models.js';
import { BflProvider } from './bfl/bfl-provider.js';
import { CogProvider } from './cog/cog-provider.js';
import { FalProvider } from './fal/fal-provider.js';
import { PreviewProvider } from './preview/preview-provider.js';
import type { ImageProvider } from './provider.js';
import { ReplicateProvider } from './replicate/replicate-provider.js';

/** The settings the providers need (a slice of the app config, so this module never reads the environment). */
export interface ProviderSettings {
  PROVIDERS: readonly ProviderName[];
  REPLICATE_API_TOKEN?: string | undefined;
  REPLICATE_API_URL: string;
  FAL_KEY?: string | undefined;
  FAL_QUEUE_URL: string;
  BFL_API_KEY?: string | undefined;
  BFL_API_URL: string;
  /** Sent to BFL as `webhook_secret` with each webhook URL (set when webhooks are on). */
  BFL_WEBHOOK_SECRET?: string | undefined;
  COG_URL?: string | undefined;
  /** The model the Cog container serves; requests for other models go to the next provider. */
  COG_MODEL?: ModelId | undefined;
  /** Let downloads reach private/loopback hosts (self-hosted setups, tests). */
  ALLOW_PRIVATE_URLS?: boolean | undefined;
  /** Simulated latency of the preview provider. */
  PREVIEW_LATENCY_MS?: number | undefined;
}

export interface ProviderOverrides {
  fetch?: typeof fetch;
  pollIntervalMs?: number;
  timeoutMs?: number;
}

/** Builds one provider by name from the settings; throws when its key or URL is missing. */
export function createProvider(name: ProviderName, s: ProviderSettings, o: ProviderOverrides = {}): ImageProvider {
  const common = {
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  };
  const polling = o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {};
  const allowPrivateDownloads = s.ALLOW_PRIVATE_URLS ?? false;
  switch (name) {
    case 'replicate':
      if (!s.REPLICATE_API_TOKEN) throw new Error('REPLICATE_API_TOKEN is not set');
      // A short `Prefer: wait`: Replicate tells the prediction id only when the held answer returns, and until the id
      // is checkpointed a crashed or handed-back job cannot be resumed (its successor would pay for a new prediction).
      // Five seconds keeps that window small and still answers most schnell/dev generations in one request.
      return new ReplicateProvider({
        baseUrl: s.REPLICATE_API_URL,
        token: s.REPLICATE_API_TOKEN,
        allowPrivateDownloads,
        preferWaitSeconds: 5,
        ...common,
        ...polling,
      });
    case 'fal':
      if (!s.FAL_KEY) throw new Error('FAL_KEY is not set');
      return new FalProvider({ key: s.FAL_KEY, baseUrl: s.FAL_QUEUE_URL, allowPrivateDownloads, ...common, ...polling });
    case 'bfl':
      if (!s.BFL_API_KEY) throw new Error('BFL_API_KEY is not set');
      return new BflProvider({
        apiKey: s.BFL_API_KEY,
        baseUrl: s.BFL_API_URL,
        allowPrivateDownloads,
        ...(s.BFL_WEBHOOK_SECRET ? { webhookSecret: s.BFL_WEBHOOK_SECRET } : {}),
        ...common,
        ...polling,
      });
    case 'cog':
      if (!s.COG_URL) throw new Error('COG_URL is not set');
      return new CogProvider({ baseUrl: s.COG_URL, ...(s.COG_MODEL ? { model: s.COG_MODEL } : {}), ...common });
    case 'preview':
      return new PreviewProvider({ latencyMs: s.PREVIEW_LATENCY_MS ?? 0 });
  }
}

/** The failover list, in `PROVIDERS` order. */
export function createProviders(s: ProviderSettings, o: ProviderOverrides = {}): ImageProvider[] {
  return s.PROVIDERS.map((name) => createProvider(name, s, o));
}
