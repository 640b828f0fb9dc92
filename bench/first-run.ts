/**
 * Time from `npm start` to a healthy bot and to the first image in the playground, on a warm install (node_modules
 * present, no dist/ needed), with nothing listening at REDIS_URL so the bot starts its own Redis as on a first run.
 * Each run: spawn `npm start` in the repository → poll /healthz → open the playground's API as the page does → generate
 * (preview provider) → follow the job's events to `done` → fetch the image. Then SIGTERM to the process group.
 *
 *   npx tsx bench/first-run.ts [runs]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '../test/e2e/web/playground.js';
import { freePort } from '../test/helpers/private-redis.js';
import { waitFor200 } from '../test/helpers/run-program.js';

const repo = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 5);
const dataDir = join(repo, 'data');
const hadData = existsSync(dataDir);
const results: Array<{ healthz: number; image: number }> = [];

for (let i = 0; i < runs; i++) {
  const [redisPort, httpPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const npm = spawn('npm', ['start'], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', REDIS_URL: `redis://127.0.0.1:${redisPort}`, HTTP_PORT: String(httpPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  npm.stdout.resume();
  // Closed once every process holding it (npm, the shell, the bot) is gone; the bot stops its Redis before it exits.
  const closed = once(npm.stdout, 'close');
  try {
    if ((await waitFor200(`http://127.0.0.1:${httpPort}/healthz`, 120_000)) === undefined) throw new Error('no /healthz');
    const healthz = performance.now() - started;
    const client = await new Client(`http://127.0.0.1:${httpPort}`).open();
    const queued = await client.generate({ prompt: 'a lighthouse at dawn' });
    if (queued.status !== 202) throw new Error(`generate answered ${queued.status}: ${queued.text}`);
    const end = await client.follow(String(queued.body.jobId));
    if (end.final !== 'done') throw new Error(`job ended ${end.final}: ${JSON.stringify(end.data)}`);
    const image = await client.get(`/api/images/${String(end.data.imageId)}`);
    if (image.status !== 200) throw new Error(`image answered ${image.status}`);
    results.push({ healthz, image: performance.now() - started });
    console.log(`run ${i + 1}: /healthz ${healthz.toFixed(0)} ms, first image ${(performance.now() - started).toFixed(0)} ms`);
  } finally {
    process.kill(-npm.pid!, 'SIGTERM');
    await closed;
  }
}
if (!hadData) rmSync(dataDir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `median of ${results.length}: npm start → /healthz ${median(results.map((r) => r.healthz)).toFixed(0)} ms, → first image ${median(results.map((r) => r.image)).toFixed(0)} ms`,
);
