import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis } from '../../src/redis-check.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix, testPrefix } from '../helpers/core.js';
import { freePort } from '../helpers/private-redis.js';
import { fluxbotCli, REPO } from '../helpers/run-program.js';

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const prefix = testPrefix('cli');
const shared = { REDIS_PREFIX: prefix };
let dir: string;
let replicate: ReplicateFake;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxbot cli-'));
  replicate = await ReplicateFake.start();
});
afterAll(async () => {
  await replicate.close();
  await dropPrefix(prefix);
  await rm(dir, { recursive: true, force: true });
});

describe('fluxbot help and version', () => {
  it('answers --version and -h/--help on every command, listing ranges and defaults, without valid settings', { timeout: 120_000 }, async () => {
    const broken = { HTTP_PORT: 'nope', REDIS_URL: 'not a url' };
    for (const args of [['--version'], ['quota', '--version'], ['quota', 'set', '--version'], ['jobs', 'list', '--version'], ['generate', '--version']]) {
      const r = await fluxbotCli(args, broken);
      expect([r.code, r.stdout.trim()], args.join(' ')).toEqual([0, version]);
    }
    const set = await fluxbotCli(['quota', 'set', '-h'], broken);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('--daily <n>');
    expect(set.stdout).toMatch(/0 to 1000000; -1\s+restores the default/);
    expect(set.stdout).toMatch(/discord:<server id>:<user id>/);
    const gen = await fluxbotCli(['generate', '--help'], broken);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(/--steps <n>\s+diffusion steps \(1 to 50, default 25/);
    expect(gen.stdout).toMatch(/"flux-1.1-pro-ultra"/);
    const list = await fluxbotCli(['jobs', 'list', '--help'], broken);
    expect(list.stdout).toMatch(/--limit <n>.*\(1 to 1000\)[\s\S]*default: 20/);
  });
});

describe('fluxbot quota', () => {
  it('takes negative numbers as values (--daily -1 restores the default) and prints text unless --json', { timeout: 120_000 }, async () => {
    const set = await fluxbotCli(['quota', 'set', '--user', 'discord:g1:amy', '--daily', '5', '--concurrent', '-1'], shared);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^user discord:g1:amy, \d{4}-\d\d-\d\d\n {2}used today +0 of 5 \(set by an admin\)\n {2}in flight +0 of 2 \(default\)/);
    const back = await fluxbotCli(['quota', 'set', '--user', 'discord:g1:amy', '--daily', '-1', '--json'], shared);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ daily: { value: 10, overridden: false }, concurrent: { overridden: false } });
    const audit = await fluxbotCli(['quota', 'audit', '--limit', '2'], shared);
    expect(audit.stdout.trim().split('\n')).toHaveLength(2);
    expect(audit.stdout).toMatch(/cli:\S+ {2}set_limits {2}user:discord:g1:amy {2}daily=default/);
  });

  it('checks subject ids before touching Redis', { timeout: 120_000 }, async () => {
    for (const [args, message] of [
      [['--user', 'amy'], /--user <key>' argument 'amy' is invalid\. must be discord:<server id>:<user id>, slack:<team id>:<user id> or web:<space>:<session>/],
      [['--guild', 'discord:g1:amy'], /must be discord:<server id>, slack:<team id> or web:<space>/],
      [['--user', 'telegram:1:2'], /argument 'telegram:1:2' is invalid/],
    ] as const) {
      // An unreachable Redis proves the id was refused first: otherwise the Redis message would come.
      const r = await fluxbotCli(['quota', 'show', ...args], { REDIS_URL: 'redis://127.0.0.1:1', DISCORD_TOKEN: 'x' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('(add --help for usage)');
    }
    const ok = await fluxbotCli(['quota', 'show', '--user', 'web:playground:s-1', '--json'], shared);
    expect(JSON.parse(ok.stdout)).toMatchObject({ target: { kind: 'user', key: 'web:playground:s-1' } });
    expect((await fluxbotCli(['quota', 'show', '--guild', 'slack:T01', '--json'], shared)).code).toBe(0);
  });
});

describe('fluxbot jobs', () => {
  it('exits non-zero for a job that does not exist', { timeout: 120_000 }, async () => {
    const cancel = await fluxbotCli(['jobs', 'cancel', 'j-missing'], shared);
    expect([cancel.code, cancel.stderr]).toEqual([1, 'fluxbot: no job j-missing\n']);
    expect((await fluxbotCli(['jobs', 'retry', 'j-missing'], shared)).code).toBe(1);
    expect((await fluxbotCli(['jobs', 'cancel', 'bad id!'], shared)).stderr).toMatch(/a job id is letters, digits/);
    const list = await fluxbotCli(['jobs', 'list', '--state', 'failed'], shared);
    expect([list.code, list.stdout]).toEqual([0, 'no failed jobs\n']);
  });
});

describe('fluxbot generate --out', () => {
  it('refuses an --out it cannot write before any provider call', { timeout: 120_000 }, async () => {
    const creates = () => replicate.callsTo('POST', /\/predictions$/).length;
    const before = creates();
    const env = { REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl, ALLOW_PRIVATE_URLS: 'true' };
    const gen = (out: string) => fluxbotCli(['generate', '--prompt', 'x', '--model', 'flux-pro', '--provider', 'replicate', '--out', out], env);
    const missing = await gen(join(dir, 'no such folder', 'x.png'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^fluxbot: --out .*x\.png: the folder .*no such folder does not exist\n$/);
    expect((await gen(dir)).stderr).toMatch(/is a folder; give a file name/);
    expect(creates()).toBe(before);

    const ok = await gen(join(dir, 'ok.webp'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^wrote .*ok\.webp: 1024×1024 webp, \d+ bytes\n {2}flux-pro via replicate, seed \d+, \d+ ms, \$0\.055\n$/);
    expect(creates()).toBe(before + 1);
  });
});

describe('fluxbot without Redis', () => {
  it('reads .env, and says in one line that REDIS_URL has no Redis, exiting 1 within seconds', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const cwd = join(dir, 'bot with env');
    await mkdir(cwd);
    // A platform token: not the playground, so no private Redis is started and the message is the answer.
    await writeFile(join(cwd, '.env'), `REDIS_URL=redis://127.0.0.1:${port}\nDISCORD_TOKEN=x\n`);
    const r = await fluxbotCli(['quota', 'show', '--user', 'discord:1:2'], {}, cwd);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`no Redis at redis://127.0.0.1:${port} (REDIS_URL; connection refused)`);
    expect(r.stderr).toContain('docker compose up -d redis');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('in playground mode, starts a private redis-server with its data under ./data/redis for the command', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const cwd = join(dir, 'playground');
    await mkdir(cwd);
    await writeFile(join(cwd, '.env'), `REDIS_URL=redis://127.0.0.1:${port}\n`);
    const set = await fluxbotCli(['quota', 'set', '--user', 'web:play:s1', '--daily', '3', '--json'], {}, cwd);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toMatch(/no Redis answered at redis:\/\/127\.0\.0\.1:\d+: started a private redis-server for this command \(data in .*playground\/data\/redis\)/);
    expect(existsSync(join(cwd, 'data', 'redis', 'appendonlydir'))).toBe(true);
    // Stopped with the command...
    expect((await probeRedis(`redis://127.0.0.1:${port}`, 500)).ok).toBe(false);
    // ...and what it wrote survives in the AOF for the next one.
    const show = await fluxbotCli(['quota', 'show', '--user', 'web:play:s1', '--json'], {}, cwd);
    expect(JSON.parse(show.stdout)).toMatchObject({ daily: { value: 3, overridden: true } });
  });
});
