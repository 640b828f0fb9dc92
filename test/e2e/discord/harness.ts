import { Writable } from 'node:stream';
import { PermissionFlagsBits } from 'discord.js';
import type { Logger } from 'pino';
import { DiscordAdapter } from '../../../src/bots/discord/discord-adapter.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { FluxbotCore, type CoreOptions } from '../../../src/core/core.js';
import { createLogger } from '../../../src/logger.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import type { ImageProvider } from '../../../src/core/providers/provider.js';
import type { ProgressFeed } from '../../../src/core/queue/progress-feed.js';
import { ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import type { QuotaDefaults } from '../../../src/core/quotas/types.js';
import { FakeDiscord, type DiscordCall, type DispatchedInteraction, type FakeDiscordOptions, type FakeGuildInit, type FakeMessage, type InteractionInit } from '../../fakes/discord/index.js';
import { ReplicateFake } from '../../fakes/replicate-fake.js';
import { dropPrefix, REDIS_URL, testPrefix } from '../../helpers/core.js';

/** A guild with an ordinary member, an admin (Manage Server), a NSFW channel, a channel without thread rights and a thread. */
export const GUILD: FakeGuildInit = {
  name: 'Studio',
  roles: [{ name: 'Mods', permissions: PermissionFlagsBits.ManageGuild }],
  channels: [
    { name: 'general' },
    { name: 'nsfw-art', nsfw: true },
    { name: 'no-threads', botDeny: PermissionFlagsBits.CreatePublicThreads },
    { name: 'read-only', botDeny: PermissionFlagsBits.SendMessages },
  ],
  threads: [{ name: 'renders', parent: 'general' }],
  members: [{ user: { username: 'alice' } }, { user: { username: 'bob' } }, { user: { username: 'mod' }, roles: ['Mods'] }],
};

/** Errors (level ≥ 50) the adapter, core and worker logged: a test fails when any appear unexpectedly. */
export class LogSink {
  readonly errors: Array<Record<string, unknown>> = [];
  /** Warnings (level 40), for tests that expect one. */
  readonly warnings: Array<Record<string, unknown>> = [];
  /** Every line written, as written (e.g. to check a secret never appears). */
  readonly lines: string[] = [];
  readonly logger: Logger;
  /** `level`: the lowest level logged (`warn` by default; `debug` to see everything the code logs). */
  constructor(level = 'warn') {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          this.lines.push(line);
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (typeof entry.level === 'number' && entry.level >= 50) this.errors.push(entry);
          else if (entry.level === 40) this.warnings.push(entry);
        }
        done();
      },
    });
    // The application's own logger (redaction and scrubbing included), writing here.
    this.logger = createLogger({ level, format: 'json', destination: stream });
  }
}

export interface HarnessOptions {
  fake?: FakeDiscordOptions;
  /** `replicate` (the real client against ReplicateFake, default), `preview`, or providers of the test's own. */
  provider?: 'replicate' | 'preview' | ImageProvider[];
  quotas?: Partial<QuotaDefaults>;
  /** Register commands in the guild (default) or globally. */
  guildCommands?: boolean;
  replicateLatencyMs?: number;
  /** More configuration variables (e.g. `DISCORD_SHARDS`), as the environment would give them. */
  env?: Record<string, string>;
  /** Lowest level logged into `log` (default `warn`). */
  logLevel?: string;
  /** Jobs the worker runs at once (default the worker's own); 1 keeps a second job queued behind a slow first. */
  workerConcurrency?: number;
  /** A Redis Cluster (its nodes) and credentials instead of the shared Redis at REDIS_URL. */
  redis?: CoreOptions['redis'];
}

/**
 * One bot process (the adapter logged in to the fake Discord, with a progress feed) and one worker "process" that
 * delivers through a second adapter that never logs in, as a ROLE=worker process does. Real Redis, real discord.js.
 */
export class Harness {
  fake!: FakeDiscord;
  replicate: ReplicateFake | undefined;
  config!: Config;
  core!: FluxbotCore;
  adapter!: DiscordAdapter;
  log = new LogSink();
  private progress: ProgressFeed | undefined;
  private options: HarnessOptions = {};
  readonly prefix = testPrefix('discord');

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness();
    h.options = options;
    if (options.logLevel) h.log = new LogSink(options.logLevel);
    h.fake = await FakeDiscord.start({ guilds: [GUILD], token: 'fake-bot-token', ...options.fake });
    const provider = options.provider ?? 'replicate';
    if (provider === 'replicate') h.replicate = await ReplicateFake.start({ latencyMs: options.replicateLatencyMs ?? 0 });
    h.config = loadConfig({
      DISCORD_TOKEN: 'fake-bot-token',
      DISCORD_API_URL: h.fake.apiUrl,
      // The flows here were written against FLUX.1 [pro]'s fields and sizes; a test about another model names it.
      FLUX_MODEL: 'flux-pro',
      ...(options.guildCommands === false ? {} : { DISCORD_GUILD_ID: h.fake.guild.id }),
      ...options.env,
    });
    await h.startBot();
    return h;
  }

  private providers(): ImageProvider[] {
    const p = this.options.provider ?? 'replicate';
    if (Array.isArray(p)) return p;
    if (p === 'preview') return [new PreviewProvider()];
    const r = this.replicate!;
    return [new ReplicateProvider({ baseUrl: r.baseUrl, token: r.token, pollIntervalMs: 50, allowPrivateDownloads: true })];
  }

  /** Core + worker + logged-in adapter on this harness's Redis prefix (again after `stopBot`: a restart). */
  async startBot(): Promise<void> {
    this.core = new FluxbotCore({
      redisUrl: REDIS_URL,
      ...(this.options.redis ? { redis: this.options.redis } : {}),
      logger: this.log.logger,
      prefix: this.prefix,
      quotas: { dailyPerUser: 100, concurrentPerUser: 20, dailyPerGuild: 1000, concurrentPerGuild: 100, ...this.options.quotas },
    });
    await this.core.ready();
    this.progress = this.core.createProgressFeed(50);
    await this.progress.ready();
    // The worker's delivery comes from an adapter that is never started: no gateway login, REST with the bot token.
    const workerSide = new DiscordAdapter({ config: this.config, core: this.core, logger: this.log.logger });
    await this.core
      .createWorker({
        providers: this.providers(),
        deliveries: { discord: workerSide.delivery },
        progressIntervalMs: 50,
        ...(this.options.workerConcurrency === undefined ? {} : { concurrency: this.options.workerConcurrency }),
      })
      .start();
    this.adapter = new DiscordAdapter({ config: this.config, core: this.core, logger: this.log.logger, progress: this.progress });
    await this.adapter.start();
  }

  /** Stops the bot process: adapter, worker, Redis connections. Keys stay (the same prefix restarts it). */
  async stopBot(): Promise<void> {
    await this.adapter.stop();
    await this.core.close(2000);
  }

  async close(): Promise<void> {
    await this.stopBot();
    await this.fake.close();
    await this.replicate?.close();
    await dropPrefix(this.prefix, this.core.target);
  }

  // ---- driving -----------------------------------------------------------------------------------------------

  flux(options: InteractionInit['options'], init: Omit<InteractionInit, 'name' | 'options'> = {}): DispatchedInteraction {
    return this.fake.interaction({ name: 'flux', ...init, ...(options === undefined ? {} : { options }) });
  }

  /** The private answer to an interaction (the edit of its deferred reply). */
  async privateReply(i: DispatchedInteraction): Promise<string> {
    await this.fake.waitFor((c) => c.route === 'editOriginal' && c.params.token === i.token && c.status < 300);
    return this.fake.originalResponse(i.id)!.content;
  }

  /** The next delivered image (the bot's 🔄 marks it: the job record exists), after `after` reactions already seen. */
  async image(nth = 0): Promise<FakeMessage> {
    const call = await this.waitForNth((c) => c.route === 'addOwnReaction' && c.status === 204, nth);
    return this.fake.message(call.params.messageId!)!;
  }

  async waitForNth(match: (c: DiscordCall) => boolean, nth: number, timeoutMs = 15_000): Promise<DiscordCall> {
    return this.fake.waitFor((c) => match(c) && this.fake.calls.filter(match).indexOf(c) === nth, timeoutMs);
  }

  /** Used today / in flight of a member (by fake username). */
  async usage(username: string): Promise<{ usedToday: number; inFlight: number }> {
    const requester = { platform: 'discord' as const, guildId: this.fake.guild.id, userId: this.fake.user(username).id };
    const v = await this.core.admin.userView(userKey(requester), guildKey(requester));
    return { usedToday: v.usedToday, inFlight: v.inFlight };
  }

  /** Seconds a Redis key has left (-2: no such key). */
  async redisTtl(key: string): Promise<number> {
    return this.core.redis.ttl(key);
  }

  /** Jobs in any queue state. */
  async jobCount(): Promise<number> {
    const counts = await this.core.queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }
}
