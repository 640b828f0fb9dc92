import { hostname } from 'node:os';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEFAULT_MODEL, MODEL_IDS, PROVIDER_NAMES, type ModelId, type ProviderName } from './core/models.js';
import { DEFAULT_EDIT_MODEL, EDIT_MODELS } from './core/queue/image-actions.js';
import { loadPriceOverrides, type PriceOverrides } from './core/prices.js';
import { PROVIDER_ROUTINGS } from './core/providers/routing.js';
import { parseRedisNodes, type RedisNode, type RedisTarget } from './core/redis-connection.js';

/**
 * The environment, parsed once at start-up. Nothing else in the program reads `process.env`. `.env.example`
 * documents every name; the README's settings table mirrors it.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const optionalUrl = () => optionalString.pipe(z.url({ error: 'must be a URL such as https://host/path' }).optional());
const url = (fallback: string) =>
  optionalString.transform((v): string => v ?? fallback).pipe(z.url({ error: 'must be a URL such as https://host/path' }));

const intSetting = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  optionalString
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min).max(max));

/** An optional whole number: unset means "no such limit". */
const optionalInt = (min = 0) =>
  optionalString
    .transform((v) => (v === undefined ? undefined : Number(v)))
    .pipe(z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min).optional());

/** An amount of US dollars (`12.50`), as integer micro-dollars; absent: none. */
const optionalUsd = () =>
  optionalString
    .transform((v) => (v === undefined ? undefined : Number(v)))
    .pipe(
      z
        .number({ error: 'must be an amount of US dollars such as 25 or 12.50' })
        .finite('must be an amount of US dollars such as 25 or 12.50')
        .min(0, 'must not be negative')
        .max(1e9, 'must be at most 1000000000')
        .transform((usd) => Math.round(usd * 1_000_000))
        .optional(),
    );

const list = optionalString.transform((v) =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
);

export const ConfigSchema = z
  .object({
    REDIS_URL: url('redis://127.0.0.1:6379'),
    // A Redis Cluster instead of REDIS_URL: its seed nodes, `host:port,host:port`.
    REDIS_CLUSTER_NODES: optionalString.transform((v, ctx): RedisNode[] | undefined => {
      if (v === undefined) return undefined;
      try {
        return parseRedisNodes(v);
      } catch (err) {
        ctx.issues.push({ code: 'custom', input: v, message: (err as Error).message });
        return z.NEVER;
      }
    }),
    REDIS_USERNAME: optionalString,
    REDIS_PASSWORD: optionalString,
    REDIS_TLS: optionalString
      .transform((v) => (v === undefined ? 'false' : v.toLowerCase()))
      .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }))
      .transform((v) => v === 'true' || v === '1'),
    REDIS_PREFIX: optionalString
      .transform((v) => v ?? '{fluxbot}')
      .pipe(z.string().regex(/^\{[A-Za-z0-9_.-]{1,64}\}[A-Za-z0-9_.:-]{0,64}$/, 'must start with a {hash-tag}, e.g. {fluxbot} or {fluxbot-staging}')),
    ROLE: optionalString.transform((v) => v ?? 'all').pipe(z.enum(['all', 'bot', 'worker'], { error: 'must be all, bot or worker' })),
    HTTP_PORT: intSetting(8080, 0, 65535),
    PUBLIC_URL: optionalUrl(),
    WEBHOOK_SECRET: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    WEBHOOK_FALLBACK_POLL_MS: intSetting(15_000, 1000, 600_000),
    ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    DISCORD_TOKEN: optionalString,
    DISCORD_API_URL: url('https://discord.com/api'),
    DISCORD_GUILD_ID: optionalString.pipe(z.string().regex(/^\d{5,25}$/, 'must be a Discord server id (digits)').optional()),
    DISCORD_SHARDS: optionalString
      .transform((v) => (v === undefined || v === 'auto' ? ('auto' as const) : Number(v)))
      .pipe(z.union([z.literal('auto'), z.number().int().min(1)], { error: 'must be auto or a whole number ≥ 1' })),
    SLACK_BOT_TOKEN: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_APP_TOKEN: optionalString,
    SLACK_PORT: intSetting(3000, 0, 65535),
    SLACK_API_URL: url('https://slack.com/api/'),
    SLACK_ADMIN_USER_IDS: list,
    PLAYGROUND: optionalString.transform((v) => v ?? 'auto').pipe(z.enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' })),
    PLAYGROUND_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    PLAYGROUND_LOCAL_NETWORKS: list.pipe(
      z.array(z.string().refine(isCidr, 'each entry must be a network such as 172.28.0.0/16')),
    ),
    PROVIDERS: list.pipe(
      z.array(z.enum(PROVIDER_NAMES, { error: `each provider must be one of ${PROVIDER_NAMES.join(', ')}` })),
    ),
    REPLICATE_API_TOKEN: optionalString,
    REPLICATE_API_URL: url('https://api.replicate.com/v1'),
    REPLICATE_WEBHOOK_SECRET: optionalString.pipe(
      z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be the whsec_... key from GET /v1/webhooks/default/secret').optional(),
    ),
    FAL_KEY: optionalString,
    FAL_QUEUE_URL: url('https://queue.fal.run'),
    BFL_API_KEY: optionalString,
    BFL_API_URL: url('https://api.bfl.ai/v1'),
    COG_URL: optionalUrl(),
    COG_MODEL: optionalString.pipe(z.enum(MODEL_IDS, { error: `must be one of ${MODEL_IDS.join(', ')}` }).optional()),
    ALLOW_PRIVATE_URLS: optionalString
      .transform((v) => (v === undefined ? 'false' : v.toLowerCase()))
      .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }))
      .transform((v) => v === 'true' || v === '1'),
    PREVIEW_LATENCY_MS: intSetting(0, 0, 600_000),
    PROVIDER_ROUTING: optionalString
      .transform((v) => v ?? 'order')
      .pipe(z.enum(PROVIDER_ROUTINGS, { error: `must be one of ${PROVIDER_ROUTINGS.join(', ')}` })),
    // Read and checked here, once, so a bad file stops the start with the other setting errors.
    PRICES_FILE: optionalString.transform((path, ctx) => {
      if (path === undefined) return undefined;
      try {
        return { path, overrides: loadPriceOverrides(path) };
      } catch (err) {
        // The message already starts with the setting's name, which the error list puts first.
        ctx.issues.push({ code: 'custom', input: path, message: (err as Error).message.replace(/^PRICES_FILE /, '') });
        return z.NEVER;
      }
    }),
    FLUX_MODEL: optionalString.transform((v) => v ?? DEFAULT_MODEL).pipe(z.enum(MODEL_IDS, { error: `must be one of ${MODEL_IDS.join(', ')}` })),
    FLUX_EDIT_MODEL: optionalString
      .transform((v) => v ?? DEFAULT_EDIT_MODEL)
      .pipe(z.enum(EDIT_MODELS as [ModelId, ...ModelId[]], { error: `must be a model that edits images: one of ${EDIT_MODELS.join(', ')}` })),
    QUOTA_DAILY_PER_USER: intSetting(10),
    QUOTA_CONCURRENT_PER_USER: intSetting(2, 1),
    QUOTA_DAILY_PER_GUILD: intSetting(200),
    QUOTA_CONCURRENT_PER_GUILD: intSetting(10, 1),
    QUOTA_DAILY_PER_DM_USER: intSetting(5),
    QUOTA_DAILY_DM: intSetting(100),
    QUOTA_DAILY_TOTAL: optionalInt(),
    QUOTA_MAX_DAILY_PER_GUILD: optionalInt(),
    QUOTA_MAX_GRANT: optionalInt(),
    BUDGET_MONTHLY_USD: optionalUsd(),
    BUDGET_GUILD_MONTHLY_USD: optionalUsd(),
    BUDGET_PERSON_DAILY_USD: optionalUsd(),
    ALLOWED_GUILDS: list.pipe(
      z.array(z.string().regex(/^((discord|slack):)?[A-Za-z0-9]{1,32}$/, 'each entry must be a server/workspace id, optionally as discord:<id> or slack:<team>')),
    ),
    QUOTA_TIMEZONE: optionalString.transform((v) => v ?? 'UTC').pipe(
      z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
    ),
    JOB_RETENTION_DAYS: intSetting(30, 1),
    WORKER_CONCURRENCY: intSetting(50, 1),
    PROVIDER_CONCURRENCY: intSetting(20, 1),
    IMAGE_CONCURRENCY: intSetting(8, 1, 1000),
    PROVIDER_RATE_PER_MINUTE: intSetting(600, 1),
    SHUTDOWN_TIMEOUT_MS: intSetting(30_000, 0),
    RETRY_ATTEMPTS: intSetting(2, 1, 100),
    RETRY_BASE_MS: intSetting(1000, 1, 600_000),
    JOB_LOCK_MS: intSetting(30_000, 1000, 3_600_000),
    // The worker's identity, kept by its replacement (a restarted container keeps its host name).
    WORKER_ID: optionalString
      .transform((v) => v ?? (hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'worker'))
      .pipe(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1 to 100 letters, digits, dots, dashes or underscores')),
    LOG_LEVEL: optionalString
      .transform((v) => v ?? 'info')
      .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be a pino level' })),
    LOG_FORMAT: optionalString.transform((v) => v ?? 'auto').pipe(z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' })),
  })
  .superRefine((c, ctx) => {
    const configured = configuredProviders(c);
    for (const p of c.PROVIDERS) {
      if (!configured.includes(p)) {
        ctx.addIssue({ code: 'custom', path: ['PROVIDERS'], message: `lists ${p} but ${providerKeyName(p)} is not set` });
      }
    }
    if (c.SLACK_BOT_TOKEN && !c.SLACK_APP_TOKEN && !c.SLACK_SIGNING_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['SLACK_SIGNING_SECRET'], message: 'is required with SLACK_BOT_TOKEN unless SLACK_APP_TOKEN (Socket Mode) is set' });
    }
  })
  .transform(({ PRICES_FILE, ...c }) => ({
    ...c,
    PROVIDERS: c.PROVIDERS.length > 0 ? c.PROVIDERS : configuredProviders(c),
    PRICES_FILE: PRICES_FILE?.path,
    /** The operator's prices from PRICES_FILE (empty without one): what `PriceTable` puts over the catalogue's. */
    PRICE_OVERRIDES: PRICES_FILE?.overrides ?? ({} as PriceOverrides),
  }));

export type Config = z.output<typeof ConfigSchema>;

/** Where Redis is (REDIS_URL, or REDIS_CLUSTER_NODES when set) and how to log in, for the connection factory. */
export function redisTarget(
  c: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_TLS'>,
): RedisTarget {
  return { url: c.REDIS_URL, clusterNodes: c.REDIS_CLUSTER_NODES, username: c.REDIS_USERNAME, password: c.REDIS_PASSWORD, tls: c.REDIS_TLS };
}

/** Whether the web playground runs: `PLAYGROUND=on`, or `auto` (the default) when no chat platform is configured. */
export function playgroundEnabled(c: Pick<Config, 'PLAYGROUND' | 'DISCORD_TOKEN' | 'SLACK_BOT_TOKEN'>): boolean {
  return c.PLAYGROUND === 'on' || (c.PLAYGROUND === 'auto' && !c.DISCORD_TOKEN && !c.SLACK_BOT_TOKEN);
}

function configuredProviders(c: {
  REPLICATE_API_TOKEN?: string | undefined;
  FAL_KEY?: string | undefined;
  BFL_API_KEY?: string | undefined;
  COG_URL?: string | undefined;
}): ProviderName[] {
  const out: ProviderName[] = [];
  if (c.REPLICATE_API_TOKEN) out.push('replicate');
  if (c.FAL_KEY) out.push('fal');
  if (c.BFL_API_KEY) out.push('bfl');
  if (c.COG_URL) out.push('cog');
  // Without any key the bot still runs, drawing labelled placeholders, so it can be tried offline.
  if (out.length === 0) out.push('preview');
  return out;
}

function providerKeyName(p: ProviderName): string {
  return { replicate: 'REPLICATE_API_TOKEN', fal: 'FAL_KEY', bfl: 'BFL_API_KEY', cog: 'COG_URL', preview: '(nothing)' }[p];
}

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The PATH programs are looked up in (`redis-server` for a first run): the one other thing read from the environment. */
export function searchPath(env: Record<string, string | undefined> = process.env): string {
  return env.PATH ?? '';
}

/** Parses an environment (normally `process.env`); throws ConfigError naming each bad setting and what it expects. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  return result.data;
}
