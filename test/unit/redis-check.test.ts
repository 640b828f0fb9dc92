import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMainModule } from '../../src/entry.js';
import { ensureRedis, mayStartPrivateRedis, missingRedisMessage, probeRedis, safeRedisUrl } from '../../src/redis-check.js';
import { freePort } from '../helpers/private-redis.js';

let dir: string;
let silent: Server;
let silentPort: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxbot unit-'));
  // Accepts connections and never answers: a hung Redis, or something else on the port.
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('probeRedis', () => {
  it('answers ok for a Redis, "connection refused" for a closed port, "no answer" for a silent one, each within its timeout', async () => {
    expect(await probeRedis('redis://127.0.0.1:6379')).toEqual({ ok: true });
    const closed = await freePort();
    expect(await probeRedis(`redis://127.0.0.1:${closed}`)).toEqual({ ok: false, reason: 'connection refused' });
    const started = Date.now();
    expect(await probeRedis(`redis://127.0.0.1:${silentPort}`, 800)).toEqual({ ok: false, reason: 'no answer' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('starts no private Redis where something else holds the port: the message instead', async () => {
    const plan = await ensureRedis({ REDIS_URL: `redis://127.0.0.1:${silentPort}` }, join(dir, 'never'));
    expect(plan).toEqual({ kind: 'missing', message: missingRedisMessage(`redis://127.0.0.1:${silentPort}`, 'no answer') });
  });
});

describe('mayStartPrivateRedis', () => {
  it('only for the playground alone on a plain loopback URL', () => {
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBe(true);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://localhost:6390/0' })).toBe(true);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://127.0.0.1:6379', DISCORD_TOKEN: 'x' })).toBe(false);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://127.0.0.1:6379', SLACK_BOT_TOKEN: 'x' })).toBe(false);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://redis.internal:6379' })).toBe(false);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://:secret@127.0.0.1:6379' })).toBe(false);
    expect(mayStartPrivateRedis({ REDIS_URL: 'rediss://127.0.0.1:6379' })).toBe(false);
    expect(mayStartPrivateRedis({ REDIS_URL: 'redis://127.0.0.1:6379/3' })).toBe(false);
  });

  it('never prints a password', () => {
    expect(safeRedisUrl('redis://:hunter2@redis.internal:6379')).toBe('redis://:***@redis.internal:6379');
    expect(missingRedisMessage('redis://:hunter2@h:6379', 'no answer')).not.toContain('hunter2');
  });
});

describe('isMainModule', () => {
  it('matches through spaces and symlinks, and nothing else', async () => {
    const real = join(dir, 'a folder', 'main.js');
    await mkdir(join(dir, 'a folder'));
    await writeFile(real, '');
    await symlink(join(dir, 'a folder'), join(dir, 'linked folder'));
    const url = pathToFileURL(real).href;
    expect(url).toContain('%20');
    expect(isMainModule(url, real)).toBe(true);
    expect(isMainModule(url, join(dir, 'linked folder', 'main.js'))).toBe(true);
    expect(isMainModule(url, join(dir, 'a folder', 'other.js'))).toBe(false);
    expect(isMainModule(url, undefined)).toBe(false);
  });
});
