import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaScript } from '../../../src/core/quotas/lua-script.js';
import { REDIS_URL } from './fixture.js';

const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await redis.quit();
});

describe('LuaScript', () => {
  it('loads a script the server has never seen, then runs it by its hash', async () => {
    // A unique comment makes a script no earlier run can have cached.
    const script = new LuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn {KEYS[1], ARGV[1]}`);
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    expect(await script.run(redis, ['{t}:k'], ['v'])).toEqual(['{t}:k', 'v']);
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, ['{t}:k2'], [7])).toEqual(['{t}:k2', '7']);
  });

  it('passes script errors through', async () => {
    const script = new LuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn redis.error_reply('boom')`);
    await expect(script.run(redis, [], [])).rejects.toThrow('boom');
  });
});
