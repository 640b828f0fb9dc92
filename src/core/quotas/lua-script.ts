import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis-connection.js';

/**
 * A Lua script run by EVALSHA, falling back to EVAL once when the server does not have it cached (after a restart
 * or SCRIPT FLUSH). Plain string sources keep the scripts loadable from src and from a compiled dist alike, and the
 * caller's connection is never altered (no defineCommand on a shared client).
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
