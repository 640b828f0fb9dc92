import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a logged object. Values of settings and headers that hold tokens,
 * keys and secrets are never logged; the list covers the config object and HTTP headers.
 */
export const REDACT_PATHS = [
  '*.DISCORD_TOKEN',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_SIGNING_SECRET',
  '*.SLACK_APP_TOKEN',
  '*.REPLICATE_API_TOKEN',
  '*.FAL_KEY',
  '*.BFL_API_KEY',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*["x-key"]',
  '*.headers.authorization',
  '*.headers["x-key"]',
  'config',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level?: string;
  /** `pretty` for people at a terminal, `json` for log collectors, `auto` picks pretty when stdout is a TTY. */
  format?: 'auto' | 'json' | 'pretty';
  /** Where JSON lines go (tests pass a stream to read them). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty' || (options.format !== 'json' && options.destination === undefined && process.stdout.isTTY);
  const base = { level: options.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'fluxbot' } };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } });
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}
