import { SlackAdapter, type SlackAdapterOptions } from '../../../src/bots/slack/slack-adapter.js';
import { loadConfig } from '../../../src/config.js';
import type { CoreOptions, FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import type { ImageProvider } from '../../../src/core/providers/provider.js';
import { PreviewProvider } from '../../../src/core/providers/preview/preview-provider.js';
import type { QuotaDefaults } from '../../../src/core/quotas/types.js';
import { dropPrefix, makeCore, silentLogger } from '../../helpers/core.js';
import { FakeSlack, type FakeUserInit, type SlackMode } from '../../fakes/slack/index.js';

export const CHANNEL = 'C0GENERAL';
export const ADMIN = 'U0ADMIN';
export const OWNER = 'U0OWNER';
export const LISTED = 'U0LISTED';
export const MEMBER = 'U0MEMBER';
export const OTHER = 'U0OTHER';
export const MODES: readonly SlackMode[] = ['http', 'socket'];

const USERS: FakeUserInit[] = [
  { id: ADMIN, name: 'ada', isAdmin: true },
  { id: OWNER, name: 'olga', isOwner: true },
  { id: LISTED, name: 'lars' },
  { id: MEMBER, name: 'max' },
  { id: OTHER, name: 'otto' },
];

export interface HarnessOptions {
  providers?: ImageProvider[];
  quotas?: Partial<QuotaDefaults>;
  adapter?: SlackAdapterOptions;
  /** Start no worker: jobs stay in the queue (for refusal tests that count the queue). */
  worker?: boolean;
  /** More core options (e.g. `inputImageTtlSeconds`). */
  core?: Partial<CoreOptions>;
}

/**
 * One Slack deployment under test: the fake Slack, a core on the real Redis (own prefix), the real SlackAdapter (Bolt
 * in HTTP or Socket Mode), the progress feed and a real worker delivering through the adapter's Web API delivery.
 */
export class SlackHarness {
  private constructor(
    readonly fake: FakeSlack,
    readonly core: FluxbotCore,
    readonly adapter: SlackAdapter,
    readonly mode: SlackMode,
  ) {}

  static async start(mode: SlackMode, options: HarnessOptions = {}): Promise<SlackHarness> {
    const fake = await FakeSlack.start({ users: USERS, channels: [{ id: CHANNEL, name: 'general' }] });
    const core = await makeCore({
      ...options.core,
      quotas: { dailyPerUser: 100, concurrentPerUser: 20, dailyPerGuild: 1000, concurrentPerGuild: 100, ...options.quotas },
    });
    const config = loadConfig({
      SLACK_BOT_TOKEN: fake.config.botToken,
      SLACK_SIGNING_SECRET: fake.config.signingSecret,
      ...(mode === 'socket' ? { SLACK_APP_TOKEN: fake.config.appToken } : {}),
      SLACK_API_URL: fake.apiUrl,
      SLACK_PORT: '0',
      SLACK_ADMIN_USER_IDS: LISTED,
      FLUX_MODEL: 'flux-pro',
    });
    const progress = core.createProgressFeed(50);
    await progress.ready();
    const adapter = new SlackAdapter(
      { config, core, logger: silentLogger, progress },
      { retryConfig: { retries: 0 }, host: '127.0.0.1', sharePolling: { attempts: 5, delayMs: () => 20 }, ...options.adapter },
    );
    if (options.worker !== false) {
      await core.createWorker({ providers: options.providers ?? [new PreviewProvider()], deliveries: { slack: adapter.delivery } }).start();
    }
    await adapter.start();
    if (mode === 'http') fake.useHttpReceiver(`http://127.0.0.1:${adapter.port}/slack/events`);
    return new SlackHarness(fake, core, adapter, mode);
  }

  async stop(): Promise<void> {
    await this.adapter.stop();
    await this.core.close(1000);
    await dropPrefix(this.core.prefix, this.core.target);
    await this.fake.close();
  }

  /** Images the bot uploaded into `threadTs` (messages carrying files). */
  images(threadTs?: string) {
    return this.fake.messagesIn(CHANNEL, threadTs).filter((m) => (m.files?.length ?? 0) > 0);
  }

  /** Resolves once `count` images are posted and each carries the bot's 🔄 reaction (the flow's last step). */
  async delivered(count = 1) {
    return this.fake.until(() => {
      const images = this.images();
      const done = images.filter((m) => this.fake.workspace.reactions.some((r) => r.ts === m.ts && r.name === 'arrows_counterclockwise'));
      return done.length >= count ? done : undefined;
    }, 15_000, `${count} delivered image(s) with the 🔄 reaction`);
  }

  /** Today's usage of a Slack user in the fake workspace. */
  async usedToday(userId: string): Promise<number> {
    const who = { platform: 'slack' as const, guildId: this.fake.config.teamId, userId };
    return (await this.core.admin.userView(userKey(who), guildKey(who))).usedToday;
  }

  /** Images of a Slack user in flight (admitted, not yet delivered or refunded). */
  async inFlight(userId: string): Promise<number> {
    const who = { platform: 'slack' as const, guildId: this.fake.config.teamId, userId };
    return (await this.core.admin.userView(userKey(who), guildKey(who))).inFlight;
  }

  /** Runs a slash command and resolves with the private answer the person got through its response_url. */
  async privateAnswer(user: string, command: string, text = ''): Promise<string> {
    const answer = await this.fake.slashCommand({ user, channel: CHANNEL, command, text });
    const post = await this.fake.until(() => this.fake.responsesTo(answer.responseUrl)[0], 10_000, `the answer to ${command} ${text}`);
    const body = post.body as { text?: unknown; response_type?: unknown };
    if (body.response_type !== 'ephemeral') throw new Error(`${command} answered publicly: ${JSON.stringify(body)}`);
    return String(body.text);
  }

  /** Jobs in the queue, in any state. */
  async jobCount(): Promise<number> {
    const counts = await this.core.queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** The text the person saw privately: the ack body (HTTP or socket), a response_url post, or an ephemeral. */
  ephemeralTexts(responseUrl?: string): string[] {
    const fromUrl = responseUrl ? this.fake.responsesTo(responseUrl).map((r) => String((r.body as { text?: unknown }).text ?? '')) : [];
    return [...fromUrl, ...this.fake.workspace.ephemerals.map((e) => e.text)];
  }
}

/** The ephemeral text in an app's ack answer (HTTP JSON body, or the socket ack payload). */
export function ackText(answer: { body: unknown }): string | undefined {
  const body = answer.body as { text?: unknown; response_type?: unknown } | undefined;
  return typeof body?.text === 'string' ? body.text : undefined;
}
