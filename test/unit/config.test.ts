import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, loadConfig } from '../../src/config.js';
import { coreOptions } from '../../src/core-options.js';
import { DEFAULT_MODEL } from '../../src/core/models.js';

describe('configuration', () => {
  it('has working defaults and picks the offline preview provider when no key is set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', ROLE: 'all', HTTP_PORT: 8080, FLUX_MODEL: DEFAULT_MODEL, PROVIDERS: ['preview'] });
    expect(c).toMatchObject({ QUOTA_DAILY_PER_USER: 10, QUOTA_CONCURRENT_PER_USER: 2, QUOTA_DAILY_PER_GUILD: 200, QUOTA_CONCURRENT_PER_GUILD: 10 });
    expect(c.DISCORD_API_URL).toBe('https://discord.com/api');
  });

  it('gives the Discord DM bucket (discord:dm) its own daily limits', () => {
    const quotas = coreOptions(loadConfig({}), pino({ enabled: false })).quotas;
    expect(quotas.buckets).toEqual({ 'discord:dm': { dailyPerUser: 5, dailyPerGuild: 100 } });
    const set = coreOptions(loadConfig({ QUOTA_DAILY_PER_DM_USER: '2', QUOTA_DAILY_DM: '0' }), pino({ enabled: false })).quotas;
    expect(set.buckets).toEqual({ 'discord:dm': { dailyPerUser: 2, dailyPerGuild: 0 } });
    expect(() => loadConfig({ QUOTA_DAILY_DM: '-1' })).toThrow(/QUOTA_DAILY_DM/);
  });

  it('reads the Cog model and refuses an unknown one', () => {
    expect(loadConfig({ COG_URL: 'http://gpu:5000', COG_MODEL: 'flux-dev' }).COG_MODEL).toBe('flux-dev');
    expect(() => loadConfig({ COG_URL: 'http://gpu:5000', COG_MODEL: 'sdxl' })).toThrow(/COG_MODEL: must be one of/);
  });

  it('orders providers by PROVIDERS, else the configured ones', () => {
    expect(loadConfig({ FAL_KEY: 'k', REPLICATE_API_TOKEN: 'r' }).PROVIDERS).toEqual(['replicate', 'fal']);
    expect(loadConfig({ FAL_KEY: 'k', REPLICATE_API_TOKEN: 'r', PROVIDERS: 'fal, replicate' }).PROVIDERS).toEqual(['fal', 'replicate']);
  });

  it('names each bad setting and what it expects', () => {
    let err: unknown;
    try {
      loadConfig({ HTTP_PORT: 'eighty', ROLE: 'boss', PROVIDERS: 'fal', FLUX_MODEL: 'sdxl', QUOTA_TIMEZONE: 'Mars/Olympus', REDIS_URL: 'nope' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).message;
    expect(text).toMatch(/HTTP_PORT: must be a whole number/);
    expect(text).toMatch(/ROLE: must be all, bot or worker/);
    expect(text).toMatch(/FLUX_MODEL: must be one of/);
    expect(() => loadConfig({ FLUX_EDIT_MODEL: 'flux-schnell' })).toThrow(/FLUX_EDIT_MODEL: must be a model that edits images/);
    expect(loadConfig({}).FLUX_EDIT_MODEL).toBe('flux-2-pro');
    expect(loadConfig({ FLUX_EDIT_MODEL: 'flux-kontext-max' }).FLUX_EDIT_MODEL).toBe('flux-kontext-max');
    expect(text).toMatch(/QUOTA_TIMEZONE: must be an IANA time zone/);
    expect(text).toMatch(/REDIS_URL: must be a URL/);
    expect(loadConfig.bind(null, { PROVIDERS: 'fal' })).toThrow(/PROVIDERS: lists fal but FAL_KEY is not set/);
    expect(loadConfig.bind(null, { SLACK_BOT_TOKEN: 'xoxb' })).toThrow(/SLACK_SIGNING_SECRET/);
  });

  it('routes by PROVIDERS order unless PROVIDER_ROUTING=cheapest', () => {
    expect(loadConfig({}).PROVIDER_ROUTING).toBe('order');
    expect(loadConfig({ PROVIDER_ROUTING: 'cheapest' }).PROVIDER_ROUTING).toBe('cheapest');
    expect(() => loadConfig({ PROVIDER_ROUTING: 'random' })).toThrow(/PROVIDER_ROUTING: must be one of order, cheapest/);
  });

  it('never echoes a secret in its errors', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 'super-secret-token', HTTP_PORT: 'x' })).toThrow(ConfigError);
    try {
      loadConfig({ DISCORD_TOKEN: 'super-secret-token', HTTP_PORT: 'x' });
    } catch (e) {
      expect(String(e)).not.toContain('super-secret-token');
    }
  });

  it('.env.example documents every setting the schema reads', () => {
    const example = readFileSync('.env.example', 'utf8');
    const names = Object.keys((ConfigSchema as unknown as { in: { shape: Record<string, unknown> } }).in.shape);
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('the README settings table names every setting too', () => {
    const readme = readFileSync('README.md', 'utf8');
    const names = Object.keys((ConfigSchema as unknown as { in: { shape: Record<string, unknown> } }).in.shape);
    const missing = names.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('PRICES_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fluxbot-prices-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('is optional: without it the catalogue prices apply', () => {
    const c = loadConfig({});
    expect(c.PRICES_FILE).toBeUndefined();
    expect(c.PRICE_OVERRIDES).toEqual({});
    expect(coreOptions(c, pino({ level: 'silent' })).prices?.rule('flux-pro', 'fal')).toEqual({ per: 'image', usd: 0.05 });
  });

  it('is read once at start: a number is a flat price, an object a rule; the core prices with it', () => {
    const path = file('ok.json', JSON.stringify({ 'flux-pro': { fal: 0.045 }, 'flux-dev': { cog: { per: 'megapixel', firstUsd: 0.004, extraUsd: 0.002 } } }));
    const c = loadConfig({ PRICES_FILE: path });
    expect(c.PRICES_FILE).toBe(path);
    expect(c.PRICE_OVERRIDES).toEqual({ 'flux-pro': { fal: 0.045 }, 'flux-dev': { cog: { per: 'megapixel', firstUsd: 0.004, extraUsd: 0.002 } } });
    const prices = coreOptions(c, pino({ level: 'silent' })).prices!;
    expect(prices.rule('flux-pro', 'fal')).toEqual({ per: 'image', usd: 0.045 });
    expect(prices.cost('flux-pro', 'fal', { width: 1024, height: 1024 })).toBe(45_000);
    expect(prices.rule('flux-dev', 'cog')).toEqual({ per: 'megapixel', firstUsd: 0.004, extraUsd: 0.002 });
    // What the file does not name keeps the catalogue's price.
    expect(prices.rule('flux-pro', 'replicate')).toEqual({ per: 'image', usd: 0.055 });
  });

  it('stops the start naming the file and the bad entry, with the other setting errors', () => {
    const cases: Array<[string, RegExp]> = [
      [file('negative.json', '{"flux-pro": {"fal": -1}}'), /PRICES_FILE: \S+negative\.json: flux-pro\.fal: /],
      [file('half-rule.json', '{"flux-2-pro": {"bfl": {"per": "megapixel", "firstUsd": 0.03}}}'), /PRICES_FILE: \S+half-rule\.json: flux-2-pro\.bfl: /],
      [file('model.json', '{"sdxl": {"fal": 0.01}}'), /PRICES_FILE: \S+model\.json: .*sdxl/],
      [file('provider.json', '{"flux-pro": {"midjourney": 0.01}}'), /PRICES_FILE: \S+provider\.json: flux-pro: .*midjourney/],
      [file('broken.json', '{"flux-pro": '), /PRICES_FILE: \S+broken\.json: .*JSON/],
      [join(dir, 'missing.json'), /PRICES_FILE: \S+missing\.json: ENOENT/],
    ];
    for (const [path, message] of cases) {
      expect(() => loadConfig({ PRICES_FILE: path }), path).toThrow(message);
    }
    let err: unknown;
    try {
      loadConfig({ PRICES_FILE: join(dir, 'missing.json'), HTTP_PORT: 'eighty' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^HTTP_PORT: /), expect.stringMatching(/^PRICES_FILE: /)]);
  });
});
