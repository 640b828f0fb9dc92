import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE, type PriceRule } from '../../src/core/catalogue/index.js';
import type { Size } from '../../src/core/prices.js';
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

describe('npx fluxbot generate --model flux-2-pro --image a.png --image b.jpg, on every provider', () => {
  // Fakes of their own, so the images and costs read here are this block's only; Cog's container serves FLUX.2 [dev].
  let fakes: { replicate: ReplicateFake; fal: FalFake; bfl: BflFake; cog: CogFake };
  let a: Buffer;
  let b: Buffer;
  beforeAll(async () => {
    const [replicate, fal, bfl, cog] = await Promise.all([ReplicateFake.start(), FalFake.start(), BflFake.start(), CogFake.start({ model: 'flux-2-dev' })]);
    fakes = { replicate, fal, bfl, cog };
    // a: under one megapixel (billed as one); b: 1.2 million pixels, a started second megapixel (billed as two).
    a = await sharp({ create: { width: 96, height: 80, channels: 3, background: '#aa3300' } }).png().toBuffer();
    b = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#0033aa' } }).jpeg().toBuffer();
    await writeFile(join(dir, 'ref-a.png'), a);
    await writeFile(join(dir, 'ref-b.jpg'), b);
  });
  afterAll(async () => {
    await Promise.all(Object.values(fakes).map((fake) => fake.close()));
  });

  /** 1440 × 1024 is 1.47 million pixels: a first and a further output megapixel. */
  const OUTPUT = { width: 1440, height: 1024 };
  const INPUTS = [
    { width: 96, height: 80 },
    { width: 1200, height: 1000 },
  ];

  /**
   * FLUX.2's price rule worked by hand from the catalogue's figures: the first output megapixel, each further one,
   * and each input image's megapixels (1024 × 1024 each, a started one counted whole).
   */
  function flux2Usd(rule: PriceRule | undefined, output: Size, inputs: Size[]): number {
    if (rule?.per !== 'megapixel') throw new Error(`expected a per-megapixel rule, got ${JSON.stringify(rule)}`);
    const mp = (s: Size) => Math.ceil((s.width * s.height) / (1024 * 1024));
    return rule.firstUsd + rule.extraUsd * (mp(output) - 1 + inputs.reduce((sum, s) => sum + mp(s), 0));
  }

  /** `generate` with the two references and the 2 MP size, as png; the summary parsed. */
  async function edit(provider: string, model: string, env: Record<string, string>) {
    const out = join(dir, `edit-${provider}-${model}.png`);
    const r = await fluxbot(
      [
        ...['--prompt', 'put the cat of image 2 on the sofa of image 1', '--model', model, '--provider', provider],
        ...['--image', join(dir, 'ref-a.png'), '--image', join(dir, 'ref-b.jpg')],
        ...['--width', String(OUTPUT.width), '--height', String(OUTPUT.height), '--output-format', 'png', '--out', out],
      ],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim()) as { provider: string; model: string; predictionId: string; costUsd: number; width: number; height: number };
    const meta = await sharp(await readFile(out)).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([OUTPUT.width, OUTPUT.height, 'png']);
    expect(summary).toMatchObject({ provider, model, ...OUTPUT });
    return summary;
  }

  it('replicate: input_images as data URIs, received in order as the exact bytes; the price table’s $0.09', async () => {
    const { replicate } = fakes;
    const summary = await edit('replicate', 'flux-2-pro', { REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl });
    expect(replicate.prediction(summary.predictionId)?.images).toEqual([a, b]);
    expect(summary.costUsd).toBeCloseTo(flux2Usd(CATALOGUE['flux-2-pro'].providers.replicate?.price, OUTPUT, INPUTS), 9);
    expect(summary.costUsd).toBeCloseTo(0.09, 9);
  });

  it('fal: the /edit app with image_urls, received in order as the exact bytes; the price table’s $0.09', async () => {
    const { fal } = fakes;
    const summary = await edit('fal', 'flux-2-pro', { FAL_KEY: fal.key, FAL_QUEUE_URL: fal.url });
    const request = fal.requests.get(summary.predictionId);
    expect(request?.modelId).toBe('fal-ai/flux-2-pro/edit');
    expect(request?.images).toEqual([a, b]);
    expect(summary.costUsd).toBeCloseTo(flux2Usd(CATALOGUE['flux-2-pro'].providers.fal?.price, OUTPUT, INPUTS), 9);
    expect(summary.costUsd).toBeCloseTo(0.09, 9);
  });

  it('bfl: input_image and input_image_2 as base64, received in order as the exact bytes; BFL’s own cost, equal to the rule’s', async () => {
    const { bfl } = fakes;
    const summary = await edit('bfl', 'flux-2-pro', { BFL_API_KEY: bfl.key, BFL_API_URL: bfl.url });
    const task = bfl.tasks.get(summary.predictionId);
    expect(task?.endpoint).toBe('flux-2-pro');
    expect(task?.images).toEqual([a, b]);
    // The summary carries what BFL reported (credits at $0.01), and that is what the catalogue's rule says too.
    expect(task?.cost).toBeCloseTo(9, 9);
    expect(summary.costUsd).toBeCloseTo(task!.cost / 100, 9);
    expect(summary.costUsd).toBeCloseTo(flux2Usd(CATALOGUE['flux-2-pro'].providers.bfl?.price, OUTPUT, INPUTS), 9);
  });

  it('cog (flux-2-dev): input_images as data URIs, received in order as the exact bytes; self-hosted, so $0', async () => {
    const { cog } = fakes;
    const summary = await edit('cog', 'flux-2-dev', { COG_URL: cog.url, COG_MODEL: 'flux-2-dev' });
    expect(cog.images.get(summary.predictionId)).toEqual([a, b]);
    expect(cog.fetchedLinks).toEqual([]);
    expect(CATALOGUE['flux-2-dev'].providers.cog?.price).toEqual({ per: 'image', usd: 0 });
    expect(summary.costUsd).toBe(0);
  });

  it('preview: $0 unless PRICES_FILE prices it, then that rule’s figure', async () => {
    const free = await edit('preview', 'flux-2-pro', {});
    expect(CATALOGUE['flux-2-pro'].providers.preview?.price).toEqual({ per: 'image', usd: 0 });
    expect(free.costUsd).toBe(0);

    const rule: PriceRule = { per: 'megapixel', firstUsd: 0.05, extraUsd: 0.02 };
    const pricesFile = join(dir, 'preview-prices.json');
    await writeFile(pricesFile, JSON.stringify({ 'flux-2-pro': { preview: rule } }));
    const priced = await edit('preview', 'flux-2-pro', { PRICES_FILE: pricesFile });
    // $0.05 for the first megapixel, $0.02 for each of the other four.
    expect(priced.costUsd).toBeCloseTo(flux2Usd(rule, OUTPUT, INPUTS), 9);
    expect(priced.costUsd).toBeCloseTo(0.13, 9);
  });
});
