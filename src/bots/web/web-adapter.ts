import type { Logger } from 'pino';
import { derivedSecret, resolveWebhookSecret } from '../../core/providers/webhooks/index.js';
import type { HttpRoute } from '../../http/server.js';
import type { AdapterDeps, PlatformAdapter } from '../adapter.js';
import { WebApi } from './web-api.js';
import { WebDelivery, WebImageStore } from './web-delivery.js';
import { WebImageActions } from './web-image-actions.js';
import { webRoute, type FloodLimits } from './web-routes.js';
import { parseLocalNetworks } from './access.js';

export interface WebAdapterOptions {
  /** Flood limits (tests tighten or loosen them). Default DEFAULT_FLOOD_LIMITS. */
  limits?: FloodLimits;
}

/**
 * The web playground: a page on HTTP_PORT where each browser session is a person with quotas like anyone on Discord
 * or Slack, on the same core (queue, quotas, records, rerolls). Its delivery stores the image in Redis for a day,
 * so any worker process can deliver it; its route (mounted on the operator HTTP server) serves the page and the API.
 */
export class WebAdapter implements PlatformAdapter {
  readonly platform = 'web' as const;
  readonly delivery: WebDelivery;
  /** Mounted on the HTTP server in the bot role. */
  readonly routes: readonly HttpRoute[];
  private readonly logger: Logger;
  private started = false;

  constructor(
    private readonly deps: AdapterDeps,
    options: WebAdapterOptions = {},
  ) {
    const { core, config } = deps;
    this.logger = deps.logger.child({ module: 'web' });
    // The page reads on the fail-fast connection (a person is told at once when Redis is away); workers deliver on one
    // that waits out an outage, like their other Redis writes, instead of failing the delivery.
    const images = new WebImageStore(core.redis, core.prefix);
    this.delivery = new WebDelivery(new WebImageStore(core.connect({ maxRetriesPerRequest: null }), core.prefix), this.logger);
    const api = new WebApi({ core, images, feed: deps.progress, defaultModel: config.FLUX_MODEL, logger: this.logger });
    this.routes = [
      webRoute({
        api,
        actions: new WebImageActions(core, images),
        // The server secret every process shares (WEBHOOK_SECRET, or the one generated into Redis), never used as is.
        secret: async () => derivedSecret(await resolveWebhookSecret(core.redis, core.prefix, config.WEBHOOK_SECRET), 'playground-session'),
        token: config.PLAYGROUND_TOKEN,
        localNetworks: parseLocalNetworks(config.PLAYGROUND_LOCAL_NETWORKS),
        ...(options.limits ? { limits: options.limits } : {}),
        logger: this.logger,
      }),
    ];
  }

  async start(): Promise<void> {
    this.started = true;
    const { HTTP_PORT, PLAYGROUND_TOKEN } = this.deps.config;
    this.logger.info(
      { url: `http://localhost:${HTTP_PORT}/`, access: PLAYGROUND_TOKEN ? 'anyone with PLAYGROUND_TOKEN' : 'this machine only' },
      'playground open',
    );
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  isReady(): boolean {
    return this.started;
  }
}
