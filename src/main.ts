import type { AdapterDeps, PlatformAdapter } from './bots/adapter.js';
import { ConfigError, loadConfig, playgroundEnabled, redisTarget, type Config } from './config.js';
import { FluxbotCore } from './core/core.js';
import { coreOptions } from './core-options.js';
import { createProviders } from './core/providers/registry.js';
import { setupWebhooks } from './core/providers/webhooks/index.js';
import { startReconciler } from './core/queue/reconciler.js';
import { DEFAULT_RETRY_POLICY } from './core/queue/retry-policy.js';
import { optionalAdminRoutes } from './http/admin/admin-routes.js';
import { Metrics } from './http/metrics.js';
import { HttpServer, type HttpRoute } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { isMainModule, loadDotEnv } from './entry.js';
import { ensureRedis } from './redis-check.js';
import { describeRedisTarget, redisAnswers } from './core/redis-connection.js';

/**
 * Composition root: config → logger → Redis → core → roles. `ROLE=bot` runs the platform side (commands,
 * reactions, admission, status messages), `ROLE=worker` runs generation and delivery, `all` runs both.
 */
export async function main(config: Config, logger: Logger): Promise<{ stop: () => Promise<void>; httpPort: number }> {
  const metrics = new Metrics();
  const core = new FluxbotCore({ ...coreOptions(config, logger), metrics });
  await core.ready(30_000);
  const runsBot = config.ROLE !== 'worker';
  const runsWorker = config.ROLE !== 'bot';
  // PUBLIC_URL: providers report completion to /webhooks/<provider>; workers listen for the results.
  const webhooks = config.PUBLIC_URL
    ? await setupWebhooks({
        settings: { ...config, PUBLIC_URL: config.PUBLIC_URL },
        redis: core.redis,
        subscriber: () => core.connect({ maxRetriesPerRequest: null }),
        prefix: core.prefix,
        logger,
        listen: runsWorker,
      })
    : undefined;
  const progress = runsBot ? core.createProgressFeed() : undefined;
  const adapters = await createAdapters({ config, core, logger, ...(progress ? { progress } : {}) });
  if (adapters.length === 0) logger.warn('neither DISCORD_TOKEN nor SLACK_BOT_TOKEN is set: no platform is connected');

  const stops: Array<() => unknown> = [];
  if (runsWorker) {
    const providers = createProviders(webhooks ? { ...config, BFL_WEBHOOK_SECRET: webhooks.bflSecret } : config);
    const limits = Object.fromEntries(
      providers.map((p) => [p.name, { concurrency: config.PROVIDER_CONCURRENCY, rate: config.PROVIDER_RATE_PER_MINUTE, windowMs: 60_000 }]),
    );
    const worker = core.createWorker({
      providers,
      deliveries: Object.fromEntries(adapters.map((a) => [a.platform, a.delivery])),
      concurrency: config.WORKER_CONCURRENCY,
      imageConcurrency: config.IMAGE_CONCURRENCY,
      limits,
      ...(webhooks ? { webhookUrl: webhooks.webhookUrl, completion: webhooks.completion } : {}),
      policy: { ...DEFAULT_RETRY_POLICY, attemptsPerProvider: config.RETRY_ATTEMPTS, baseBackoffMs: config.RETRY_BASE_MS },
      // A job whose worker vanished (crash, or a Redis reply lost in an outage) runs again after about this long.
      lockDurationMs: config.JOB_LOCK_MS,
      stalledIntervalMs: config.JOB_LOCK_MS,
      // A worker restarted under the same WORKER_ID takes back its dead predecessor's jobs at once.
      workerId: config.WORKER_ID,
    });
    await worker.start();
    stops.push(startReconciler(core.queue, core.quotas, logger.child({ module: 'reconciler' })));
    logger.info({ providers: providers.map((p) => p.name), concurrency: config.WORKER_CONCURRENCY }, 'worker started');
  }
  metrics.watchQueue(core.queue);
  const http = new HttpServer({
    port: config.HTTP_PORT,
    logger: logger.child({ module: 'http' }),
    checks: [
      // Every master of a cluster must answer (and the cluster be ok), or the one Redis.
      { name: 'redis', check: () => redisAnswers(core.redis) },
      ...(runsBot ? adapters.map((a) => ({ name: a.platform, check: () => a.isReady() })) : []),
    ],
    metrics: () => metrics.text(),
    ...(webhooks ? { webhooks: webhooks.receiver } : {}),
    routes: [
      // ADMIN_TOKEN: /admin (quotas, audit) and /admin/queues (bull-board); absent without it.
      ...optionalAdminRoutes({ token: config.ADMIN_TOKEN, admin: core.admin, queues: [core.queue], logger: logger.child({ module: 'admin' }) }),
      // The web playground (PLAYGROUND): its page and API, served where commands are taken.
      ...(runsBot ? adapters.flatMap((a) => ('routes' in a ? (a as { routes: readonly HttpRoute[] }).routes : [])) : []),
    ],
  });
  const httpPort = await http.listen();
  logger.info({ port: httpPort }, 'http endpoint listening (/healthz, /readyz, /metrics)');
  if (runsBot) {
    await progress?.ready();
    for (const adapter of adapters) await adapter.start();
    logger.info({ platforms: adapters.map((a) => a.platform) }, 'bot started');
  }

  return {
    httpPort,
    stop: async () => {
      for (const stop of stops) stop();
      await http.close();
      if (runsBot) await Promise.all(adapters.map((a) => a.stop().catch((err: unknown) => logger.warn({ err }, 'adapter stop failed'))));
      await webhooks?.close();
      await core.close(config.SHUTDOWN_TIMEOUT_MS);
    },
  };
}

/** Builds the adapters whose tokens are configured, and the web playground when PLAYGROUND says so. Loaded lazily so a Slack-only bot never loads discord.js. */
async function createAdapters(deps: AdapterDeps): Promise<PlatformAdapter[]> {
  const adapters: PlatformAdapter[] = [];
  if (deps.config.DISCORD_TOKEN) {
    const { DiscordAdapter } = await import('./bots/discord/discord-adapter.js');
    adapters.push(new DiscordAdapter(deps));
  }
  if (deps.config.SLACK_BOT_TOKEN) {
    const { SlackAdapter } = await import('./bots/slack/slack-adapter.js');
    adapters.push(new SlackAdapter(deps));
  }
  if (playgroundEnabled(deps.config)) {
    const { WebAdapter } = await import('./bots/web/web-adapter.js');
    adapters.push(new WebAdapter(deps));
  }
  return adapters;
}

/**
 * The program: `.env` → settings → Redis (probed first: a private one on a first run in playground mode, else one line
 * naming REDIS_URL or REDIS_CLUSTER_NODES and exit 1) → `main()` → SIGTERM/SIGINT shut it down. Exported for `bin/start.js` (`npm start`).
 */
export async function run(): Promise<void> {
  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const redis = await ensureRedis(config);
  if (redis.kind === 'missing') {
    process.stderr.write(`${redis.message}\n`);
    process.exit(1);
  }
  if (redis.kind === 'private') {
    logger.info(
      { redisUrl: config.REDIS_URL, dataDir: redis.redis.dir },
      `no Redis answered at ${config.REDIS_URL}: started a private redis-server for this first run (data in ${redis.redis.dir}, AOF on); it stops with fluxbot`,
    );
  }
  const stopRedis = async () => (redis.kind === 'private' ? redis.redis.stop() : undefined);
  logger.info({ role: config.ROLE, providers: config.PROVIDERS, redis: describeRedisTarget(redisTarget(config)) }, 'fluxbot starting');
  let app: Awaited<ReturnType<typeof main>>;
  try {
    app = await main(config, logger);
  } catch (err) {
    // One line, not a stack: the usual causes (Redis gone since the probe, a port in use, a refused token) say enough.
    process.stderr.write(`fluxbot could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopRedis();
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 5000);
    force.unref();
    app
      .stop()
      .then(stopRedis)
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

if (isMainModule(import.meta.url)) await run();
