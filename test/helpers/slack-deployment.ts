import { FakeSlack } from '../fakes/slack/index.js';
import { AppProcess, killAll } from './app-process.js';
import { REDIS_URL, testPrefix } from './core.js';

export const CHANNEL = 'C0RENDERS';

/**
 * A Slack deployment of the real program in child processes: the fake Slack, and any number of `ROLE=bot|worker|all`
 * processes on one Redis prefix, configured through their environment only. Tests add provider settings.
 */
export class SlackDeployment {
  readonly apps: AppProcess[] = [];
  readonly prefix: string;

  private constructor(
    readonly slack: FakeSlack,
    readonly redisUrl: string,
    private readonly base: Record<string, string>,
  ) {
    this.prefix = base.REDIS_PREFIX!;
  }

  /** `env` holds the provider settings (and any other) shared by every process of the deployment. */
  static async start(env: Record<string, string>, options: { redisUrl?: string; users?: number } = {}): Promise<SlackDeployment> {
    const users = Array.from({ length: options.users ?? 10 }, (_, i) => ({ id: `U0USER${i}`, name: `user${i}` }));
    const slack = await FakeSlack.start({ users, channels: [{ id: CHANNEL, name: 'renders' }] });
    const redisUrl = options.redisUrl ?? REDIS_URL;
    return new SlackDeployment(slack, redisUrl, {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: testPrefix('fault'),
      SLACK_BOT_TOKEN: slack.config.botToken,
      SLACK_SIGNING_SECRET: slack.config.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: '0',
      ALLOW_PRIVATE_URLS: 'true',
      QUOTA_DAILY_PER_USER: '1000',
      QUOTA_CONCURRENT_PER_USER: '100',
      QUOTA_DAILY_PER_GUILD: '10000',
      QUOTA_CONCURRENT_PER_GUILD: '1000',
      ...env,
    });
  }

  /** Starts one process of the program; a bot (or all) process becomes the fake Slack's HTTP receiver. */
  async add(role: 'bot' | 'worker' | 'all', env: Record<string, string> = {}): Promise<AppProcess> {
    const app = await AppProcess.start(`${role}#${this.apps.length}`, { ...this.base, ...env, ROLE: role });
    this.apps.push(app);
    if (role !== 'worker') {
      // Ready (HTTP) may be seen before the log line naming the receiver's port arrives through the pipe.
      await app.waitForLog((l) => l.msg === 'Slack app started');
      this.slack.useHttpReceiver(`http://127.0.0.1:${app.slackPort}/slack/events`);
    }
    return app;
  }

  /** Runs `/flux <text>` as a user; resolves with the app's HTTP answer. */
  flux(user: number, text: string) {
    return this.slack.slashCommand({ user: `U0USER${user}`, channel: CHANNEL, text });
  }

  /** Image messages (with files) whose caption contains `tag`. */
  imagesTagged(tag: string) {
    return this.images().filter((m) => (m.text ?? '').includes(tag));
  }

  images() {
    return this.slack.messagesIn(CHANNEL).filter((m) => (m.files?.length ?? 0) > 0);
  }

  /** Waits until at least `count` images are posted. */
  async delivered(count: number, timeoutMs = 45_000) {
    try {
      return await this.slack.until(() => (this.images().length >= count ? this.images() : undefined), timeoutMs, `${count} delivered images`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.describe()}`, { cause: err });
    }
  }

  /** What happened so far, for failure messages: images posted, private answers, warnings and errors each process logged. */
  describe(): string {
    const images = this.images().map((m) => (m.text ?? '').slice(0, 40).replace(/\n.*/s, ''));
    const logs = this.apps.map((a) => `${a.name}: ${JSON.stringify(a.logs.filter((l) => (l.level ?? 0) >= 40).map((l) => `${l.msg} ${JSON.stringify(l.err ?? '').slice(0, 200)}`))}`);
    return [`images (${images.length}): ${images.join(' | ')}`, `private answers: ${JSON.stringify(this.privateTexts())}`, ...logs].join('\n');
  }

  /** Private answers (ephemerals and response_url posts) the people saw. */
  privateTexts(): string[] {
    return [
      ...this.slack.workspace.ephemerals.map((e) => e.text),
      ...this.slack.responses.map((r) => String((r.body as { text?: unknown }).text ?? '')),
    ];
  }

  /** Thread replies saying a job failed (the worker's failure notice in the status thread). */
  threadTexts(): string[] {
    return this.slack.messagesIn(CHANNEL).filter((m) => m.thread_ts !== undefined && m.thread_ts !== m.ts).map((m) => m.text ?? '');
  }

  async close(): Promise<void> {
    await killAll(this.apps);
    await this.slack.close();
  }
}
