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
  '*.WEBHOOK_SECRET',
  '*.ADMIN_TOKEN',
  '*.REPLICATE_WEBHOOK_SECRET',
  '*.BFL_WEBHOOK_SECRET',
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

/**
 * Secrets that travel inside values rather than under a known key, so the paths above cannot reach them: Discord
 * interaction and webhook tokens are URL path segments (a DiscordAPIError's `url`), libraries put whole requests with
 * their Authorization header on errors (the Slack WebClient's `original.config.headers`), webhook tokens ride in query
 * strings. Every logged string is passed through these.
 */
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/(\/(?:interactions|webhooks)\/\d+\/)[^/?#\s"']+/g, '$1[redacted]'],
  [/\b(Bearer|Bot|Token|Key)\s+[\w.~+/=-]{8,}/g, '$1 [redacted]'],
  // Slack (xoxb-, xoxp-, xapp-…), Replicate (r8_…) and Discord bot tokens (three base64url parts).
  [/\bx(?:ox[a-z]|app)-[\w-]+/g, '[redacted]'],
  [/\br8_\w+/g, '[redacted]'],
  [/\b[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}/g, '[redacted]'],
  [/([?&](?:token|key|secret|signature)=)[^&#\s"']+/gi, '$1[redacted]'],
  // A password in a URL (redis://:password@host).
  [/(\/\/[^/@\s:]*:)[^@\s/]+@/g, '$1[redacted]@'],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Fields of library errors that carry the request that failed (headers included) or its body: never logged. */
const ERROR_FIELDS_DROPPED = new Set(['original', 'config', 'request', 'requestBody', 'headers', 'response', 'socket']);

/**
 * Errors as pino's own serializer writes them (type, message, stack, the error's own fields, nested errors), minus
 * the request-carrying fields, with every string scrubbed; the cause, if any, nested under `cause`.
 */
export function serializeError(err: unknown): unknown {
  return scrubValue(err, 0, new WeakSet());
}

function errorJson(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: scrubSecrets(err.message), stack: scrubSecrets(err.stack ?? '') };
  for (const key in err) {
    if (ERROR_FIELDS_DROPPED.has(key) || key in out) continue;
    out[key] = scrubValue((err as unknown as Record<string, unknown>)[key], depth + 1, seen);
  }
  if (err.cause !== undefined) out.cause = scrubValue(err.cause, depth + 1, seen);
  return out;
}

function scrubValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof URL) return scrubSecrets(value.href);
  if (depth > 8 || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) return errorJson(value, depth, seen);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1, seen));
  const proto = Object.getPrototypeOf(value) as unknown;
  // Other class instances (Dates, Maps, library objects) are left to JSON as they are.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  // A token's value under any key that names one, at any depth (a job's `target.extra.interactionToken`): redact
  // paths only reach the depths they list.
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && typeof v === 'string' ? '[redacted]' : scrubValue(v, depth + 1, seen);
  return out;
}

/** Keys whose string values are secrets wherever they appear. */
const SECRET_KEY = /(?:token|secret|password|apikey|api_key)$/i;

export interface LoggerOptions {
  level?: string;
  /** `pretty` for people at a terminal, `json` for log collectors, `auto` picks pretty when stdout is a TTY. */
  format?: 'auto' | 'json' | 'pretty';
  /** Where JSON lines go (tests pass a stream to read them). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty' || (options.format !== 'json' && options.destination === undefined && process.stdout.isTTY);
  const base: pino.LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { app: 'fluxbot' },
    serializers: { err: serializeError, msg: (msg: unknown) => (typeof msg === 'string' ? scrubSecrets(msg) : msg) },
    // Everything else logged is scrubbed too, errors under any key serialized the same way.
    formatters: { log: (obj) => scrubValue(obj, 0, new WeakSet()) as Record<string, unknown> },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } });
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}
