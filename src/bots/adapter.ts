import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { FluxbotCore } from '../core/core.js';
import type { DeliveryPort, Platform } from '../core/ports.js';
import type { ProgressFeed } from '../core/queue/progress-feed.js';

/** What a platform adapter gets from the composition root. */
export interface AdapterDeps {
  config: Config;
  core: FluxbotCore;
  logger: Logger;
  /** Present in the bot role: job progress for status messages. */
  progress?: ProgressFeed;
}

/**
 * One chat platform. The bot role starts it (gateway, HTTP receiver or socket: commands, reactions, admission);
 * worker processes use only its REST-based `delivery`, which needs no gateway connection.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  readonly delivery: DeliveryPort;
  start(): Promise<void>;
  /** Closes what the adapter opened (the owner of a connection closes it). */
  stop(): Promise<void>;
  /** Connected and able to take commands (for /readyz). */
  isReady(): boolean;
}
