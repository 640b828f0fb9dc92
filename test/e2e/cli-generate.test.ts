import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BflFake } from '../fakes/bfl-fake.js';
import { CogFake } from '../fakes/cog-fake.js';
import { FalFake } from '../fakes/fal-fake.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';

const run = promisify(execFile);
let replicate: ReplicateFake;
let fal: FalFake;
let bfl: BflFake;
let cog: CogFake;
let dir: string;

beforeAll(async () => {
  [replicate, fal, bfl, cog] = await Promise.all([ReplicateFake.start(), FalFake.start(), BflFake.start(), CogFake.start()]);
  dir = await mkdtemp(join(tmpdir(), 'fluxbot-cli-'));
});
afterAll(async () => {
  await Promise.all([replicate.close(), fal.close(), bfl.close(), cog.close()]);
});

/** Runs `fluxbot generate` as a person would, in a child process with only these settings. */
async function fluxbot(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/fluxbot.js', 'generate', '--json', ...args], {
      env: { PATH: process.env.PATH ?? '', ALLOW_PRIVATE_URLS: 'true', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npx fluxbot generate', () => {
  const cases: Array<[string, () => Record<string, string>, string[], { width: number; height: number; format: string }]> = [
    ['replicate', () => ({ REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl }), ['--model', 'flux-pro', '--aspect-ratio', '16:9', '--output-format', 'png'], { width: 1344, height: 768, format: 'png' }],
    ['fal', () => ({ FAL_KEY: fal.key, FAL_QUEUE_URL: fal.url }), ['--model', 'flux-1.1-pro', '--width', '800', '--height', '600', '--output-format', 'jpg'], { width: 800, height: 608, format: 'jpeg' }],
    ['bfl', () => ({ BFL_API_KEY: bfl.key, BFL_API_URL: bfl.url }), ['--model', 'flux-pro', '--aspect-ratio', '3:2', '--steps', '30', '--guidance', '4'], { width: 1216, height: 832, format: 'webp' }],
    ['cog', () => ({ COG_URL: cog.url }), ['--model', 'flux-dev', '--aspect-ratio', '1:1', '--output-format', 'png'], { width: 1024, height: 1024, format: 'png' }],
    ['preview', () => ({}), ['--model', 'flux-pro', '--aspect-ratio', '9:16', '--output-format', 'jpg'], { width: 768, height: 1344, format: 'jpeg' }],
  ];

  it.each(cases)('writes a valid image of the requested size through %s', async (provider, env, args, want) => {
    const out = join(dir, `${provider}.img`);
    const r = await fluxbot(['--prompt', 'a lighthouse at dawn', '--seed', '42', '--provider', provider, ...args, '--out', out], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(summary).toMatchObject({ provider, width: want.width, height: want.height });
    expect(typeof summary.ms).toBe('number');
    const meta = await sharp(await readFile(out)).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([want.width, want.height, want.format]);
    expect(summary.bytes).toBe((await readFile(out)).length);
  });

  it('waits out a 429 as the worker does (Retry-After honoured), then writes the image', async () => {
    replicate.failNext('429', { on: 'create', retryAfterSec: 1 });
    const creates = () => replicate.callsTo('POST', /\/predictions$/).length;
    const before = creates();
    const out = join(dir, 'after-429.webp');
    const started = Date.now();
    const r = await fluxbot(['--prompt', 'a lighthouse at dawn', '--provider', 'replicate', '--out', out], {
      REPLICATE_API_TOKEN: replicate.token,
      REPLICATE_API_URL: replicate.baseUrl,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('replicate is rate limiting; waiting 1 s before trying again\n');
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ provider: 'replicate' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(creates() - before).toBe(2);
    expect((await sharp(await readFile(out)).metadata()).format).toBe('webp');
  });

  it('exits non-zero with the typed error’s message, and never prints the key', async () => {
    replicate.failNext('401');
    const r = await fluxbot(['--prompt', 'x', '--provider', 'replicate', '--out', join(dir, 'x.png')], {
      REPLICATE_API_TOKEN: 'r8_wrong_secret_value',
      REPLICATE_API_URL: replicate.baseUrl,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error \(unauthorized\): .*API key/);
    expect(r.stderr + r.stdout).not.toContain('r8_wrong_secret_value');

    const bad = await fluxbot(['--prompt', 'x', '--steps', '99', '--out', join(dir, 'y.png')], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/steps must be between 1 and 50/);

    const conf = await fluxbot(['--prompt', 'x', '--out', join(dir, 'z.png')], { HTTP_PORT: 'nope' });
    expect(conf.code).toBe(1);
    expect(conf.stderr).toMatch(/HTTP_PORT: must be a whole number/);
  });
});

describe('npx fluxbot generate --image', () => {
  // A Replicate of its own: faults queued by the tests above (a 401 its wrong key never reaches) stay there.
  let replicate: ReplicateFake;
  beforeAll(async () => {
    replicate = await ReplicateFake.start();
  });
  afterAll(async () => {
    await replicate.close();
  });
  const replicateEnv = () => ({ REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl });
  const image = (width: number, height: number, format: 'png' | 'jpeg') =>
    sharp({ create: { width, height, channels: 3, background: format === 'png' ? '#aa3300' : '#0033aa' } })
      .toFormat(format)
      .toBuffer();

  it('sends local files as images, in order, checked first: the provider receives exactly those bytes', async () => {
    const a = await image(96, 80, 'png');
    const b = await image(72, 64, 'jpeg');
    await writeFile(join(dir, 'a.png'), a);
    await writeFile(join(dir, 'b.jpg'), b);
    const before = replicate.all().length;
    const out = join(dir, 'combined.png');
    const r = await fluxbot(
      ['--prompt', 'put the cat of image 2 on the sofa of image 1', '--model', 'flux-2-pro', '--provider', 'replicate', '--image', join(dir, 'a.png'), '--image', join(dir, 'b.jpg'), '--output-format', 'png', '--out', out],
      replicateEnv(),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [prediction] = replicate.all().slice(before);
    expect(prediction?.images).toEqual([a, b]);
    expect((await sharp(await readFile(out)).metadata()).format).toBe('png');
    // FLUX.2 [pro] on Replicate: $0.03 for the 1 MP output, $0.015 for each input's (started) megapixel.
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ provider: 'replicate', model: 'flux-2-pro', costUsd: 0.06 });
  });

  it('on a FLUX.1 model with an image prompt, the one --image is that image prompt', async () => {
    const a = await image(96, 80, 'png');
    await writeFile(join(dir, 'guide.png'), a);
    const before = replicate.all().length;
    const r = await fluxbot(['--prompt', 'a fox', '--model', 'flux-pro', '--provider', 'replicate', '--image', join(dir, 'guide.png'), '--out', join(dir, 'guided.webp')], replicateEnv());
    expect(r.code, r.stderr).toBe(0);
    const [prediction] = replicate.all().slice(before);
    expect(prediction?.input.image_prompt).toBe(`data:image/png;base64,${a.toString('base64')}`);
  });

  it('a file that is no image exits non-zero naming it, before any provider call', async () => {
    await writeFile(join(dir, 'notes.txt'), 'just some notes\n');
    const png = await image(96, 80, 'png');
    await writeFile(join(dir, 'ok.png'), png);
    const before = replicate.calls.length;
    const r = await fluxbot(
      ['--prompt', 'x', '--model', 'flux-2-pro', '--provider', 'replicate', '--image', join(dir, 'ok.png'), '--image', join(dir, 'notes.txt'), '--out', join(dir, 'n.png')],
      replicateEnv(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error (invalid_input): image 2 (notes.txt): it is not an image (a PNG, JPEG, WebP or GIF file)\n');
    const missing = await fluxbot(['--prompt', 'x', '--provider', 'replicate', '--image', join(dir, 'nope.png'), '--out', join(dir, 'n.png')], replicateEnv());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.png: no such file');
    expect(replicate.calls.length).toBe(before);
  });

  it('--model flux-schnell --image a.png exits non-zero naming the field, before any provider call', async () => {
    await writeFile(join(dir, 'a.png'), await image(96, 80, 'png'));
    const before = replicate.calls.length;
    const r = await fluxbot(['--prompt', 'x', '--model', 'flux-schnell', '--provider', 'replicate', '--image', join(dir, 'a.png'), '--out', join(dir, 's.png')], replicateEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(invalid_input\): images: flux-schnell takes no reference images/);
    expect(replicate.calls.length).toBe(before);
  });

  it('--help shows --image and the current default model', async () => {
    const { stdout } = await run(process.execPath, ['bin/fluxbot.js', 'generate', '--help'], { env: { PATH: process.env.PATH ?? '' } });
    expect(stdout).toContain('--image <file-or-url>');
    expect(stdout.replace(/\s+/g, ' ')).toContain('(default: FLUX_MODEL, flux-2-pro unless set)');
  });
});
