import type { FakeChannelInit, FakeUserInit } from './workspace.js';

/** Options of {@link FakeSlack.start}. Every field has a default so `FakeSlack.start()` alone works. */
export interface FakeSlackOptions {
  /** Workspace id. Default `T0FAKE`. */
  teamId?: string;
  /** Workspace subdomain used in permalinks. Default `fluxbot-test`. */
  teamDomain?: string;
  /** The app's bot user. Default `U0BOT`. */
  botUserId?: string;
  /** The app's bot id (`B…`). Default `B0BOT`. */
  botId?: string;
  /** The app id (`A…`). Default `A0FAKE`. */
  appId?: string;
  /** The only bot token the fake accepts. Default `xoxb-fake-bot-token`. */
  botToken?: string;
  /** The only app-level token the fake accepts (apps.connections.open). Default `xapp-1-fake-app-token`. */
  appToken?: string;
  /** Secret the inbound helpers sign with; give the same to the App. Default `fake-signing-secret`. */
  signingSecret?: string;
  users?: FakeUserInit[];
  channels?: FakeChannelInit[];
  /** How long a Socket Mode delivery waits for the app's ack before resolving with `acked: false`. Default 3000. */
  ackTimeoutMs?: number;
}

export type FakeSlackConfig = Required<Omit<FakeSlackOptions, 'users' | 'channels'>>;

export function resolveConfig(options: FakeSlackOptions): FakeSlackConfig {
  return {
    teamId: options.teamId ?? 'T0FAKE',
    teamDomain: options.teamDomain ?? 'fluxbot-test',
    botUserId: options.botUserId ?? 'U0BOT',
    botId: options.botId ?? 'B0BOT',
    appId: options.appId ?? 'A0FAKE',
    botToken: options.botToken ?? 'xoxb-fake-bot-token',
    appToken: options.appToken ?? 'xapp-1-fake-app-token',
    signingSecret: options.signingSecret ?? 'fake-signing-secret',
    ackTimeoutMs: options.ackTimeoutMs ?? 3_000,
  };
}
