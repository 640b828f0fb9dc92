import type { ModelId, ProviderName } from '../models.js';
import { BflProvider } from './bfl/bfl-provider.js';
import { CogProvider } from './cog/cog-provider.js';
import { FalProvider } from './fal/fal-provider.js';
import { withMemberLinksGuarded } from './operator-network.js';
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
  /**
   * Let members' image prompt links reach private/loopback hosts (self-hosted image hosts, tests). Members' links
   * only: a provider's outputs may come from private addresses when the provider is configured at one.
   */
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
  // Members' links: Cog and BFL fetch them through the guarded downloader themselves; Replicate and fal get the link
  // unless they are configured on a private network, where the bot fetches it for them.
  const memberLinks = { allowPrivate: s.ALLOW_PRIVATE_URLS ?? false };
  const onOperatorNetwork = (provider: ImageProvider, baseUrl: string) =>
    withMemberLinksGuarded(provider, { baseUrl, guard: memberLinks, ...(o.fetch ? { fetch: o.fetch } : {}) });
  switch (name) {
    case 'replicate':
      if (!s.REPLICATE_API_TOKEN) throw new Error('REPLICATE_API_TOKEN is not set');
      // A short `Prefer: wait`: Replicate tells the prediction id only when the held answer returns, and until the id
      // is checkpointed a crashed or handed-back job cannot be resumed (its successor would pay for a new prediction).
      // Five seconds keeps that window small and still answers most schnell/dev generations in one request.
      return onOperatorNetwork(
        new ReplicateProvider({ baseUrl: s.REPLICATE_API_URL, token: s.REPLICATE_API_TOKEN, preferWaitSeconds: 5, ...common, ...polling }),
        s.REPLICATE_API_URL,
      );
    case 'fal':
      if (!s.FAL_KEY) throw new Error('FAL_KEY is not set');
      return onOperatorNetwork(new FalProvider({ key: s.FAL_KEY, baseUrl: s.FAL_QUEUE_URL, ...common, ...polling }), s.FAL_QUEUE_URL);
    case 'bfl':
      if (!s.BFL_API_KEY) throw new Error('BFL_API_KEY is not set');
      return new BflProvider({
        apiKey: s.BFL_API_KEY,
        baseUrl: s.BFL_API_URL,
        allowPrivateDownloads: memberLinks.allowPrivate,
        ...(s.BFL_WEBHOOK_SECRET ? { webhookSecret: s.BFL_WEBHOOK_SECRET } : {}),
        ...common,
        ...polling,
      });
    case 'cog':
      if (!s.COG_URL) throw new Error('COG_URL is not set');
      return new CogProvider({ baseUrl: s.COG_URL, imagePromptGuard: memberLinks, ...(s.COG_MODEL ? { model: s.COG_MODEL } : {}), ...common });
    case 'preview':
      return new PreviewProvider({ latencyMs: s.PREVIEW_LATENCY_MS ?? 0, imageGuard: memberLinks, ...(o.fetch ? { fetch: o.fetch } : {}) });
  }
}

/** The providers, in `PROVIDERS` order; each job tries them in its route's order (routing.ts, PROVIDER_ROUTING). */
export function createProviders(s: ProviderSettings, o: ProviderOverrides = {}): ImageProvider[] {
  return s.PROVIDERS.map((name) => createProvider(name, s, o));
}
