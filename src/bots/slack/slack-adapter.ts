import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver, webApi, type Receiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { AdapterDeps, PlatformAdapter } from '../adapter.js';
import { PinoBoltLogger } from './bolt-logger.js';
import { registerCommands } from './commands.js';
import { registerModal } from './modal-listener.js';
import { registerReactions } from './reactions.js';
import { registerAppHome } from './app-home.js';
import { registerCancelButton } from './cancel-button.js';
import { registerEdit } from './edit-listeners.js';
import { registerImageButtons } from './image-action-listeners.js';
import { statusBlocks } from './image-buttons.js';
import { SlackDelivery, type SharePolling } from './slack-delivery.js';
import { StatusTracker } from '../shared/status-tracker.js';
import { statusText } from './slack-text.js';
import type { SlackServices, SlackStatus } from './submit-flow.js';

/**
 * Web API retries: Slack's 429 answers carry Retry-After, which the WebClient waits out before retrying; other
 * failures back off. Bounded (about a minute at most) so a worker never hangs on Slack for half an hour, which is
 * the WebClient's default.
 */
export const DEFAULT_SLACK_RETRY: webApi.RetryOptions = { retries: 4, factor: 2, minTimeout: 1_000, maxTimeout: 15_000, randomize: true };

/**
 * Longest wait for one Web API request (each retry gets its own), the upload of the image bytes included. Without it
 * a call Slack never answers holds its listener, or a worker's image slot, forever: the WebClient's default is none.
 * Slack answers API calls in well under a second; the longest legitimate request is a multi-megabyte upload.
 */
export const DEFAULT_SLACK_TIMEOUT_MS = 60_000;

export interface SlackAdapterOptions {
  /** Extra WebClient options (merged over `slackApiUrl` from SLACK_API_URL and the retry policy). */
  clientOptions?: Omit<webApi.WebClientOptions, 'logger'>;
  /** Web API retry policy; tests use `{ retries: 0 }`. Default {@link DEFAULT_SLACK_RETRY}. */
  retryConfig?: webApi.RetryOptions;
  /** Longest wait for one Web API request. Default {@link DEFAULT_SLACK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** HTTP mode: the receiver's port (default SLACK_PORT; 0 picks a free one, see {@link SlackAdapter.port}). */
  receiverPort?: number;
  /** HTTP mode: the interface to listen on (default all). */
  host?: string;
  /** How long delivery polls files.info for an upload's message ts (after the release, see SlackDelivery). */
  sharePolling?: SharePolling;
}

/**
 * The Slack platform: slash commands, the /flux modal, 🔄 reactions, the buttons under images and on status messages,
 * the "Edit with FLUX" shortcut and the App Home on Bolt (HTTP mode with the signing secret,
 * or Socket Mode with SLACK_APP_TOKEN; the same listeners behind both), and a Web-API-only {@link SlackDelivery} that
 * any worker process can use without starting Bolt.
 */
export class SlackAdapter implements PlatformAdapter {
  readonly platform = 'slack' as const;
  readonly delivery: SlackDelivery;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly token: string;
  private app: App | undefined;
  private board: StatusTracker<SlackStatus> | undefined;
  private server: Server | undefined;
  private started = false;
  private socketConnected = false;

  constructor(
    private readonly deps: AdapterDeps,
    private readonly options: SlackAdapterOptions = {},
  ) {
    this.config = deps.config;
    this.logger = deps.logger.child({ module: 'slack' });
    if (!this.config.SLACK_BOT_TOKEN) throw new Error('SlackAdapter needs SLACK_BOT_TOKEN');
    this.token = this.config.SLACK_BOT_TOKEN;
    const client = new webApi.WebClient(this.token, this.clientOptions());
    const { records, redis } = deps.core;
    this.delivery = new SlackDelivery(client, deps.logger.child({ module: 'slack-delivery' }), {
      ...(options.sharePolling ? { polling: options.sharePolling } : {}),
      // A copy of the record under the message ts Slack reported late, written like the worker writes records.
      aliasRecord: async (from, ts, threadTs) => {
        const record = await records.find('slack', from);
        if (!record) return;
        const entry = records.entry({ ...record, messageId: ts, threadId: threadTs });
        await redis.set(entry.key, entry.value, 'EX', entry.ttlSeconds);
      },
    });
  }

  /** Listener runs in progress (commands, modal submissions, reactions), awaited on stop. */
  private readonly inFlight = new Set<Promise<void>>();

  get socketMode(): boolean {
    return this.config.SLACK_APP_TOKEN !== undefined;
  }

  /** The HTTP receiver's port once started (HTTP mode). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    if (this.app) return;
    const logger = new PinoBoltLogger(this.logger);
    const receiver = this.receiver(logger);
    // deferInitialization: auth.test runs in init(), so a bad token rejects start() instead of escaping as a rejection.
    const app = new App({ token: this.token, receiver, logger, clientOptions: this.clientOptions(), deferInitialization: true });
    this.app = app;
    const svc: SlackServices = {
      core: this.deps.core,
      config: this.config,
      logger: this.logger,
      board: this.deps.progress
        ? new StatusTracker<SlackStatus>({
            // The job says where a done image went (privately, or kept, when the channel refused it).
            render: async (m, state, jobId) => {
              const via = state.kind === 'done' && jobId ? (await this.deps.core.queue.getJob(jobId).catch(() => undefined))?.data.delivered?.via : undefined;
              const text = statusText(m.header, state, via);
              // While the job is under way its requester (or an admin) may cancel it.
              const underWay = state.kind !== 'done' && state.kind !== 'failed' && state.kind !== 'delivering';
              await app.client.chat.update({ channel: m.channel, ts: m.ts, text, blocks: statusBlocks(text, underWay ? jobId : undefined) });
            },
            failureReason: async (jobId) => (await this.deps.core.queue.getJob(jobId))?.data.failure?.message,
            logger: this.logger,
          })
        : undefined,
      botToken: this.token,
      trustedFileHosts: [new URL(this.config.SLACK_API_URL).host],
    };
    this.board = svc.board;
    // Every listener run is tracked until it ends: a command acked just before a shutdown still gets its admission,
    // enqueue and answer (stop() waits for them) instead of being dropped between its ack and its job.
    app.use(async ({ next }) => {
      const run = next();
      this.inFlight.add(run);
      try {
        await run;
      } finally {
        this.inFlight.delete(run);
      }
    });
    registerCommands(app, svc);
    registerModal(app, svc);
    registerReactions(app, svc);
    registerImageButtons(app, svc);
    registerCancelButton(app, svc);
    registerEdit(app, svc);
    registerAppHome(app, svc);
    // Anything a listener did not handle ends here: logged, never a crash.
    app.error(async (error) => {
      this.logger.error({ err: error }, 'unhandled error in a Slack listener');
    });
    await app.init();
    if (this.deps.progress) this.board?.attach(this.deps.progress);
    if (this.socketMode) {
      await app.start();
    } else {
      const port = this.options.receiverPort ?? this.config.SLACK_PORT;
      this.server = (await app.start({ port, ...(this.options.host ? { host: this.options.host } : {}) })) as Server;
    }
    this.started = true;
    this.logger.info({ mode: this.socketMode ? 'socket' : 'http', port: this.port }, 'Slack app started');
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    this.started = false;
    this.socketConnected = false;
    // No new requests first; then the ones already taken finish (their Web API calls still work), then the board.
    if (app) await app.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.board?.detach();
  }

  isReady(): boolean {
    return this.started && (!this.socketMode || this.socketConnected);
  }

  /** A fresh options object per client: Bolt and the SocketModeClient write into the one they are given. */
  private clientOptions(): webApi.WebClientOptions {
    return {
      slackApiUrl: this.config.SLACK_API_URL,
      retryConfig: { ...(this.options.retryConfig ?? DEFAULT_SLACK_RETRY) },
      timeout: this.options.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS,
      logger: new PinoBoltLogger(this.deps.logger.child({ module: 'slack-web' })),
      // The original request error carries the whole request, Authorization header included; the logger drops it
      // too, but it has no business travelling with every failed call.
      attachOriginalToWebAPIRequestError: false,
      ...this.options.clientOptions,
    };
  }

  private receiver(logger: PinoBoltLogger): Receiver {
    if (this.socketMode) {
      const receiver = new SocketModeReceiver({ appToken: this.config.SLACK_APP_TOKEN!, logger, installerOptions: { clientOptions: this.clientOptions() } });
      receiver.client.on('connected', () => (this.socketConnected = true));
      receiver.client.on('disconnected', () => (this.socketConnected = false));
      receiver.client.on('reconnecting', () => (this.socketConnected = false));
      return receiver;
    }
    if (!this.config.SLACK_SIGNING_SECRET) throw new Error('Slack HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)');
    return new HTTPReceiver({ signingSecret: this.config.SLACK_SIGNING_SECRET, logger });
  }
}
