import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, LogLevel, type AppOptions, type Logger } from '@slack/bolt';
import type { FakeSlack } from './fake-slack.js';

/** How the Bolt app receives Slack's requests. */
export type SlackMode = 'http' | 'socket';

type ClientOptions = NonNullable<AppOptions['clientOptions']>;

/** A Bolt logger that keeps what it was told, so tests can assert the app logged no errors. */
export class RecordingLogger implements Logger {
  readonly lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; text: string }> = [];
  private level = LogLevel.INFO;

  debug(...msg: unknown[]): void {
    this.push('debug', msg);
  }
  info(...msg: unknown[]): void {
    this.push('info', msg);
  }
  warn(...msg: unknown[]): void {
    this.push('warn', msg);
  }
  error(...msg: unknown[]): void {
    this.push('error', msg);
  }
  setLevel(level: LogLevel): void {
    this.level = level;
  }
  getLevel(): LogLevel {
    return this.level;
  }
  setName(): void {}

  get errors(): string[] {
    return this.lines.filter((l) => l.level === 'error').map((l) => l.text);
  }

  private push(level: 'debug' | 'info' | 'warn' | 'error', msg: unknown[]): void {
    this.lines.push({ level, text: msg.map((m) => (m instanceof Error ? m.stack ?? m.message : String(m))).join(' ') });
  }
}

/**
 * App options that point the real Bolt app at the fake, in either mode. Socket Mode's SocketModeClient builds its own
 * WebClient from the same `clientOptions` (App passes them via `installerOptions.clientOptions`), so `slackApiUrl`
 * also sends `apps.connections.open` to the fake. Do not put `headers` in clientOptions: the SocketModeClient's
 * `Authorization: Bearer xapp-…` header would be overwritten. Set `retryConfig` explicitly: otherwise the
 * SocketModeClient writes `{retries: 100}` into the shared clientOptions object.
 */
export function boltAppOptions(fake: FakeSlack, mode: SlackMode, logger: Logger, clientOptions: ClientOptions = {}): AppOptions {
  return {
    token: fake.config.botToken,
    signingSecret: fake.config.signingSecret,
    ...(mode === 'socket' ? { socketMode: true, appToken: fake.config.appToken } : {}),
    logger,
    // A fresh object per App: Bolt and the SocketModeClient mutate it (logger, retryConfig).
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, ...clientOptions },
  };
}

/** A started Bolt app; `stop()` stops it (always call it, e.g. in afterEach). */
export interface StartedApp {
  app: App;
  logger: RecordingLogger;
  stop(): Promise<void>;
}

/**
 * Builds the real Bolt App against `fake`, lets `register` add listeners, starts it (HTTP mode: HTTPReceiver on a
 * free port, registered with `fake.useHttpReceiver`; Socket Mode: connected to the fake's socket) and returns it.
 */
export async function startBoltApp(
  fake: FakeSlack,
  mode: SlackMode,
  register: (app: App) => void,
  clientOptions: ClientOptions = {},
): Promise<StartedApp> {
  const logger = new RecordingLogger();
  const app = new App(boltAppOptions(fake, mode, logger, clientOptions));
  register(app);
  if (mode === 'http') {
    const server: Server = await app.start({ port: 0, host: '127.0.0.1' });
    fake.useHttpReceiver(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);
  } else {
    // Resolves once the fake's {"type":"hello"} arrived.
    await app.start();
  }
  let stopped = false;
  return {
    app,
    logger,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await app.stop();
    },
  };
}
