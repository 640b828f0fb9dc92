import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis } from '../../src/redis-check.js';
import { emptyPromptRefused, generateThenReroll, launchChromium, quotaLine } from './web/page-flow.js';
import { freePort } from '../helpers/private-redis.js';
import { cleanEnv, REPO, runToEnd, waitFor200 } from '../helpers/run-program.js';

const git = promisify(execFile);
let clone: string;

/**
 * A new user's first run: a fresh copy of the repository (what git tracks plus new files not ignored, i.e. the working
 * tree as it would be committed) in a folder whose path has a space, `npm install`, then `npm start` with only
 * REDIS_URL and HTTP_PORT set. Nothing answers at REDIS_URL, so the bot starts its own Redis (playground mode).
 */
beforeAll(async () => {
  clone = join(await mkdtemp(join(tmpdir(), 'fluxbot first-run-')), 'my fluxbot');
  const { stdout } = await git('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, maxBuffer: 16 << 20 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO, file))) continue; // deleted in the working tree, not yet committed
    await mkdir(dirname(join(clone, file)), { recursive: true });
    await cp(join(REPO, file), join(clone, file), { preserveTimestamps: true });
  }
}, 60_000);
afterAll(async () => {
  await rm(dirname(clone), { recursive: true, force: true });
});

describe('a fresh clone', () => {
  it('npm install, then npm start runs the bot with no build step; the playground works in Chromium; SIGTERM ends it within 15 s', { timeout: 600_000 }, async () => {
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const install = await runToEnd('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: clone,
      env: cleanEnv(),
      timeoutMs: 480_000,
    });
    expect(install.code, install.stderr).toBe(0);

    const [redisPort, httpPort] = [await freePort(), await freePort()];
    const started = Date.now();
    // Its own process group, as a terminal or a service manager runs it; SIGTERM goes to the group.
    const npm = spawn('npm', ['start'], {
      cwd: clone,
      env: cleanEnv({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, HTTP_PORT: String(httpPort) }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = () => npm.exitCode !== null || npm.signalCode !== null;
    try {
      const healthy = await waitFor200(`http://127.0.0.1:${httpPort}/healthz`, 120_000, exited);
      expect(healthy, output).toBeDefined();
      // For bench/README.md: the time from `npm start` to a healthy bot on a warm install.
      console.log(`first-run: npm start → /healthz in ${Date.now() - started} ms`);
      expect(output).toContain('started a private redis-server for this first run');
      expect(existsSync(join(clone, 'data', 'redis', 'appendonlydir'))).toBe(true);
      expect(existsSync(join(clone, 'dist'))).toBe(false);
      // A new user opens the playground as the README says, and uses it by its labels.
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`http://localhost:${httpPort}/`);
        await generateThenReroll(page, 'a first lighthouse', 10);
        await emptyPromptRefused(page);
        // Nothing was enqueued for it: the quota line still counts the two images.
        expect(await quotaLine(page).textContent()).toContain('You have used 2 of 10 images today');
        console.log(`first-run: npm start → two images in the browser in ${Date.now() - started} ms`);
      } finally {
        await browser.close();
      }
    } finally {
      const stopped = Date.now();
      // Ended when every process holding its output (npm, the shell, the bot) is gone, not only npm.
      const closed = Promise.all([once(npm.stdout, 'close'), once(npm.stderr, 'close')]);
      if (!exited()) process.kill(-npm.pid!, 'SIGTERM');
      await closed;
      expect(Date.now() - stopped).toBeLessThan(15_000);
      expect(output).toContain('"msg":"shutting down"');
      // npm passes the signal on and ends by it (or 0 when the bot was quicker); never a failure code.
      expect([0, null], output).toContain(npm.exitCode);
    }
    // The private Redis went with it.
    expect((await probeRedis(`redis://127.0.0.1:${redisPort}`, 500)).ok).toBe(false);
  });
});
