import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

/**
 * Bolt's Logger interface over the app's pino logger, so Bolt's and the WebClient's lines share one sink with its
 * redaction. Bolt's debug lines (request dumps) go to pino's trace level.
 */
export class PinoBoltLogger implements BoltLogger {
  private level: LogLevel = LogLevel.INFO;

  constructor(private readonly logger: Logger) {}

  debug(...msg: unknown[]): void {
    this.logger.trace(text(msg));
  }
  info(...msg: unknown[]): void {
    this.logger.info(text(msg));
  }
  warn(...msg: unknown[]): void {
    this.logger.warn(text(msg));
  }
  error(...msg: unknown[]): void {
    const err = msg.find((m) => m instanceof Error);
    this.logger.error(err ? { err } : {}, text(msg.filter((m) => m !== err)));
  }
  setLevel(level: LogLevel): void {
    this.level = level;
  }
  getLevel(): LogLevel {
    return this.level;
  }
  setName(): void {}
}

function text(msg: unknown[]): string {
  return msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : safeJson(m))).join(' ');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
