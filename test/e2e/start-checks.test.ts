import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis } from '../../src/redis-check.js';
import { dropPrefix, testPrefix } from '../helpers/core.js';
import { freePort } from '../helpers/private-redis.js';
import { cleanEnv, REPO, runToEnd, waitFor200 } from '../helpers/run-program.js';

let dir: string;
const prefix = testPrefix('start');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxbot start-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await dropPrefix(prefix);
});

/** `npm start`'s launcher (bin/start.js), from `cwd`, as a new user runs it. */
function startBot(env: Record<string, string>, cwd: string) {
  const child = spawn(process.execPath, [join(REPO, 'bin/start.js')], { cwd, env: cleanEnv({ LOG_FORMAT: 'json', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, exited: () => child.exitCode !== null || child.signalCode !== null };
}

async function sigterm(child: ReturnType<typeof startBot>['child']): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return { code, ms: Date.now() - started };
}

describe('starting without Redis', () => {
  const expectOneLine = (stderr: string, port: number) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`no Redis at redis://127.0.0.1:${port} (REDIS_URL; connection refused)`);
    expect(stderr).toContain('docker compose up -d redis');
    expect(stderr).toMatch(/apt install redis-server, brew install redis/);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('with a platform token: one line naming REDIS_URL and how to get Redis, exit 1 within seconds', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const r = await runToEnd(process.execPath, [join(REPO, 'bin/start.js')], {
      cwd: dir, // were a Redis started by mistake, its data would land here, not in the repository
      env: cleanEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, DISCORD_TOKEN: 'x', HTTP_PORT: '0' }),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, port);
  });

  it('in playground mode without redis-server on PATH: the same line', { timeout: 120_000 }, async () => {
    const port = await freePort();
    // A PATH with nothing on it: the program itself is started by its absolute path, as npm would.
    const emptyBin = join(dir, 'empty bin');
    await mkdir(emptyBin);
    const r = await runToEnd(process.execPath, [join(REPO, 'bin/start.js')], {
      cwd: dir, // were a Redis started by mistake, its data would land here, not in the repository
      env: cleanEnv({ PATH: emptyBin, REDIS_URL: `redis://127.0.0.1:${port}`, HTTP_PORT: '0' }),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expectOneLine(r.stderr, port);
  });

  it('in playground mode with redis-server on PATH: starts a private one under ./data/redis (AOF), says so, stops it on SIGTERM', { timeout: 120_000 }, async () => {
    const cwd = join(dir, 'first run');
    await mkdir(cwd);
    const [redisPort, httpPort] = [await freePort(), await freePort()];
    await writeFile(join(cwd, '.env'), `REDIS_URL=redis://127.0.0.1:${redisPort}\nHTTP_PORT=${httpPort}\n`);
    const bot = startBot({}, cwd);
    try {
      const tookMs = await waitFor200(`http://127.0.0.1:${httpPort}/healthz`, 60_000, bot.exited);
      expect(tookMs, bot.output()).toBeDefined();
      expect(await waitFor200(`http://127.0.0.1:${httpPort}/readyz`, 10_000)).toBeDefined();
      expect(bot.output()).toContain(
        `no Redis answered at redis://127.0.0.1:${redisPort}: started a private redis-server for this first run (data in ${join(cwd, 'data', 'redis')}, AOF on)`,
      );
      expect(existsSync(join(cwd, 'data', 'redis', 'appendonlydir'))).toBe(true);
    } finally {
      const { code, ms } = await sigterm(bot.child);
      expect(code, bot.output()).toBe(0);
      expect(ms).toBeLessThan(15_000);
    }
    expect((await probeRedis(`redis://127.0.0.1:${redisPort}`, 500)).ok).toBe(false);
  });
});

describe('starting from a path with a space, through a symlink', () => {
  it('runs (it used to exit 0 at once, doing nothing)', { timeout: 120_000 }, async () => {
    const link = join(dir, 'with space', 'fluxbot link');
    await mkdir(dirname(link), { recursive: true });
    await symlink(REPO, link);
    const httpPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(link, 'src', 'main.ts')], {
      cwd: REPO,
      env: cleanEnv({ REDIS_PREFIX: prefix, HTTP_PORT: String(httpPort), LOG_FORMAT: 'json' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = () => child.exitCode !== null;
    try {
      expect(await waitFor200(`http://127.0.0.1:${httpPort}/healthz`, 60_000, exited), output).toBeDefined();
      expect(output).toContain('"msg":"fluxbot starting"');
    } finally {
      const done = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await done)[0]).toBe(0);
    }
  });
});
