import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has working defaults and picks the offline preview provider when no key is set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ REDIS_URL: 'redis://127.0.0.1:6379', ROLE: 'all', HTTP_PORT: 8080, FLUX_MODEL: 'flux-pro', PROVIDERS: ['preview'] });
    expect(c).toMatchObject({ QUOTA_DAILY_PER_USER: 10, QUOTA_CONCURRENT_PER_USER: 2, QUOTA_DAILY_PER_GUILD: 200, QUOTA_CONCURRENT_PER_GUILD: 10 });
    expect(c.DISCORD_API_URL).toBe('https://discord.com/api');
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
    expect(text).toMatch(/QUOTA_TIMEZONE: must be an IANA time zone/);
    expect(text).toMatch(/REDIS_URL: must be a URL/);
    expect(loadConfig.bind(null, { PROVIDERS: 'fal' })).toThrow(/PROVIDERS: lists fal but FAL_KEY is not set/);
    expect(loadConfig.bind(null, { SLACK_BOT_TOKEN: 'xoxb' })).toThrow(/SLACK_SIGNING_SECRET/);
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
