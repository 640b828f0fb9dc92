import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRow } from '../../src/cli/models.js';
import { MODEL_IDS } from '../../src/core/models.js';
import { fluxbotCli } from '../helpers/run-program.js';

// Run from an empty folder, so no `.env` of the developer's reaches the CLI; it needs no Redis.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxbot models-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const models = (args: string[], env: Record<string, string> = {}) => fluxbotCli(['models', ...args], env, dir);

describe('fluxbot models', () => {
  it('lists every model with its reference images and each provider with its price, configured ones in failover order', { timeout: 60_000 }, async () => {
    const r = await models([], { REPLICATE_API_TOKEN: 'r8_x', FAL_KEY: 'fal_x' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('providers: replicate, fal (PROVIDERS, routing: order); also known: bfl, cog, preview');
    for (const model of MODEL_IDS) expect(lines.some((line) => line.startsWith(`${model}  `)), model).toBe(true);
    // A model block: the configured providers numbered in PROVIDERS order, the others marked.
    const block = (model: string) => r.stdout.split('\n\n').find((b) => b.startsWith(`${model}  `)) ?? '';
    expect(block('flux-pro').split('\n')).toEqual([
      'flux-pro  FLUX.1 [pro], no reference images',
      expect.stringMatching(/^ {2}1 {2}replicate {2}\$0\.055\/image$/),
      expect.stringMatching(/^ {2}2 {2}fal {8}\$0\.05\/image$/),
      expect.stringMatching(/^ {5}bfl {8}\$0\.05\/image +not configured$/),
      expect.stringMatching(/^ {5}cog {8}\$0\.00\/image +not configured$/),
      expect.stringMatching(/^ {5}preview {4}\$0\.00\/image +not configured$/),
    ]);
    expect(block('flux-kontext-pro')).toMatch(/^flux-kontext-pro {2}FLUX\.1 Kontext \[pro\], 1 to \d+ reference images \(needs one\)\n/);
    expect(block('flux-2-pro')).toMatch(/^flux-2-pro {2}FLUX\.2 \[pro\], up to \d+ reference images\n/);
    // FLUX.2 is priced per megapixel where a hosted provider serves it.
    expect(r.stdout).toMatch(/\$\d+\.\d+ \+ \$\d+\.\d+\/MP/);
  });

  it('applies PRICES_FILE and PROVIDER_ROUTING=cheapest; --json prints one row per model and provider', { timeout: 60_000 }, async () => {
    const prices = join(dir, 'prices.json');
    await writeFile(prices, JSON.stringify({ 'flux-pro': { fal: 0.045 }, 'flux-dev': { replicate: { per: 'megapixel', firstUsd: 0.01, extraUsd: 0.005 } } }));
    const env = { REPLICATE_API_TOKEN: 'r8_x', FAL_KEY: 'fal_x', PROVIDER_ROUTING: 'cheapest', PRICES_FILE: prices };
    const r = await models(['--json'], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const rows = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as ModelRow);
    expect(new Set(rows.map((row) => row.model))).toEqual(new Set(MODEL_IDS));
    const row = (model: string, provider: string) => rows.find((x) => x.model === model && x.provider === provider);
    expect(row('flux-pro', 'fal')).toEqual({
      model: 'flux-pro',
      label: 'FLUX.1 [pro]',
      images: { max: 0, required: false },
      provider: 'fal',
      configured: true,
      serves: true,
      price: { per: 'image', usd: 0.045 },
      priceText: '$0.045/image',
      overridden: true,
      position: 1,
    });
    expect(row('flux-pro', 'replicate')).toMatchObject({ priceText: '$0.055/image', overridden: false, position: 2 });
    expect(row('flux-pro', 'bfl')).toMatchObject({ configured: false, serves: false, position: null });
    expect(row('flux-dev', 'replicate')).toMatchObject({ priceText: '$0.01 + $0.005/MP', overridden: true, position: 1 });
    expect(row('flux-kontext-pro', 'preview')?.images).toMatchObject({ required: true });
    // The text form marks the override and follows the same order.
    const text = await models([], env);
    expect(text.stdout).toContain(`prices: the catalogue's, * from PRICES_FILE ${prices}`);
    expect(text.stdout).toMatch(/flux-pro {2}FLUX\.1 \[pro\], no reference images\n {2}1 {2}fal {8}\$0\.045\/image \*\n {2}2 {2}replicate {2}\$0\.055\/image\n/);
  });

  it('a bad PRICES_FILE is one plain error naming the file and the entry, exit 1', { timeout: 60_000 }, async () => {
    const prices = join(dir, 'bad.json');
    await writeFile(prices, JSON.stringify({ 'flux-pro': { fal: 'cheap' } }));
    const r = await models([], { PRICES_FILE: prices });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`PRICES_FILE: ${prices}: flux-pro.fal: `);
  });

  it('answers --help without valid settings', { timeout: 60_000 }, async () => {
    const r = await models(['--help'], { HTTP_PORT: 'nope' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/list the models, the providers that serve each/);
    expect(r.stdout).toContain('--json');
    const top = await fluxbotCli(['--help'], {}, dir);
    expect(top.stdout).toMatch(/models \[options\]/);
  });
});
