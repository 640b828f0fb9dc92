import type { Logger } from 'pino';
import { errorLog } from './error-log.js';
import { ImageStash } from './jobs/image-stash.js';
import { ImageHistory } from './jobs/image-history.js';
import { InputImageStore } from './images/input-store.js';
import type { MemberLinkGuard } from './images/member-links.js';
import { ReferenceImages } from './images/reference-images.js';
import { JobRecordStore } from './jobs/job-records.js';
import type { ModelId, ProviderName } from './models.js';
import type { DeliveryPort, Platform } from './ports.js';
import { PriceTable } from './prices.js';
import type { CompletionNotifier, ImageProvider } from './providers/provider.js';
import { createRoute, type RoutingSettings } from './providers/routing.js';
import { QuotaAdmin } from './quotas/quota-admin.js';
import { QuotaStore } from './quotas/quota-store.js';
import type { QuotaDefaults } from './quotas/types.js';
import { CancelBus } from './queue/cancel-bus.js';
import { createGenerationQueue, DEFAULT_PREFIX, type GenerationQueue } from './queue/generation-queue.js';
import { GenerationService } from './queue/generation-service.js';
import { ImageActions } from './queue/image-actions.js';
import { GenerationWorker, type GenerationWorkerOptions } from './queue/generation-worker.js';
import { ProviderLimiter, type ProviderLimit } from './queue/provider-limiter.js';
import { ProgressFeed } from './queue/progress-feed.js';
import { ImageSlots } from './queue/image-slots.js';
import type { RetryPolicy } from './queue/retry-policy.js';
import type { PipelineMetrics } from './metrics.js';
import { createRedisClient, type ConnectionBehaviour, type RedisClient, type RedisTarget } from './redis-connection.js';

export interface CoreOptions {
  /** A single Redis (REDIS_URL); unused when `redis.clusterNodes` names a cluster. */
  redisUrl: string;
  /** A Redis Cluster's nodes (REDIS_CLUSTER_NODES) and the credentials/TLS every connection uses. */
  redis?: Omit<RedisTarget, 'url'>;
  logger: Logger;
  /** Key prefix for every key (queue, quotas, records), with a cluster hash tag. Default `{fluxbot}`. */
  prefix?: string;
  quotas: QuotaDefaults;
  timeZone?: string;
  retentionDays?: number;
  clock?: () => number;
  /** Pipeline measurements (the app passes its Prometheus metrics). */
  metrics?: PipelineMetrics;
  /** How long an image prompt the bot downloaded itself (a private Slack file) is kept. Default 24 h. */
  inputImageTtlSeconds?: number;
  /** The operator's allowlist (ALLOWED_GUILDS): `discord:<id>`, `slack:<team>` or a bare id; empty allows every one. */
  allowedGuilds?: readonly string[];
  /** The guard for members' reference image links, fetched at admission (`allowPrivate` is ALLOW_PRIVATE_URLS). */
  memberLinkGuard?: MemberLinkGuard;
  /** What images cost: the catalogue's prices with the operator's overrides (PRICES_FILE). Default: the catalogue's. */
  prices?: PriceTable;
  /**
   * The providers the workers use (PROVIDERS): admission reserves a job's cost at the dearest of them that serves its
   * model, so a failover never spends past a budget. Default: preview only.
   */
  pricedProviders?: readonly ProviderName[];
  /** The order a job tries the workers' providers in (PROVIDER_ROUTING). Default: as listed. */
  routing?: RoutingSettings;
  /** The model Edit offers first and Vary falls back to (FLUX_EDIT_MODEL; one that takes images). Default flux-2-pro. */
  editModel?: ModelId;
}

export interface WorkerSetup {
  providers: readonly ImageProvider[];
  deliveries: Partial<Record<Platform, DeliveryPort>>;
  concurrency?: number;
  limits?: Partial<Record<string, ProviderLimit>>;
  policy?: RetryPolicy;
  webhookUrl?: (jobId: string, provider: string) => string | undefined;
  /** The wait between provider polls that a webhook ends early (with `webhookUrl`). */
  completion?: (jobId: string, provider: string) => CompletionNotifier | undefined;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  progressIntervalMs?: number;
  /** Images one worker process holds in memory at once (download → stash → upload). Default 8. */
  imageConcurrency?: number;
  /** WORKER_ID: a restarted worker with the same one takes back its dead predecessor's jobs at once. */
  workerId?: string;
}

/**
 * The platform-free services, wired on one Redis: what main.ts and the tests compose the roles from. The core owns
 * the connections it opens and closes them in `close()`.
 */
export class FluxbotCore {
  readonly prefix: string;
  /** Commands that must fail fast when Redis is away (the bot answers "temporarily unavailable"). */
  readonly redis: RedisClient;
  /** Where this core's connections go (for probes and tools that open their own). */
  readonly target: RedisTarget;
  readonly queue: GenerationQueue;
  readonly quotas: QuotaStore;
  readonly admin: QuotaAdmin;
  readonly records: JobRecordStore;
  readonly stash: ImageStash;
  /** A person's latest images and the ones kept for them (`/flux-history`, `/flux-quota`). */
  readonly history: ImageHistory;
  /** Image prompts stored once, by reference (private Slack files), with their own short expiry. */
  readonly inputs: InputImageStore;
  /** Checks reference images (`images`) before admission and stores the ones the bot received itself. */
  readonly references: ReferenceImages;
  readonly cancels: CancelBus;
  readonly service: GenerationService;
  /** Reroll, Vary, Edit, Delete and Cancel on a delivered image or a job, as the platforms' buttons run them. */
  readonly actions: ImageActions;
  /** The one price table of the process (catalogue prices, PRICES_FILE overrides). */
  readonly prices: PriceTable;
  private readonly connections: RedisClient[] = [];
  private readonly workers: GenerationWorker[] = [];
  private readonly feeds: ProgressFeed[] = [];

  constructor(private readonly options: CoreOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.prices = options.prices ?? new PriceTable();
    this.target = { ...options.redis, url: options.redisUrl };
    this.redis = this.connect({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    // BullMQ's own connection must wait out Redis outages instead of failing commands.
    this.queue = createGenerationQueue(this.connect({ maxRetriesPerRequest: null }), this.prefix);
    this.queue.on('error', errorLog(options.logger.child({ module: 'queue' }), 'queue error'));
    const quotaOptions = {
      redis: this.redis,
      defaults: options.quotas,
      prefix: this.prefix,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    };
    this.quotas = new QuotaStore(quotaOptions);
    this.admin = new QuotaAdmin(quotaOptions);
    this.records = new JobRecordStore({ redis: this.redis, prefix: this.prefix, retentionDays: options.retentionDays ?? 30 });
    this.stash = new ImageStash(this.redis, this.prefix);
    this.history = new ImageHistory(this.redis, this.records, this.stash, this.prefix);
    this.inputs = new InputImageStore(this.redis, this.prefix, options.inputImageTtlSeconds);
    this.references = new ReferenceImages({ inputs: this.inputs, ...(options.memberLinkGuard ? { guard: options.memberLinkGuard } : {}) });
    this.cancels = new CancelBus(this.redis, this.prefix);
    this.service = new GenerationService({
      queue: this.queue,
      quotas: this.quotas,
      records: this.records,
      cancels: this.cancels,
      references: this.references,
      logger: options.logger.child({ module: 'service' }),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.allowedGuilds?.length ? { allowedGuilds: options.allowedGuilds } : {}),
      estimate: (request, inputSizes) =>
        this.prices.estimate(request.model, options.pricedProviders ?? ['preview'], { width: request.width, height: request.height }, inputSizes),
    });
    this.actions = new ImageActions({
      service: this.service,
      records: this.records,
      queue: this.queue,
      references: this.references,
      ...(options.editModel ? { editModel: options.editModel } : {}),
    });
  }

  /** Resolves once the fail-fast connection is up (commands on it are refused while it is not). */
  async ready(timeoutMs = 10_000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis not reachable within ${timeoutMs} ms`)), timeoutMs);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** A new connection of this core (a Cluster client on a cluster), closed by `close()`. */
  connect(extra: Pick<ConnectionBehaviour, 'maxRetriesPerRequest' | 'enableOfflineQueue'> = {}): RedisClient {
    const conn = createRedisClient(this.target, extra);
    conn.on('error', () => undefined); // reported through readiness checks; ioredis reconnects by itself
    this.connections.push(conn);
    return conn;
  }

  /** Creates (but does not start) a worker on its own connections. */
  createWorker(setup: WorkerSetup): GenerationWorker {
    const stash = new ImageStash(this.connect({ maxRetriesPerRequest: null }), this.prefix);
    const options: GenerationWorkerOptions = {
      ...setup,
      connection: this.connect({ maxRetriesPerRequest: null }),
      subscriber: this.connect({ maxRetriesPerRequest: null }),
      cancels: this.cancels,
      prefix: this.prefix,
      quotas: this.quotas,
      records: this.records,
      stash,
      // On the worker's own connection (it waits out Redis outages), like the stash.
      inputs: new InputImageStore(stash.redis, this.prefix, this.options.inputImageTtlSeconds),
      logger: this.options.logger.child({ module: 'worker' }),
      imageSlots: new ImageSlots(setup.imageConcurrency ?? 8),
      prices: this.prices,
      ...(this.options.routing ? { route: createRoute(setup.providers, this.options.routing, this.prices) } : {}),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      ...(setup.limits ? { limiter: new ProviderLimiter(this.connect({ maxRetriesPerRequest: null }), this.prefix) } : {}),
    };
    const worker = new GenerationWorker(options);
    this.workers.push(worker);
    return worker;
  }

  /** A throttled feed of job progress for status messages (one QueueEvents stream reader). */
  createProgressFeed(minIntervalMs = 1000): ProgressFeed {
    const feed = new ProgressFeed({
      connection: this.connect({ maxRetriesPerRequest: null }),
      prefix: this.prefix,
      logger: this.options.logger.child({ module: 'progress' }),
      minIntervalMs,
    });
    this.feeds.push(feed);
    return feed;
  }

  /** Closes workers (with the shutdown deadline), the queue and every connection this core opened. */
  async close(deadlineMs = 30_000): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(deadlineMs)));
    await Promise.all(this.feeds.map((f) => f.close()));
    await this.queue.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
