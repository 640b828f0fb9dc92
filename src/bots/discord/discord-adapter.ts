import { once } from 'node:events';
import { Client, DefaultUserAgent, Events, GatewayIntentBits, Partials, REST, Routes, type ClientOptions } from 'discord.js';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { AdapterDeps, PlatformAdapter } from '../adapter.js';
import { AckGate } from '../shared/ack-gate.js';
import { AckThread } from './ack-thread.js';
import { StatusTracker } from '../shared/status-tracker.js';
import { discordCommandPayload } from './commands.js';
import { DiscordDelivery, renderStatus } from './discord-delivery.js';
import { redisFollowupMemo } from './followups.js';
import { handleInteraction } from './interactions.js';
import { handleReaction } from './reactions.js';
import type { DiscordServices, StatusMessage } from './services.js';

/** Gateway intents: slash commands arrive without any; reactions need GuildMessageReactions. No privileged intent. */
export const DISCORD_INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessageReactions;

/**
 * The Discord platform on discord.js 14. `start()` logs in to the gateway (commands, reactions, status messages) and
 * registers the commands; `delivery` works on REST with the bot token alone, so worker processes use it without
 * ever logging in. The REST base comes from `DISCORD_API_URL` (a REST proxy, or a local fake in tests).
 */
export class DiscordAdapter implements PlatformAdapter {
  readonly platform = 'discord' as const;
  readonly delivery: DiscordDelivery;
  private readonly rest: REST;
  private readonly token: string;
  private readonly logger: Logger;
  private client: Client | undefined;
  private tracker: StatusTracker<StatusMessage> | undefined;
  /** Sends interaction acks off the main thread (see ack-thread.ts). */
  private acker: AckThread | undefined;
  /**
   * One keep-alive connection pool for every Discord REST call, bounded: in a burst of commands, undici's default
   * (a new connection per concurrent request) spends most of the 3 s ack budget opening sockets; 128 warm connections
   * carry the same burst several times faster (bench/discord-ack.ts).
   */
  private readonly agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  /** Handlers in progress, awaited on stop so no reply is cut off half-way. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: AdapterDeps) {
    const token = deps.config.DISCORD_TOKEN;
    if (!token) throw new Error('DISCORD_TOKEN is not set');
    this.token = token;
    this.logger = deps.logger.child({ module: 'discord' });
    // discord.js's REST queue honours Discord's rate limits (429 retry_after, buckets, 50 requests/s global) and
    // retries 5xx. It reports every request it holds back, hence debug level.
    this.rest = new REST({ api: deps.config.DISCORD_API_URL, agent: this.agent }).setToken(token);
    this.rest.on('rateLimited', (info) => this.logger.debug({ route: info.route, retryAfter: info.retryAfter, global: info.global }, 'Discord rate limit'));
    this.delivery = new DiscordDelivery(this.rest, this.logger.child({ role: 'delivery' }), redisFollowupMemo(deps.core.redis, deps.core.prefix));
  }

  async start(): Promise<void> {
    const { config, progress, core } = this.deps;
    const deliveredVia = async (jobId: string) => (await core.queue.getJob(jobId).catch(() => undefined))?.data.delivered?.via;
    if (progress) {
      this.tracker = new StatusTracker<StatusMessage>({
        // A done image that the channel refused went elsewhere: the job says where, and the text says so too (the
        // worker writes the same final text, so whichever edit lands last, the message ends right).
        render: async (m, state, jobId) => renderStatus(this.rest, m, m.header, state, state.kind === 'done' && m.jobId ? await deliveredVia(m.jobId) : undefined, jobId),
        failureReason: async (jobId) => (await core.queue.getJob(jobId))?.data.failure?.message,
        logger: this.logger,
      });
      this.tracker.attach(progress);
    }
    const shards: Pick<ClientOptions, 'shards' | 'shardCount'> =
      config.DISCORD_SHARDS === 'auto' ? { shards: 'auto' } : { shards: [...Array(config.DISCORD_SHARDS).keys()], shardCount: config.DISCORD_SHARDS };
    const client = new Client({
      intents: DISCORD_INTENTS,
      // Reactions on messages the client never cached (older images, after a restart) arrive only with partials.
      partials: [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User],
      rest: { api: config.DISCORD_API_URL, agent: this.agent },
      ...shards,
    });
    this.client = client;
    this.acker = new AckThread({ apiUrl: config.DISCORD_API_URL, version: this.rest.options.version, userAgent: DefaultUserAgent, logger: this.logger });
    const svc: DiscordServices = {
      core,
      config,
      logger: this.logger,
      rest: this.rest,
      tracker: this.tracker,
      acks: new AckGate(),
      acker: this.acker,
    };
    // Listener errors surface here (discord.js turns rejections into 'error'); the process never dies of them.
    client.on(Events.Error, (err) => this.logger.error({ err }, 'discord client error'));
    client.on(Events.ShardError, (err, shardId) => this.logger.warn({ err, shardId }, 'gateway connection error'));
    client.on(Events.ShardResume, (shardId, replayed) => this.logger.info({ shardId, replayed }, 'gateway resumed'));
    client.on(Events.ShardReconnecting, (shardId) => this.logger.info({ shardId }, 'gateway reconnecting'));
    client.on(Events.Warn, (message) => this.logger.warn({ message }, 'discord warning'));
    client.on(Events.InteractionCreate, (interaction) => this.track(handleInteraction(svc, interaction)));
    client.on(Events.MessageReactionAdd, (reaction, user) => this.track(handleReaction(svc, client.user?.id, reaction, user)));

    const ready = once(client, Events.ClientReady);
    await client.login(this.token);
    await ready;
    await this.registerCommands(client.application?.id ?? client.user!.id);
    this.logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord ready');
  }

  /** Registers the commands (bulk overwrite): in DISCORD_GUILD_ID at once, else globally. */
  private async registerCommands(applicationId: string): Promise<void> {
    const guildId = this.deps.config.DISCORD_GUILD_ID;
    const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
    await this.rest.put(route, { body: discordCommandPayload() });
    this.logger.info({ scope: guildId ? `guild ${guildId}` : 'global' }, 'commands registered');
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.tracker?.detach();
    this.tracker = undefined;
    await this.client?.destroy();
    this.client = undefined;
    await this.acker?.close();
    this.acker = undefined;
  }

  /** The gateway client while started (undefined before `start()` and after `stop()`). */
  get gatewayClient(): Client | undefined {
    return this.client;
  }

  isReady(): boolean {
    return this.client?.isReady() ?? false;
  }

  private track(handler: Promise<void>): void {
    const p = handler.catch((err: unknown) => this.logger.error({ err }, 'discord handler failed'));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
