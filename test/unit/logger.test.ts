import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format: 'json', destination: stream }) };
}

describe('logger', () => {
  it('writes JSON lines and redacts tokens, keys and auth headers wherever they appear', () => {
    const { lines, logger } = capture();
    const config = loadConfig({ DISCORD_TOKEN: 'discord-secret', REPLICATE_API_TOKEN: 'r8_secret', FAL_KEY: 'fal-secret' });
    logger.info({ settings: config }, 'started');
    logger.child({ jobId: 'j1' }).warn({ req: { headers: { authorization: 'Bearer r8_secret', 'x-key': 'bfl-secret' } } }, 'call');
    logger.info({ token: 'tok-secret', provider: { apiKey: 'k-secret' } }, 'x');
    const text = lines.join('');
    for (const secret of ['discord-secret', 'r8_secret', 'fal-secret', 'bfl-secret', 'tok-secret', 'k-secret']) expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]!) as { msg: string; settings: { DISCORD_TOKEN: string; REDIS_URL: string } };
    expect(first.msg).toBe('started');
    expect(first.settings.DISCORD_TOKEN).toBe('[redacted]');
    expect(first.settings.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(JSON.parse(lines[1]!)).toMatchObject({ jobId: 'j1', level: 40 });
  });
});
